"""Issue 14 item 12: one structured access line per request, with a request id that the response
carries in X-Request-ID; incoming ids believed from trusted proxies only; 500s quote the id."""

from __future__ import annotations

import logging
import os
import re

import pytest
from fastapi.testclient import TestClient

from app.core.logs import LogfmtFormatter, logging_config
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import token_headers

ID = re.compile(r"[0-9a-f]{32}")


def access_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "groundswell.access"]


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.INFO, logger="groundswell")
    return caplog


def test_one_line_per_request_with_the_id_the_response_carries(client, factory, session, logs):
    factory.user("maya")
    session.commit()
    auth = token_headers(client, "maya")
    logs.clear()
    r = client.get("/api/v1/questions?q=my+secret+serial+number&limit=5", headers=auth)
    assert r.status_code == 200
    [record] = access_lines(logs)
    fields = record.fields
    assert ID.fullmatch(r.headers["x-request-id"])
    assert fields["request_id"] == r.headers["x-request-id"]
    assert fields["method"] == "GET" and fields["path"] == "/api/v1/questions" and fields["status"] == 200
    assert isinstance(fields["duration_ms"], float) and fields["duration_ms"] >= 0
    assert fields["client"] == "testclient" and fields["pid"] == os.getpid()  # which --workers process
    assert fields["user_id"] == 1  # signed in with a bearer token
    line = LogfmtFormatter().format(record)
    assert "\n" not in line and "secret" not in line  # one line; no query string values
    assert re.search(rf"level=info logger=groundswell.access msg=request method=GET path=/api/v1/questions "
                     rf"status=200 duration_ms=[0-9.]+ pid={os.getpid()} request_id={r.headers['x-request-id']} "
                     rf"client=testclient "
                     rf"user_id=1$", line), line


def test_every_request_gets_its_own_id_and_its_own_status(client, logs):
    responses = [client.get("/healthz"), client.post("/healthz"), client.get("/no-such-page"),
                 client.head("/"), client.delete("/api/v1/questions/1")]
    records = access_lines(logs)
    assert len(records) == len(responses)
    ids = [r.headers["x-request-id"] for r in responses]
    assert len(set(ids)) == len(ids)
    assert [(x.fields["method"], x.fields["status"], x.fields["request_id"]) for x in records] == [
        ("GET", 200, ids[0]), ("POST", 405, ids[1]), ("GET", 404, ids[2]), ("HEAD", 200, ids[3]),
        ("DELETE", 401, ids[4])]
    assert all("user_id" not in x.fields for x in records)


@pytest.mark.parametrize("incoming", ["abc-123", "4bf92f3577b34da6a3ce929d0e0e4736"])
def test_an_untrusted_client_cannot_choose_the_id(client, logs, incoming):
    r = client.get("/healthz", headers={"X-Request-ID": incoming})
    assert r.headers["x-request-id"] != incoming and ID.fullmatch(r.headers["x-request-id"])
    assert access_lines(logs)[0].fields["request_id"] == r.headers["x-request-id"]


@pytest.fixture
def behind_proxy(clean_engine, db_url):
    """The app behind a trusted proxy at 10.0.0.5: the test client connects from there."""
    app = create_app(make_settings(db_url, trusted_proxies="10.0.0.0/24"), clean_engine)
    with TestClient(app, client=("10.0.0.5", 4000)) as c:
        yield c


def test_a_trusted_proxy_passes_a_well_formed_id_and_the_client_address(behind_proxy, logs):
    r = behind_proxy.get("/healthz", headers={"X-Request-ID": "req-7f3a:01", "X-Forwarded-For": "203.0.113.9"})
    assert r.headers["x-request-id"] == "req-7f3a:01"
    [record] = access_lines(logs)
    assert record.fields["request_id"] == "req-7f3a:01" and record.fields["client"] == "203.0.113.9"
    for bad in ["has space", 'quote"d', "x" * 129, ""]:  # never into the log line as given
        r = behind_proxy.get("/healthz", headers={"X-Request-ID": bad})
        assert ID.fullmatch(r.headers["x-request-id"]), bad


def test_a_500_quotes_the_id_in_the_body_the_header_and_the_log(clean_engine, settings, logs):
    app = create_app(settings, clean_engine)

    @app.get("/boom")  # a route of this test's app only
    def boom():
        raise RuntimeError("kaboom")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom")
    assert r.status_code == 500
    request_id = r.headers["x-request-id"]
    assert ID.fullmatch(request_id) and r.json()["request_id"] == request_id
    [error] = [x for x in logs.records if x.levelno == logging.ERROR and x.name == "groundswell"]
    assert error.request_id == request_id and "kaboom" in LogfmtFormatter().format(error)
    [access] = access_lines(logs)
    assert access.fields["status"] == 500 and access.fields["request_id"] == request_id


def test_the_level_comes_from_the_setting(db_url):
    assert make_settings(db_url, log_level="WARNING").log_level == "warning"
    config = logging_config("warning")
    assert config["loggers"]["groundswell"]["level"] == "WARNING"
    assert config["handlers"]["stderr"]["stream"] == "ext://sys.stderr"
    with pytest.raises(ValueError):
        make_settings(db_url, log_level="loud")
