"""Two agents claim the same escalation at the same moment: real threads, real connections,
released together by a barrier. Exactly one wins; the other gets 409. On PostgreSQL the loser's
conditional UPDATE waits for the winner's row lock and re-checks the row after it commits; on
SQLite the writers queue on BEGIN IMMEDIATE. Both databases run it."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.escalation import service as esc_service
from app.escalation.models import Escalation, EscalationEvent
from tests.factories import make_question, make_user, token_headers


@pytest.mark.parametrize("round_", range(3))
def test_two_agents_claiming_at_once_one_wins_the_other_gets_409(app, session, clean_engine, round_):
    lena, omar = make_user(session, role="staff"), make_user(session, role="staff")
    q = make_question(session)
    esc, _ = esc_service.escalate(session, actor=lena, question_id=q.id, reason="race")
    session.commit()
    with TestClient(app) as c:
        headers = {lena.id: token_headers(c, lena.username), omar.id: token_headers(c, omar.username)}
    barrier = threading.Barrier(2)
    results: dict[int, int] = {}

    def claim(uid: int) -> None:
        with TestClient(app) as c:  # its own client; each request gets its own database connection
            barrier.wait(timeout=30)
            results[uid] = c.post(f"/api/v1/escalations/{esc.id}/claim", headers=headers[uid]).status_code

    threads = [threading.Thread(target=claim, args=(uid,)) for uid in (lena.id, omar.id)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results.values()) == [200, 409], results
    winner = next(uid for uid, status in results.items() if status == 200)
    with Session(clean_engine) as s:
        row = s.get(Escalation, esc.id)
        assert (row.status, row.assignee_id) == ("claimed", winner)
        claims = s.exec(select(EscalationEvent).where(EscalationEvent.escalation_id == esc.id,
                                                      EscalationEvent.kind == "claimed")).all()
        assert [e.actor_id for e in claims] == [winner]


def test_claims_at_the_service_level_race_on_their_own_connections(session, clean_engine):
    """The same race without HTTP: two sessions, each its own connection and transaction."""
    from app.accounts.models import User
    from app.core.db import writer
    from app.core.errors import Conflict

    agents = [make_user(session, role="staff").id for _ in range(2)]
    esc, _ = esc_service.escalate(session, actor=session.get(User, agents[0]), question_id=make_question(session).id,
                                  reason="race")
    session.commit()
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def claim(uid: int) -> None:
        with Session(writer(clean_engine)) as s:
            try:
                barrier.wait(timeout=30)
                with s.begin():
                    esc_service.claim(s, actor=s.get(User, uid), escalation_id=esc.id)
                outcomes[uid] = "won"
            except Conflict:
                outcomes[uid] = "409"

    threads = [threading.Thread(target=claim, args=(uid,)) for uid in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes.values()) == ["409", "won"], outcomes
