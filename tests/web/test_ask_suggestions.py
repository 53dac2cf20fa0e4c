"""The ask page's "Do any of these solve your problem?" step (done by the server, so it works
without JavaScript) and "Yes, this solved it" (a deflection: nothing is posted)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from sqlmodel import select

from app.questions.models import Question
from app.search.models import Deflection
from tests.web.conftest import db_rows, text_of


class _Forms(HTMLParser):
    """Every form on a page with the fields a browser would send (hidden, text, textarea, select)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._textarea: str | None = None
        self._select: str | None = None
        self.owned: list[dict] = []
        self._button: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action"), "class": a.get("class") or "", "id": a.get("id"),
                          "fields": {}, "buttons": []}
            self.forms.append(self._form)
        if tag == "button":
            self._button = a
        if tag == "button" and a.get("form"):  # a button anywhere that submits the form with that id
            self.owned.append(a)
        elif self._form is None:
            return
        elif tag == "input" and a.get("type", "text") not in ("submit", "button") and a.get("name"):
            self._form["fields"][a["name"]] = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = a["name"]
            self._form["fields"][a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]
            self._form["fields"].setdefault(a["name"], "")
        elif tag == "option" and self._select and "selected" in a:
            self._form["fields"][self._select] = a.get("value") or ""
        elif tag == "button":
            self._form["buttons"].append(a)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "button":
            self._button = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form["fields"][self._textarea] += data
        if self._button is not None:
            self._button["text"] = self._button.get("text", "") + data


def forms(page: str) -> list[dict]:
    parser = _Forms()
    parser.feed(page)
    for button in parser.owned:
        for form in parser.forms:
            if form["id"] == button["form"]:
                form["buttons"].append(button)
    return parser.forms


def press(page: str, label: str) -> tuple[dict, dict]:
    """What a browser posts when the submit button whose text starts with `label` is pressed:
    (its form, the fields sent, the button's own name=value included)."""
    for form in forms(page):
        for button in form["buttons"]:
            if button.get("text", "").startswith(label):
                fields = dict(form["fields"])
                if button.get("name"):
                    fields[button["name"]] = button.get("value") or ""
                return form, fields
    raise AssertionError(f"no button {label!r} on the page")


def form_by_class(page: str, cls: str) -> dict:
    found = [f for f in forms(page) if cls in f["class"].split()]
    assert found, f"no form .{cls} on the page"
    return found[0]


@pytest.fixture
def index(clean_engine, settings):
    from app.search import outbox
    from app.search import service as search_service

    return lambda: outbox.drain(clean_engine, encoder=search_service.encoder_for(settings))


@pytest.fixture
def existing(factory, session, index):
    """A solved question about the Dock Pro, an unrelated one, and Maya, who is about to ask."""
    from app.answers import service as answers_service

    factory.product("dock-pro", "Dock Pro")
    factory.product("aero-14", "Kestrel Aero 14")
    raj = factory.user("raj")
    original = factory.question(author=raj, title="Dock Pro will not charge my laptop at 100 W",
                                body="It only charges at 60 W with the Dock Pro.", tags=["charging"],
                                product="dock-pro")
    answer = factory.answer(original, body="Use the 100 W cable from the box; other cables carry 60 W.")
    answers_service.accept(session, actor=raj, question_id=original.id, answer_id=answer.id)
    factory.question(author=raj, title="Bluetooth mouse lags in games", body="The cursor stutters every second.",
                     tags=["bluetooth"], product="aero-14")
    maya = factory.user("maya")
    session.commit()
    index()
    return {"original": original, "maya": maya}


BODY = 'My new Dock Pro charges the laptop at 60 W only.\n\nI tried "both" ports & the <usb-c> cable:\n\n    60 W\n'
MAYA = {"title": "Dock Pro will not charge my laptop above 60 W", "body": BODY, "tags": "charging, dock",
        "product": "dock-pro"}


def _questions(session) -> list[Question]:
    return db_rows(session, select(Question).order_by(Question.id))


def test_similar_questions_are_offered_before_posting(web, session, existing):
    original = existing["original"]
    web.sign_in("maya")
    r = web.submit("/ask", "/ask", MAYA)
    assert r.status_code == 200
    page = r.text
    assert "Do any of these solve your problem?" in page
    panel = page[page.index('data-similar-panel'):page.index('class="post-form"')]
    assert f'href="/questions/{original.id}/{original.slug}"' in panel
    assert "Dock Pro will not charge my laptop at 100 W" in panel
    assert "Solved" in text_of(panel) and "1 answer" in text_of(panel)
    assert "Bluetooth mouse" not in panel
    yes = form_by_class(page, "similar-yes")
    assert yes["action"] == f"/questions/{original.id}/solved-it"
    assert yes["fields"]["title"] == MAYA["title"] and yes["fields"]["product"] == "dock-pro"
    assert yes["fields"]["csrf_token"]
    # nothing is posted yet, and everything typed is still in the form
    assert len(_questions(session)) == 2
    main = form_by_class(page, "post-form")
    assert main["fields"]["title"] == MAYA["title"]
    assert main["fields"]["body"].replace("\r\n", "\n") == BODY
    assert main["fields"]["tags"] == MAYA["tags"] and main["fields"]["product"] == "dock-pro"


def test_no_post_my_question_posts_everything_that_was_typed(web, session, existing):
    web.sign_in("maya")
    page = web.submit("/ask", "/ask", MAYA).text
    form, fields = press(page, "No, post my question")
    assert form["action"] == "/ask" and "post-form" in form["class"] and fields["confirmed"] == "1"
    r = web.post("/ask", fields)
    assert r.status_code == 303, r.text
    posted = _questions(session)[-1]
    assert posted.id != existing["original"].id
    assert posted.title == MAYA["title"]
    assert posted.body.strip() == BODY.strip()
    from app.questions import service as questions_service

    assert questions_service.tags_for(session, [posted.id])[posted.id] == ["charging", "dock"]
    assert r.headers["location"] == f"/questions/{posted.id}/{posted.slug}"
    session.commit()
    assert "Your question is posted" in web.follow(r).text
    assert db_rows(session, select(Deflection)) == []


def test_no_post_my_question_posts_what_was_edited_after_the_suggestions(web, session, existing):
    """Issue 10 item 2: the panel's button posts the ask form's fields as they are now."""
    web.sign_in("maya")
    page = web.submit("/ask", "/ask", MAYA).text
    assert "Do any of these solve your problem?" in page
    form, fields = press(page, "No, post my question")
    # The customer now changes every field in the form under the suggestions, then presses the button.
    edited = {"title": "Dock Pro charges at 60 W with the Aero 14 only",
              "body": "Only with the Aero 14: my other laptop charges at 100 W from the same dock.",
              "tags": "charging, aero", "product": "aero-14"}
    r = web.post("/ask", {**fields, **edited})
    assert r.status_code == 303, r.text
    posted = _questions(session)[-1]
    assert (posted.title, posted.body.strip()) == (edited["title"], edited["body"])
    from app.questions import service as questions_service

    assert questions_service.tags_for(session, [posted.id])[posted.id] == ["charging", "aero"]
    assert posted.product_id is not None and posted.product_id != existing["original"].product_id
    # and the page carries no second, hidden copy of anything typed
    for other in forms(page):
        hidden_text = {k: v for k, v in other["fields"].items() if k in ("body", "tags")}
        assert other["id"] == "ask-form" or not hidden_text, other


def test_yes_this_solved_it_counts_and_posts_nothing(web, session, existing):
    original, maya = existing["original"], existing["maya"]
    web.sign_in("maya")
    page = web.submit("/ask", "/ask", MAYA).text
    yes = form_by_class(page, "similar-yes")
    r = web.post(yes["action"], yes["fields"])
    assert r.status_code == 303
    answer_id = original.accepted_answer_id
    assert yes["fields"]["answer_id"] == str(answer_id)  # the click names the answer that helped
    assert r.headers["location"] == f"/questions/{original.id}/{original.slug}#answer-{answer_id}"
    rows = db_rows(session, select(Deflection))
    assert len(rows) == 1
    row = rows[0]
    assert (row.question_id, row.user_id, row.title, row.source) == (original.id, maya.id, MAYA["title"], "web")
    assert row.product_id is not None
    assert len(_questions(session)) == 2  # nothing was posted
    shown = web.follow(r).text
    assert "Glad it helped — we did not post your question." in shown
    assert "Helped 1 customer who was about to ask" in text_of(shown)


def test_helped_count_is_not_shown_before_anyone_was_helped(web, existing):
    original = existing["original"]
    page = web.get(f"/questions/{original.id}/{original.slug}").text
    assert "about to ask" not in page


def test_solved_it_on_a_duplicate_counts_for_the_original(web, factory, session, existing):
    from app.questions import duplicates

    original = existing["original"]
    mod = factory.user("omar", role="moderator")
    dup = factory.question(title="Dock Pro only gives 60 W to my laptop", product="dock-pro")
    duplicates.close_as_duplicate(session, actor=mod, question_id=dup.id, original_id=original.id)
    session.commit()
    web.sign_in("maya")
    token = form_by_class(web.get("/ask").text, "post-form")["fields"]["csrf_token"]
    r = web.post(f"/questions/{dup.id}/solved-it", {"title": "Dock Pro is slow to charge", "csrf_token": token})
    assert r.status_code == 303
    assert r.headers["location"] == f"/questions/{original.id}/{original.slug}#answer-{original.accepted_answer_id}"
    assert [d.question_id for d in db_rows(session, select(Deflection))] == [original.id]


def test_solved_it_needs_a_signed_in_customer_and_a_form_token(web, session, existing):
    original = existing["original"]
    r = web.post(f"/questions/{original.id}/solved-it", {"title": "x", "csrf_token": "nope"})
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    web.sign_in("maya")
    r = web.post(f"/questions/{original.id}/solved-it", {"title": "x", "csrf_token": "nope"})
    assert r.status_code == 403
    assert db_rows(session, select(Deflection)) == []


def test_suggestions_are_scoped_to_the_chosen_product(web, session, existing):
    web.sign_in("maya")
    # The same words under another product: nothing relevant there, so it is posted at once.
    r = web.submit("/ask", "/ask", {**MAYA, "product": "aero-14"})
    assert r.status_code == 303
    assert _questions(session)[-1].title == MAYA["title"]


def test_nothing_similar_posts_at_once(web, session, existing):
    web.sign_in("maya")
    r = web.submit("/ask", "/ask", {"title": "Fingerprint reader stopped working after reset",
                                    "body": "Windows Hello says no compatible reader.", "tags": "", "product": ""})
    assert r.status_code == 303
    assert len(_questions(session)) == 3


def test_reposting_after_seeing_the_same_suggestions_posts(web, session, existing):
    """Changing the question in the form below the panel and posting again does not ask twice
    about the same suggestions."""
    web.sign_in("maya")
    page = web.submit("/ask", "/ask", MAYA).text
    main = form_by_class(page, "post-form")
    assert main["fields"]["seen"] == str(existing["original"].id)
    r = web.post("/ask", {**main["fields"], "title": "Dock Pro charges my laptop at 60 W, not 100 W"})
    assert r.status_code == 303
    assert _questions(session)[-1].title == "Dock Pro charges my laptop at 60 W, not 100 W"


def test_invalid_input_is_reported_before_suggestions(web, session, existing):
    web.sign_in("maya")
    r = web.submit("/ask", "/ask", {**MAYA, "body": "short"})
    assert r.status_code == 422
    assert "Do any of these solve your problem?" not in r.text
    assert len(_questions(session)) == 2


def test_search_trouble_never_stops_a_post(web, session, existing, monkeypatch):
    from app.search import service as search_service

    def broken(*a, **k):
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(search_service, "similar", broken)
    web.sign_in("maya")
    r = web.submit("/ask", "/ask", MAYA)
    assert r.status_code == 303
    assert len(_questions(session)) == 3


def test_the_ask_page_has_the_live_suggestion_region(web, existing):
    web.sign_in("maya")
    page = web.get("/ask").text
    assert 'data-similar-live data-min-similarity="0.45" data-min-chars="12"' in page
    assert 'role="status" aria-live="polite" data-similar-status' in page
    assert "Similar questions already asked" in page


def test_passed_over_suggestions_are_remembered_for_staff(web, browsers, factory, session, existing):
    from app.search.models import DismissedSuggestion

    original = existing["original"]
    factory.user("lena", role="staff")
    session.commit()
    web.sign_in("maya")
    r = web.post("/ask", press(web.submit("/ask", "/ask", MAYA).text, "No, post my question")[1])
    assert r.status_code == 303
    posted = _questions(session)[-1]
    assert [(d.question_id, d.suggested_id) for d in db_rows(session, select(DismissedSuggestion))] == [
        (posted.id, original.id)]
    # The asker and other customers do not see it; staff do, on the new question's page.
    assert "did not help" not in web.follow(r).text
    lena = browsers()
    lena.sign_in("lena")
    page = lena.get(r.headers["location"]).text
    panel = page[page.index("Suggested before posting, did not help"):]
    assert f'href="/questions/{original.id}/{original.slug}"' in panel


def test_posting_without_seeing_suggestions_records_none(web, session, existing):
    from app.search.models import DismissedSuggestion

    web.sign_in("maya")
    token = form_by_class(web.get("/ask").text, "post-form")["fields"]["csrf_token"]
    fields = {**MAYA, "title": "Keyboard backlight never turns off", "csrf_token": token}
    r = web.post("/ask", fields)
    assert r.status_code == 303
    assert db_rows(session, select(DismissedSuggestion)) == []


def test_pressing_yes_again_does_not_count_again(web, session, existing):
    """Issue 10 item 11: once per customer and question, also through the forum's form."""
    original = existing["original"]
    web.sign_in("maya")
    yes = form_by_class(web.submit("/ask", "/ask", MAYA).text, "similar-yes")
    for _ in range(3):
        r = web.post(yes["action"], yes["fields"])
        assert r.status_code == 303
    assert len(db_rows(session, select(Deflection))) == 1
    assert "Helped 1 customer who was about to ask" in text_of(web.follow(r).text)
    assert str(original.id) in r.headers["location"]


@pytest.mark.parametrize("change, field, words", [
    ({"tags": "charging, " + "d" * 40}, "tags", "d" * 40),
    ({"product": "no-such-dock"}, "product", "There is no product"),
])
def test_the_forms_own_mistakes_come_before_the_suggestions(web, session, existing, change, field, words):
    """Similar questions exist, but the form also holds a mistake: it is shown at once, under its
    field with the text kept, not after the asker went through "Do any of these solve your
    problem?" and chose to post."""
    web.sign_in("maya")
    r = web.submit("/ask", "/ask", {**MAYA, **change})
    assert r.status_code == 422 and "Do any of these solve your problem?" not in r.text
    assert f'id="f-{field}-error"' in r.text and words in r.text
    assert MAYA["title"] in r.text and "My new Dock Pro charges the laptop at 60 W only." in r.text
    assert all(q.title != MAYA["title"] for q in _questions(session))  # nothing posted
