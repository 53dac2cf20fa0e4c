"""Time zones are IANA names exactly as the tz database spells them (app/core/timezones.py): the
API refuses anything else with a 422 on `timezone`, and a stored name that is not one (written
before the check) gives the digests UTC instead of failing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.core import timezones
from app.mail import digests
from app.mail.models import MailSettings
from tests.api.conftest import API, assert_problem

REFUSED = ["localtime", "posixrules", "Factory", "europe/berlin", "EUROPE/BERLIN", "Europe/Berlin ", "Europe",
           "Europe/", "/etc/localtime", "/usr/share/zoneinfo/UTC", "../zoneinfo/UTC", "posix/Europe/Berlin",
           "right/UTC", "Mars/Olympus_Mons", "", "UTC\x00", "x" * 65]
ACCEPTED = ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "Asia/Kolkata"]


@pytest.mark.parametrize("zone", REFUSED, ids=repr)
def test_a_name_that_is_not_an_iana_zone_is_422_on_timezone(client, factory, session, login, fetch, zone):
    user = factory.user("maya")
    session.commit()
    r = client.patch(f"{API}/me/settings", json={"timezone": zone, "digest_hour": 6}, headers=login(user))
    body = assert_problem(r, 422)
    assert [e["loc"] for e in body["errors"]] == [["body", "timezone"]]
    saved = fetch(MailSettings, user.id)
    assert saved is None or (saved.timezone, saved.digest_hour) == ("UTC", 8)  # nothing of the request saved


def test_a_case_variant_is_told_the_right_spelling(client, factory, session, login):
    user = factory.user("maya")
    session.commit()
    body = assert_problem(client.patch(f"{API}/me/settings", json={"timezone": "america/new_york"},
                                       headers=login(user)), 422)
    assert "America/New_York" in body["errors"][0]["msg"]


@pytest.mark.parametrize("zone", ACCEPTED)
def test_an_iana_zone_is_saved(client, factory, session, login, fetch, zone):
    user = factory.user("maya")
    session.commit()
    r = client.patch(f"{API}/me/settings", json={"timezone": zone}, headers=login(user))
    assert r.status_code == 200, r.text
    assert r.json()["timezone"] == zone and fetch(MailSettings, user.id).timezone == zone


def test_the_check_is_the_tz_database_list():
    names = timezones.zone_names()
    assert "Europe/Berlin" in names and "UTC" in names
    assert not {"localtime", "posixrules", "Factory"} & names
    assert not any(n.startswith(("posix/", "right/")) for n in names)
    assert all(timezones.is_zone(n) for n in ACCEPTED)
    assert not any(timezones.is_zone(n) for n in REFUSED)


@pytest.mark.parametrize("stored", ["localtime", "europe/berlin", "", "No/Such_Zone"])
def test_a_stored_name_that_is_not_a_zone_gives_digests_utc(stored):
    ms = MailSettings(user_id=1, timezone=stored, digest_hour=8)
    assert digests.zone(stored).key == "UTC"
    assert digests.due(ms, "daily", datetime(2026, 3, 2, 8, 30, tzinfo=UTC))  # a Monday, 08:30 UTC
    assert not digests.due(ms, "daily", datetime(2026, 3, 2, 9, 30, tzinfo=UTC))


def test_a_stored_zone_sets_the_digest_hour():
    ms = MailSettings(user_id=1, timezone="Europe/Berlin", digest_hour=8)  # UTC+1 in March
    assert digests.due(ms, "daily", datetime(2026, 3, 2, 7, 30, tzinfo=UTC))
    assert not digests.due(ms, "daily", datetime(2026, 3, 2, 8, 30, tzinfo=UTC))
