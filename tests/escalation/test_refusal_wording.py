"""The refusals an agent reads (409 state, 403 holder) are plain English for every action: the
object sits where English puts it ("hand it off", "mark it as waiting on the customer"), never
"hand off it" or "mark as waiting on the customer it" (a newcomer's trial found both)."""

from __future__ import annotations

import re

import pytest

from app.core.errors import Conflict, Forbidden
from app.escalation import service as svc

# (action, the state it is refused in, call) for every state refusal the services raise.
STATE_REFUSALS = [
    ("claim it", "waiting", lambda s, d, e, now: svc.claim(s, actor=d.omar, escalation_id=e.id, now=now)),
    ("release it", "open", lambda s, d, e, now: svc.release(s, actor=d.lena, escalation_id=e.id, now=now)),
    ("assign it", "resolved", lambda s, d, e, now: svc.assign(s, actor=d.lena, escalation_id=e.id, assignee=d.omar, now=now)),
    ("mark it as waiting on the customer", "open",
     lambda s, d, e, now: svc.wait_on_customer(s, actor=d.lena, escalation_id=e.id, now=now)),
    ("resume it", "claimed", lambda s, d, e, now: svc.resume(s, actor=d.lena, escalation_id=e.id, now=now)),
    ("hand it off", "resolved", lambda s, d, e, now: svc.hand_off(s, actor=d.lena, escalation_id=e.id, ticket="T-2", now=now)),
    ("resolve it", "resolved", lambda s, d, e, now: svc.resolve(s, actor=d.lena, escalation_id=e.id, resolution="Again",
                                                                answer_body="Same fix again.", now=now)),
]

# Actions refused to an agent who does not hold the claim (omar on lena's claim).
HOLDER_REFUSALS = [
    ("release it", lambda s, d, e, now: svc.release(s, actor=d.omar, escalation_id=e.id, now=now)),
    ("mark it as waiting on the customer", lambda s, d, e, now: svc.wait_on_customer(s, actor=d.omar, escalation_id=e.id, now=now)),
    ("hand it off", lambda s, d, e, now: svc.hand_off(s, actor=d.omar, escalation_id=e.id, ticket="T-3", now=now)),
    ("resolve it", lambda s, d, e, now: svc.resolve(s, actor=d.omar, escalation_id=e.id, resolution="Mine",
                                                    answer_body="A fix.", now=now)),
]

AWKWARD = re.compile(r"\b(off|customer|as) it\b|\bit it\b|\bclaimed\w*ed\b")


@pytest.mark.parametrize("doing, state, call", STATE_REFUSALS, ids=[r[0] for r in STATE_REFUSALS])
def test_a_refused_state_says_what_cannot_be_done_in_plain_english(session, desk, clock, doing, state, call):
    esc = desk.escalation(state)
    with pytest.raises(Conflict) as refused:
        call(session, desk, esc, clock())
    detail = refused.value.detail
    assert detail.endswith(f"; you cannot {doing} now."), detail
    assert not AWKWARD.search(detail), detail


@pytest.mark.parametrize("doing, call", HOLDER_REFUSALS, ids=[r[0] for r in HOLDER_REFUSALS])
def test_a_claim_held_by_someone_else_says_who_may_act(session, desk, clock, doing, call):
    esc = desk.escalation("waiting" if "resume" in doing else "claimed")
    with pytest.raises(Forbidden) as refused:
        call(session, desk, esc, clock())
    detail = refused.value.detail
    assert detail.endswith(f"'s; only they or an admin can {doing}."), detail
    assert not AWKWARD.search(detail), detail


def test_claiming_someone_elses_claim_names_the_holder(session, desk, clock):
    esc = desk.escalation("claimed")
    with pytest.raises(Conflict) as refused:
        svc.claim(session, actor=desk.omar, escalation_id=esc.id, now=clock())
    assert refused.value.detail == f"Escalation {esc.id} is claimed by {desk.lena.shown_name}; you cannot claim it now."
