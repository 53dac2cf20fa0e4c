"""The saved-views pages without a browser (issue 18): the dashboard as a stack of lists (what a
visitor without JavaScript gets), the column fragment, the form (CSRF, typed text kept on error,
staff-only parts), reorder, copy, delete."""

from __future__ import annotations

import re

from app.savedviews import service as saved_views
from app.savedviews.schemas import ViewCreate
from tests.api.test_saved_views import people  # noqa: F401  (fixture: lena, omar, maya, raj; q2 escalated)
from tests.web.conftest import text_of


def _columns(page: str) -> list[str]:
    return re.findall(r'<h2 id="view-\d+-title"><a href="/views/\d+">([^<]+)</a>', page)


def test_a_customer_saves_a_view_and_sees_it_as_a_column(web, people):
    web.sign_in("maya")
    page = web.get("/views").text
    assert "You have no saved views yet" in page
    form = web.get("/views/new").text
    assert "Escalation status" not in form and "Share with the staff team" not in form  # staff-only parts
    r = web.submit("/views/new", "/views", {"name": "Dock Pro questions", "product": "dock-pro", "unsolved": "1",
                                            "sort": "votes"})
    assert r.status_code == 303 and r.headers["location"].startswith("/views#view-")
    page = web.follow(r).text
    assert _columns(page) == ["Dock Pro questions"]
    text = text_of(page)
    assert "Saved the view “Dock Pro questions”" in text
    assert "2 questions · Dock Pro · unsolved · most votes first" in text
    assert people.q1.title in text and people.q2.title in text and people.q3.title not in text
    assert "Escalation:" not in text  # customers never see escalations
    assert 'href="/views" data-views-reload' in page  # the reload link that works without JavaScript


def test_a_refused_form_keeps_what_was_typed(web, people):
    web.sign_in("maya")
    r = web.submit("/views/new", "/views", {"name": "My <b>list</b>", "tag": "-bad-", "unanswered": "1",
                                            "escalation_status": "open"})
    assert r.status_code == 403  # escalation filters are for staff
    assert "for the support staff" in text_of(r.text)
    assert 'value="My &lt;b&gt;list&lt;/b&gt;"' in r.text and 'value="-bad-"' in r.text
    assert re.search(r'name="unanswered" value="1" checked', r.text)
    r = web.submit("/views/new", "/views", {"name": "My list", "tag": "-bad-"})
    assert r.status_code == 422 and "That is not a tag name" in text_of(r.text) and 'value="-bad-"' in r.text
    r = web.submit("/views/new", "/views", {"name": "   ", "product": "dock-pro"})
    assert r.status_code == 422 and "Give the view a name" in text_of(r.text)
    r = web.post("/views", {"name": "No token"})
    assert r.status_code == 403 and "This form has expired" in r.text
    assert _columns(web.get("/views").text) == []


def test_staff_filters_errors_edit_and_share(web, people, session):
    web.sign_in("lena")
    r = web.submit("/views/new", "/views", {"name": "Due soon", "breaching_hours": "lots", "sort": "newest"})
    assert r.status_code == 422 and "whole number of hours from 1 to 720" in text_of(r.text)
    assert 'value="lots"' in r.text
    r = web.submit("/views/new", "/views", {"name": "Due soon", "breaching_hours": "999999"})
    assert r.status_code == 422
    r = web.submit("/views/new", "/views", {"name": "Due soon", "breaching_hours": "720", "escalation_status": "claimed",
                                            "shared": "1"})
    assert r.status_code == 303
    page = web.follow(r).text
    assert "Escalation: claimed" in text_of(page) and "Shared" in text_of(page)
    view_id = int(re.search(r'id="view-(\d+)"', page).group(1))
    edit = web.get(f"/views/{view_id}/edit").text
    assert 'value="720"' in edit and re.search(r'name="shared" value="1" checked', edit)
    r = web.submit(f"/views/{view_id}/edit", f"/views/{view_id}/edit",
                   {"name": "Due within a day", "breaching_hours": "24", "escalation_status": "claimed", "shared": "1"})
    assert r.status_code == 303
    assert _columns(web.follow(r).text) == ["Due within a day"]


def test_columns_move_copy_and_delete(browsers, people, session):
    for name in ("First", "Second"):
        saved_views.create(session, actor=people.lena, data=ViewCreate(name=name))
    shared = saved_views.create(session, actor=people.omar, data=ViewCreate(name="Omar's open ones", shared=True,
                                                                            filters={"escalation_status": "active"}))
    session.commit()
    lena = browsers()
    lena.sign_in("lena")
    page = lena.get("/views").text
    assert _columns(page) == ["First", "Second"]
    second = int(re.findall(r'id="view-(\d+)"', page)[1])
    r = lena.submit("/views", f"/views/{second}/move", {"direction": "earlier"})
    assert r.status_code == 303
    page = lena.follow(r).text
    assert _columns(page) == ["Second", "First"]
    # shared by omar: listed below, readable, copied onto lena's dashboard
    assert "Shared with the staff team" in page and "Omar&#39;s open ones" in page
    detail = lena.get(f"/views/{shared.id}").text
    assert people.q2.title in text_of(detail) and "shared by" in text_of(detail)
    assert lena.get(f"/views/{shared.id}/edit").status_code == 303  # read-only: to its page
    r = lena.submit("/views", f"/views/{shared.id}/copy")
    page = lena.follow(r).text
    assert _columns(page) == ["Second", "First", "Omar&#39;s open ones"]
    r = lena.submit("/views", f"/views/{second}/delete")
    assert "Deleted the view “Second”" in text_of(lena.follow(r).text)
    # the column fragment is the column's body alone, for the script to swap in
    own = int(re.findall(r'id="view-(\d+)"', lena.get("/views").text)[-1])
    fragment = lena.get(f"/views/{own}/column")
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith("<div data-view-body>")
    assert people.q2.title in fragment.text and "<html" not in fragment.text
    # a customer gets nothing of it
    maya = browsers()
    maya.sign_in("maya")
    assert maya.get(f"/views/{shared.id}").status_code == 404
    assert maya.get(f"/views/{own}/column").status_code == 404
    anonymous = browsers()
    assert anonymous.get("/views").status_code in (302, 303)
