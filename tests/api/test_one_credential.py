"""A request carrying both `Authorization: Bearer …` and `X-API-Key` is refused: 400 problem
("send one credential", RFC 6750 section 3.1 invalid_request), whoever the two name and whether or
not either is valid; it used to be served silently as the bearer's user. One credential alone
works as before; the forum cookie beside a header credential is not a second one. Both databases."""

from __future__ import annotations

import pytest

from app.apikeys import service as apikeys_service
from tests.api.conftest import API, assert_problem


@pytest.fixture
def creds(factory, session, login):
    staff = factory.user("sam", role="staff")
    factory.user("lena")
    _, key = apikeys_service.create(session, actor=None, owner=staff, name="kestrel.example",
                                    scopes=["read", "ask", "deflect"])
    session.commit()
    return {"key": key, "bearer": login("lena")["Authorization"]}


@pytest.mark.parametrize("path, method", [("/me", "GET"), ("/questions", "GET"), ("/questions", "POST"),
                                          ("/notifications", "GET")])
def test_both_credentials_are_400_and_never_served(client, creds, path, method):
    r = client.request(method, f"{API}{path}", headers={"Authorization": creds["bearer"], "X-API-Key": creds["key"]},
                       json={"title": "Wi-Fi drops after the 2.3 update", "body": "Every few minutes it drops again."}
                       if method == "POST" else None)
    body = assert_problem(r, 400)
    assert "one credential" in body["detail"]
    assert 'error="invalid_request"' in r.headers["www-authenticate"]


@pytest.mark.parametrize("bearer, key", [("Bearer not-a-token", "KEY"), ("BEARER", "gsk_nope"),
                                         ("Basic Zm9vOmJhcg==", "KEY")], ids=["bad-token", "bad-key", "basic"])
def test_both_is_400_even_when_one_is_wrong(client, creds, bearer, key):
    r = client.get(f"{API}/me", headers={"Authorization": bearer, "X-API-Key": creds["key"] if key == "KEY" else key})
    assert_problem(r, 400)


def test_one_credential_alone_works_as_before(client, creds):
    assert client.get(f"{API}/me", headers={"Authorization": creds["bearer"]}).json()["username"] == "lena"
    assert client.get(f"{API}/me", headers={"X-API-Key": creds["key"]}).json()["username"] == "sam"
    assert_problem(client.get(f"{API}/me", headers={"X-API-Key": "gsk_unknown"}), 401)
    assert client.get(f"{API}/questions").status_code == 200
