"""Closing a question as a duplicate of a canonical one, and reopening it (service, API, pages)."""

from __future__ import annotations

import pytest

from app.core.errors import Conflict, Forbidden, InvalidInput
from app.questions import duplicates
from tests.factories import token_headers

API = "/api/v1"


@pytest.fixture
def pair(factory, session):
    original = factory.question(title="Wi-Fi drops after the 23.40 driver update")
    dup = factory.question(title="Wireless keeps disconnecting since driver 23.40")
    mod = factory.user("omar", role="moderator")
    customer = factory.user("newbie")
    session.commit()
    return original, dup, mod, customer


def test_service_close_and_reopen(session, pair):
    original, dup, mod, customer = pair
    with pytest.raises(Forbidden) as refused:
        duplicates.close_as_duplicate(session, actor=customer, question_id=dup.id, original_id=original.id)
    assert "500" in refused.value.detail
    q = duplicates.close_as_duplicate(session, actor=mod, question_id=dup.id, original_id=original.id)
    assert (q.status, q.duplicate_of_id) == ("duplicate", original.id)
    assert [d.id for d in duplicates.duplicates_of(session, original.id)] == [dup.id]
    with pytest.raises(Conflict):
        duplicates.close_as_duplicate(session, actor=mod, question_id=dup.id, original_id=original.id)
    with pytest.raises(InvalidInput):  # the original may not itself be a duplicate
        duplicates.close_as_duplicate(session, actor=mod, question_id=original.id, original_id=dup.id)
    q = duplicates.reopen(session, actor=mod, question_id=dup.id)
    assert (q.status, q.duplicate_of_id) == ("open", None)
    assert duplicates.duplicates_of(session, original.id) == []


def test_service_refuses_self_and_missing_originals(session, pair):
    original, dup, mod, _ = pair
    for bad in (dup.id, 10**6, 2**40):
        with pytest.raises(InvalidInput):
            duplicates.close_as_duplicate(session, actor=mod, question_id=dup.id, original_id=bad)


def test_api_close_as_duplicate_as_contract_says(client, pair):
    original, dup, mod, customer = pair
    r = client.post(f"{API}/questions/{dup.id}/close-as-duplicate", json={"original_id": original.id},
                    headers=token_headers(client, "newbie"))
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    r = client.post(f"{API}/questions/{dup.id}/close-as-duplicate", json={"original_id": original.id},
                    headers=token_headers(client, "omar"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "duplicate" and r.json()["duplicate_of"] == original.id
    assert client.get(f"{API}/questions/{original.id}").json()["duplicates"] == [dup.id]
    # A duplicate takes no new answers.
    a = client.post(f"{API}/questions/{dup.id}/answers", json={"body": "An answer that should go to the original."},
                    headers=token_headers(client, "newbie"))
    assert a.status_code == 409
    r = client.post(f"{API}/questions/{dup.id}/reopen", headers=token_headers(client, "omar"))
    assert r.status_code == 200 and r.json()["status"] == "open" and r.json()["duplicate_of"] is None


def test_pages_show_the_banner_the_list_and_the_controls(client, pair):
    original, dup, mod, _ = pair
    from tests.web.conftest import Browser, csrf_from

    web = Browser(client)
    web.sign_in("omar")
    page = web.get(f"/questions/{dup.id}", follow_redirects=True).text
    assert "Close as a duplicate" in page
    r = web.post(f"/questions/{dup.id}/close-as-duplicate",
                 {"original": f"http://127.0.0.1:8000/questions/{original.id}/wi-fi",
                  "csrf_token": csrf_from(page, f"/questions/{dup.id}/close-as-duplicate")})
    assert r.status_code == 200 and original.title in r.text  # the confirmation step names the original
    r = web.post(f"/questions/{dup.id}/close-as-duplicate",
                 {"original": f"http://127.0.0.1:8000/questions/{original.id}/wi-fi", "confirmed": "1",
                  "csrf_token": csrf_from(page, f"/questions/{dup.id}/close-as-duplicate")})
    assert r.status_code == 303
    dup_page = web.get(r.headers["location"], follow_redirects=True).text
    assert "This question has been answered before" in dup_page and original.title in dup_page
    assert "Reopen this question" in dup_page
    original_page = web.get(f"/questions/{original.id}", follow_redirects=True).text
    assert "Asked again as" in original_page and dup.title in original_page


def test_page_form_accepts_a_plain_number_and_explains_bad_input(client, pair):
    original, dup, mod, _ = pair
    from tests.web.conftest import Browser, csrf_from

    web = Browser(client)
    web.sign_in("omar")
    page = web.get(f"/questions/{dup.id}", follow_redirects=True).text
    token = csrf_from(page, f"/questions/{dup.id}/close-as-duplicate")
    r = web.post(f"/questions/{dup.id}/close-as-duplicate", {"original": "not a question", "csrf_token": token})
    assert r.status_code == 303
    assert "Give the number or the address" in web.get(r.headers["location"], follow_redirects=True).text
    r = web.post(f"/questions/{dup.id}/close-as-duplicate", {"original": f"#{original.id}", "csrf_token": token,
                                                               "confirmed": "1"})
    assert "This question has been answered before" in web.get(r.headers["location"], follow_redirects=True).text
