"""Saved views' filters against hand-built data (issue 18): each filter of a view selects exactly
the questions it names, hidden and deleted questions never, the escalation filters (staff only)
as the queue reads escalations; sharing, the per-person limit and the order of the columns."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.answers import service as answers_service
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.escalation import metoo
from app.escalation import service as esc_service
from app.savedviews import service as saved_views
from app.savedviews.schemas import ViewCreate


def _view(**kw) -> ViewCreate:
    name = kw.pop("name", "A view")
    sort = kw.pop("sort", "newest")
    shared = kw.pop("shared", False)
    return ViewCreate(name=name, sort=sort, shared=shared, filters=kw)


@pytest.fixture
def world(session, factory):
    """Two products, two agents, two customers and questions in every state the filters tell apart."""
    now = utcnow()
    factory.product("aero-14", "Kestrel Aero 14")
    factory.product("dock-pro", "Dock Pro")
    lena, omar = factory.user("lena", role="staff"), factory.user("omar", role="staff")
    maya, raj = factory.user("maya"), factory.user("raj")
    q = {}
    q["metoo"] = factory.question(author=maya, title="Aero Wi-Fi drops on battery power", product="aero-14",
                                  tags=["wifi"])
    metoo.add(session, actor=raj, question_id=q["metoo"].id)
    q["solved"] = factory.question(author=maya, title="Aero Wi-Fi slow after the 2.3 update", product="aero-14",
                                   tags=["wifi"])
    answer = factory.answer(q["solved"], author=raj)
    answers_service.accept(session, actor=maya, question_id=q["solved"].id, answer_id=answer.id)
    q["answered"] = factory.question(author=raj, title="Dock Pro charges at 60 W only", product="dock-pro",
                                     tags=["charging"])
    factory.answer(q["answered"], author=maya)
    q["hidden"] = factory.question(author=raj, title="Aero Wi-Fi hidden by moderation", product="aero-14",
                                   tags=["wifi"])
    q["hidden"].hidden_at = now
    q["deleted"] = factory.question(author=raj, title="Aero Wi-Fi question deleted", product="aero-14", tags=["wifi"])
    q["deleted"].deleted_at = now
    # Escalations, with hand-set targets: open and due in 2 h; claimed by lena, due in 30 h;
    # claimed by omar and breached an hour ago; waiting on the customer (clock paused), due in 1 h.
    q["esc_open"] = factory.question(author=maya, title="Dock Pro firmware update fails at 40 %", product="dock-pro",
                                     tags=["firmware"])
    q["esc_lena"] = factory.question(author=raj, title="Dock Pro loses the second monitor", product="dock-pro",
                                     tags=["display"])
    q["esc_omar"] = factory.question(author=maya, title="Aero fan at full speed after sleep", product="aero-14",
                                     tags=["fan"])
    q["esc_waiting"] = factory.question(author=raj, title="Aero battery report is empty", product="aero-14",
                                        tags=["battery"])
    esc = {}
    for key, due in (("esc_open", 2), ("esc_lena", 30), ("esc_omar", -1), ("esc_waiting", 1)):
        e, _ = esc_service.escalate(session, actor=lena, question_id=q[key].id, reason="Needs the support team")
        esc[key] = e
    esc_service.claim(session, actor=lena, escalation_id=esc["esc_lena"].id)
    esc_service.claim(session, actor=omar, escalation_id=esc["esc_omar"].id)
    esc_service.claim(session, actor=lena, escalation_id=esc["esc_waiting"].id)
    esc_service.wait_on_customer(session, actor=lena, escalation_id=esc["esc_waiting"].id, note="Asked for logs")
    for key, hours in (("esc_open", 2), ("esc_lena", 30), ("esc_omar", -1), ("esc_waiting", 1)):
        esc[key].due_at = now + timedelta(hours=hours)
    session.flush()
    return {"q": q, "lena": lena, "omar": omar, "maya": maya, "raj": raj, "now": now}


def _titles(session, actor, view, now=None) -> set[str]:
    _, page = saved_views.items(session, actor=actor, view_id=view.id, limit=100, now=now)
    titles = {x.title for x in page.items}
    assert saved_views.count(session, actor=actor, row=view, now=now) == len(titles)
    return titles


def _names(world, *keys) -> set[str]:
    return {world["q"][k].title for k in keys}


VISIBLE = ("metoo", "solved", "answered", "esc_open", "esc_lena", "esc_omar", "esc_waiting")


@pytest.mark.parametrize("filters, expected", [
    ({}, VISIBLE),
    ({"product": "aero-14"}, ("metoo", "solved", "esc_omar", "esc_waiting")),
    ({"product": "Dock-Pro "}, ("answered", "esc_open", "esc_lena")),
    ({"tag": "wifi"}, ("metoo", "solved")),
    ({"tag": "WiFi", "product": "aero-14"}, ("metoo", "solved")),
    ({"unanswered": True}, ("metoo", "esc_open", "esc_lena", "esc_omar", "esc_waiting")),
    ({"unsolved": True}, ("metoo", "answered", "esc_open", "esc_lena", "esc_omar", "esc_waiting")),
    ({"unsolved": True, "tag": "wifi"}, ("metoo",)),
    ({"has_me_too": True}, ("metoo",)),
    ({"tag": "nothing-tagged-so"}, ()),
])
def test_a_customer_view_selects_exactly_what_its_filter_names(session, world, filters, expected):
    view = saved_views.create(session, actor=world["maya"], data=_view(**filters))
    assert _titles(session, world["maya"], view) == _names(world, *expected)


@pytest.mark.parametrize("filters, expected", [
    ({"escalation_status": "active"}, ("esc_open", "esc_lena", "esc_omar", "esc_waiting")),
    ({"escalation_status": "open"}, ("esc_open",)),
    ({"escalation_status": "claimed"}, ("esc_lena", "esc_omar")),
    ({"escalation_status": "waiting"}, ("esc_waiting",)),
    ({"escalation_status": "resolved"}, ()),
    # the clock of a waiting escalation is paused: it does not breach, however near its due time
    ({"breaching_within_hours": 3}, ("esc_open", "esc_omar")),
    ({"breaching_within_hours": 48}, ("esc_open", "esc_lena", "esc_omar")),
    ({"assigned_to_me": True}, ("esc_lena", "esc_waiting")),
    ({"assigned_to_me": True, "breaching_within_hours": 48}, ("esc_lena",)),
    ({"escalation_status": "claimed", "product": "aero-14"}, ("esc_omar",)),
])
def test_a_staff_view_filters_on_escalations_as_the_queue_reads_them(session, world, filters, expected):
    view = saved_views.create(session, actor=world["lena"], data=_view(**filters))
    assert _titles(session, world["lena"], view, now=world["now"]) == _names(world, *expected)


def test_a_resolved_escalation_leaves_the_active_views_and_joins_the_resolved_one(session, world):
    lena = world["lena"]
    active = saved_views.create(session, actor=lena, data=_view(escalation_status="active"))
    resolved = saved_views.create(session, actor=lena, data=_view(escalation_status="resolved"))
    esc = esc_service.open_for(session, world["q"]["esc_open"].id)
    esc_service.resolve(session, actor=lena, escalation_id=esc.id, resolution="Firmware 1.2.3",
                        answer_body="Update the dock to firmware 1.2.3 from the support site, then retry.")
    assert world["q"]["esc_open"].title not in _titles(session, lena, active)
    assert _titles(session, lena, resolved) == _names(world, "esc_open")


def test_hidden_and_deleted_questions_are_in_no_view_even_for_staff(session, world):
    view = saved_views.create(session, actor=world["lena"], data=_view(tag="wifi"))
    titles = _titles(session, world["lena"], view)
    assert world["q"]["hidden"].title not in titles and world["q"]["deleted"].title not in titles


def test_the_order_follows_the_sort(session, world, factory):
    maya = world["maya"]
    q = world["q"]
    q["answered"].score = 5
    q["metoo"].score = 3
    session.flush()
    view = saved_views.create(session, actor=maya, data=_view(sort="votes", unsolved=True))
    _, page = saved_views.items(session, actor=maya, view_id=view.id, limit=2)
    assert [x.title for x in page.items] == [q["answered"].title, q["metoo"].title]
    _, rest = saved_views.items(session, actor=maya, view_id=view.id, limit=100, cursor=page.next_cursor)
    assert {x.title for x in rest.items} == _names(world, "esc_open", "esc_lena", "esc_omar", "esc_waiting")


# --- who may do what -----------------------------------------------------------------------------

@pytest.mark.parametrize("filters", [{"escalation_status": "open"}, {"breaching_within_hours": 4},
                                     {"assigned_to_me": True}])
def test_a_customer_may_not_save_the_escalation_filters(session, world, filters):
    with pytest.raises(Forbidden, match="for the support staff"):
        saved_views.create(session, actor=world["maya"], data=_view(**filters))


def test_a_customer_may_not_share_and_bad_input_is_named(session, world):
    with pytest.raises(Forbidden, match="Only staff can share"):
        saved_views.create(session, actor=world["maya"], data=_view(shared=True))
    with pytest.raises(InvalidInput, match="no product") as exc:
        saved_views.create(session, actor=world["maya"], data=_view(product="no-such-product"))
    assert exc.value.errors[0]["loc"] == ["body", "filters", "product"]
    with pytest.raises(InvalidInput, match="not a tag"):
        saved_views.create(session, actor=world["maya"], data=_view(tag="!!!"))
    with pytest.raises(InvalidInput, match="name"):
        saved_views.create(session, actor=world["maya"], data=_view(name="   "))


def test_a_person_keeps_at_most_twenty_views(session, world):
    for n in range(saved_views.MAX_VIEWS):
        saved_views.create(session, actor=world["raj"], data=_view(name=f"View {n}"))
    with pytest.raises(Conflict, match="20 saved views"):
        saved_views.create(session, actor=world["raj"], data=_view(name="One too many"))
    assert len(saved_views.own_views(session, world["raj"])) == 20


def test_a_shared_view_is_read_only_to_other_staff_and_invisible_to_customers(session, world):
    lena, omar, maya = world["lena"], world["omar"], world["maya"]
    view = saved_views.create(session, actor=lena, data=_view(name="Mine to work", assigned_to_me=True, shared=True))
    private = saved_views.create(session, actor=lena, data=_view(name="Lena only", escalation_status="open"))
    assert [v.id for v in saved_views.shared_with(session, omar)] == [view.id]
    assert saved_views.shared_with(session, maya) == []
    # "me" is whoever reads it: omar sees the escalation he holds, lena hers
    assert _titles(session, omar, view) == _names(world, "esc_omar")
    assert _titles(session, lena, view) == _names(world, "esc_lena", "esc_waiting")
    with pytest.raises(Forbidden, match="only its owner"):
        saved_views.delete(session, actor=omar, view_id=view.id)
    with pytest.raises(Forbidden):
        saved_views.update(session, actor=omar, view_id=view.id, data=_view(name="Taken over"))
    for who, which in ((maya, view), (omar, private), (maya, private)):
        with pytest.raises(NotFound):
            saved_views.get(session, actor=who, view_id=which.id)
    copied = saved_views.copy(session, actor=omar, view_id=view.id)
    assert (copied.owner_id, copied.name, copied.assigned_to_me, copied.shared) == (omar.id, "Mine to work", True, False)
    # a view stops being shared when its owner leaves the staff
    lena.role = "customer"
    session.flush()
    assert saved_views.shared_with(session, omar) == []


def test_a_view_that_no_longer_may_be_read_says_so(session, world):
    lena = world["lena"]
    view = saved_views.create(session, actor=lena, data=_view(escalation_status="open"))
    lena.role = "customer"
    session.flush()
    with pytest.raises(Forbidden, match="for the support staff"):
        saved_views.items(session, actor=lena, view_id=view.id)


def test_columns_move_and_only_the_owner_deletes(session, world):
    maya = world["maya"]
    a, b, c = (saved_views.create(session, actor=maya, data=_view(name=n)) for n in "ABC")
    saved_views.move(session, actor=maya, view_id=c.id, offset=-1)
    assert [v.name for v in saved_views.own_views(session, maya)] == ["A", "C", "B"]
    saved_views.move(session, actor=maya, view_id=a.id, offset=-1)  # already first: nothing moves
    saved_views.move(session, actor=maya, view_id=a.id, offset=1)
    assert [v.name for v in saved_views.own_views(session, maya)] == ["C", "A", "B"]
    with pytest.raises(NotFound):
        saved_views.delete(session, actor=world["raj"], view_id=b.id)
    saved_views.delete(session, actor=maya, view_id=b.id)
    assert [v.name for v in saved_views.own_views(session, maya)] == ["C", "A"]


def test_no_view_shows_an_internal_question_to_anyone(session, world, factory):
    """The staff-only space (docs/internal.md) is in no view, staff's included: views are built on
    the public question lists; staff read internal questions at /internal."""
    from app.questions import service as questions_service
    from app.questions.schemas import QuestionCreate

    secret = questions_service.ask(session, actor=world["lena"], data=QuestionCreate(
        title="Known defect: Aero Wi-Fi drops on battery, fix in BIOS 1.09", body="Workaround under review.",
        tags=["wifi"], product="aero-14", visibility="internal"))
    for reader in ("lena", "maya"):
        view = saved_views.create(session, actor=world[reader], data=_view(name=f"Wi-Fi for {reader}", tag="wifi"))
        titles = _titles(session, world[reader], view)
        assert titles and secret.title not in titles, reader
