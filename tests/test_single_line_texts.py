"""One-line texts (names, titles, notice texts) are stored as one line: app/core/text.py
clean_single_line at every service that stores one (docs/content-rules.md). Newlines, tabs, control
characters, zero-width spaces and direction overrides never reach a list row, a heading or a <title>."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.accounts.lifecycle import update_settings
from app.accounts.models import Role
from app.apikeys import service as apikeys_service
from app.core.errors import InvalidInput
from app.core.text import clean_single_line
from app.notifications import service as notifications
from app.notifications.models import Notification
from app.products import service as products_service
from app.products.schemas import ProductCreate, ProductUpdate
from app.questions import service as questions_service
from app.questions import suggested_edits
from app.questions.models import Revision
from app.questions.schemas import QuestionUpdate
from app.savedviews import service as savedviews
from app.savedviews.schemas import ViewCreate
from tests.api.conftest import API, login  # noqa: F401  (fixture)
from tests.factories import make_question, make_user


@pytest.mark.parametrize(("raw", "clean"), [
    ("Wi-Fi\n drops\t\tafter  sleep ", "Wi-Fi drops after sleep"),
    ("\u00a0Dock\u2028firmware\u3000update\r\n", "Dock firmware update"),
    ("Bell\u0007 and NUL-free\u0085controls\u009b", "Bell and NUL-free controls"),
    ("\u202eevil\u202c name \u2066isolated\u2069", "evil name isolated"),
    ("zero\u200bwidth\ufeff joiner\u2060", "zerowidth joiner"),
    ("Cafe\u0301", "Caf\u00e9"),  # NFC
    ("\u062e\u0627\u0646\u0647\u200c\u0647\u0627", "\u062e\u0627\u0646\u0647\u200c\u0647\u0627"),  # ZWNJ inside a Persian word stays
    ("\U0001f469\u200d\U0001f4bb dev", "\U0001f469\u200d\U0001f4bb dev"),  # ZWJ emoji sequence stays
    ("\u200d lone joiners \u200c", "lone joiners"),
    ("Right\u200fmark", "Right\u200fmark"),  # RLM acts on one position: allowed, as before
    ("", ""), (None, ""), (" \t\n", ""),
])
def test_clean_single_line(raw, clean):
    assert clean_single_line(raw) == clean
    assert clean_single_line(clean) == clean  # idempotent


def test_every_service_stores_one_line(session):
    staff = make_user(session, "lena", role=Role.staff)
    maya = make_user(session, "maya")
    update_settings(session, maya, display_name="Maya\n\tLi\u0301n ")
    assert maya.display_name == "Maya L\u00edn"

    q = make_question(session, maya, title="Wi-Fi\ndrops\t after  sleep\u200b on the dock")
    assert q.title == "Wi-Fi drops after sleep on the dock" and "\n" not in q.slug
    [rev] = session.exec(select(Revision).where(Revision.post_type == "question", Revision.post_id == q.id)).all()
    assert rev.title == q.title
    questions_service.edit(session, actor=maya, question_id=q.id,
                           data=QuestionUpdate(title="Wi-Fi drops after\r\nsleep on the Aero\u00a014 dock"))
    assert q.title == "Wi-Fi drops after sleep on the Aero 14 dock"
    assert session.exec(select(Revision.title).where(Revision.post_id == q.id, Revision.number == 2)).one() == q.title

    other = make_question(session, staff, title="Battery drains overnight in sleep mode")
    edit = suggested_edits.suggest(session, actor=maya, post_type="question", post_id=other.id,
                                   data=QuestionUpdate(title="Battery drains\novernight\tin sleep mode (Aero)"))
    assert edit.title == "Battery drains overnight in sleep mode (Aero)"

    view = savedviews.create(session, actor=staff, data=ViewCreate(name="Aero\n\tqueue\u200b"))
    assert view.name == "Aero queue"
    with pytest.raises(InvalidInput):
        savedviews.create(session, actor=staff, data=ViewCreate(name="\u200b\n"))

    key, _ = apikeys_service.create(session, actor=staff, owner=staff, name="shop\n\twidget\u0007", scopes=["read"])
    assert key.name == "shop widget"
    with pytest.raises(InvalidInput):
        apikeys_service.create(session, actor=staff, owner=staff, name="\n\u200b\t", scopes=["read"])

    product = products_service.create(session, actor=staff, data=ProductCreate(
        slug="aero-15", name="Kestrel\nAero\t15\u200b"))
    assert product.name == "Kestrel Aero 15"
    products_service.update(session, actor=staff, slug="aero-15", data=ProductUpdate(name="Kestrel  Aero\r\n15 Pro"))
    assert product.name == "Kestrel Aero 15 Pro"

    notifications.notify(session, [maya.id], kind="mention", url="/users/maya", text="Line one\nline\ttwo\u0085")
    assert session.exec(select(Notification.text).where(Notification.user_id == maya.id,
                                                        Notification.kind == "mention")).one() == "Line one line two"


def test_api_title_with_a_newline_is_stored_as_one_line(session, client, login):
    make_user(session, "maya", reputation=100)
    session.commit()
    r = client.post(f"{API}/questions", headers=login("maya"), json={
        "title": "Dock loses\nthe display\tafter sleep", "body": "After sleep the external display stays black.",
        "tags": ["dock"]})
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "Dock loses the display after sleep"
    # direction controls stay a 422 naming the field (refused, not silently cut, where a person types)
    r = client.post(f"{API}/questions", headers=login("maya"), json={
        "title": "Dock loses the display \u202eafter sleep", "body": "After sleep the external display stays black.",
        "tags": ["dock"]})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == "title", r.text
