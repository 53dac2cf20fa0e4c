"""The profile's reputation (summary and tab) names only posts the reader can open: an event about
a deleted, hidden or internal post keeps its row and points, labelled "a post that is no longer
visible", with no link and no title (app/moderation/posts.py `seen_by`, docs/reputation.md)."""

from __future__ import annotations

import re

import pytest

from app.questions.views import question_url
from app.web.templating import signed
from tests.reputation.helpers import HELPER_SEES, LENA_SEES, ledger_world
from tests.web.conftest import text_of

NEUTRAL = "a post that is no longer visible"


def _rows(page: str) -> list[str]:
    return re.findall(r'<li class="profile-post rep-post-row">(.*?)</li>', page, re.DOTALL)


def _anchor(w, name: str) -> str:
    """What a link to the post would contain: its id in the question or answer URL."""
    post_type, post_id = w[name]
    return f"#answer-{post_id}" if post_type == "answer" else f"/questions/{post_id}/"


def _signed_in(browsers, reader):
    b = browsers()
    if reader:
        b.sign_in(reader)
    return b


@pytest.mark.parametrize("reader", list(HELPER_SEES))
def test_profile_reputation_names_only_posts_the_reader_can_open(browsers, factory, session, reader):
    w = ledger_world(factory, session)
    sees = HELPER_SEES[reader]
    b = _signed_in(browsers, reader)
    page = b.get("/users/helper?tab=reputation").text
    rows = _rows(page)
    assert len(rows) == 4  # every post keeps its row
    hidden = [r for r in rows if NEUTRAL in r]
    assert len(hidden) == 4 - len(sees)
    assert all("<a " not in r for r in hidden)
    for name in ("gone", "spam", "theirs"):
        if name in sees:
            assert _anchor(w, name) in page
        else:
            assert _anchor(w, name) not in page
    for name in ("gone", "spam"):  # titles that appear nowhere else on the reputation tab
        assert (w["titles"][name] in page) == (name in sees), name
    # The points are all there: the rows add up to the balance shown in the header.
    totals = sorted(text_of(r).split()[0] for r in rows)
    assert totals == sorted([signed(30), signed(0), signed(15), signed(2)])  # live, deleted, spam, accepted

    summary = b.get("/users/helper").text
    assert ("Quokkaspam" in summary) == ("spam" in sees)
    assert (w["titles"]["gone"] in summary) == ("gone" in sees)


@pytest.mark.parametrize("reader", list(LENA_SEES))
def test_an_internal_post_is_named_on_the_profile_to_staff_only(browsers, factory, session, reader):
    w = ledger_world(factory, session)
    page = _signed_in(browsers, reader).get("/users/lena?tab=reputation").text
    [row] = _rows(page)
    staff = bool(LENA_SEES[reader])
    assert ("Quokkafrost" in page) == staff and (_anchor(w, "internal") in row) == staff
    assert (NEUTRAL in row) != staff
    assert signed(10) in text_of(row)


def test_the_neutral_label_fits_a_phone(page_checker, factory, session):
    """The reputation tab with hidden posts, signed out, at 1280 and 390 px: no overflow, no axe
    finding (screenshots in $GROUNDSWELL_SCREENSHOT_DIR when set)."""
    ledger_world(factory, session)
    page = page_checker.person()
    page_checker.check(page, "/users/helper?tab=reputation")
    assert page.get_by_text(NEUTRAL).count() == 3
    assert not page_checker.problems, page_checker.report()


def test_question_url_is_what_the_rows_link_to(factory, session):
    """Guard for `_anchor`: a visible row links with question_url, so the id test above can fail."""
    w = ledger_world(factory, session)
    from app.questions.models import Question

    q = session.get(Question, w["spam"][1])
    assert question_url(q.id, q.slug).startswith(_anchor(w, "spam"))
