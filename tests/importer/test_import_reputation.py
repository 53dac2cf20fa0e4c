"""Imported users' reputation comes from the imported votes and acceptances through the ledger
(same points, same daily cap), never from the dump's Reputation column."""

from __future__ import annotations

from sqlmodel import select

from app.accounts.models import User
from app.importer.models import ImportMap
from app.reputation import policy
from app.reputation import service as reputation
from app.reputation.models import ReputationEvent
from tests.importer.dumps import SITE, Dump
from tests.importer.support import run_import


def reputations(read) -> dict[int, int]:
    """Source user id → reputation after import, and the ledger checked."""
    with read() as s:
        assert reputation.recompute(s, fix=False).differences == 0
        users = dict(s.exec(select(ImportMap.local_id, ImportMap.source_id)
                            .where(ImportMap.site == SITE, ImportMap.kind == "user")).all())
        return {users[u.id]: u.reputation for u in s.exec(select(User)).all() if u.id in users}


def day(n: int) -> str:
    return f"2021-02-{n:02d}T00:00:00.000"


def test_answer_author_reputation_from_votes_and_acceptances(db, tmp_path, read):
    d = Dump()
    for uid in range(1, 6):
        d.user(uid, f"user {uid}", reputation=99_999)  # ignored
    d.question(10, "Q1", owner=1, accepted=11).answer(11, 10, owner=2).answer(12, 10, owner=3)
    d.question(20, "Q2", owner=4, accepted=21).answer(21, 20, owner=2)
    d.question(30, "Q3 answered and accepted by its asker", owner=5, accepted=31).answer(31, 30, owner=5)
    d.question(40, "Q4", owner=3)
    # answer 11: 4 up, 1 down (different days: under the cap); answer 21: 1 up, 2 down
    for i in range(4):
        d.vote(11, 2, day(1 + i))
    d.vote(11, 3, day(6)).vote(21, 2, day(7)).vote(21, 3, day(8)).vote(21, 3, day(9))
    d.downvotes(12, 3, day(10))                  # Chloé-like: sinks to the floor of 1
    d.upvotes(31, 2, day(11))                    # own answer, own acceptance: votes count, acceptance does not
    d.upvotes(10, 1, day(12)).downvotes(40, 1, day(13))  # question votes: +5 / -2
    run_import(db, d.write(tmp_path / "d"))
    rep = reputations(read)
    up, down, acc = policy.POINTS["answer_upvoted"], policy.POINTS["answer_downvoted"], policy.POINTS["answer_accepted"]
    assert (up, down, acc, policy.POINTS["accepted_answer"]) == (10, -2, 15, 2)
    # user 2: answers 11 (4 up, 1 down, accepted) and 21 (1 up, 2 down, accepted)
    assert rep[2] == 1 + 10 * 5 - 2 * 3 + 15 * 2
    assert rep[1] == 1 + 2 + 5          # accepted someone else's answer, question upvoted once
    assert rep[4] == 1 + 2              # accepted someone else's answer
    assert rep[3] == 1                  # 1 - 6 - 2 floors at 1
    assert rep[5] == 1 + 10 * 2         # self-acceptance earns nothing either side


def test_daily_cap_applies_to_imported_upvotes(db, tmp_path, read):
    d = Dump().user(1, "Asker").user(2, "Answerer")
    d.question(10, "Q", owner=1, accepted=11).answer(11, 10, owner=2)
    d.upvotes(11, 25, "2021-02-01T00:00:00.000")   # 250 points in one day → 200
    d.downvotes(11, 2, "2021-02-01T00:00:00.000")  # downvotes are not capped
    d.upvotes(11, 3, "2021-02-02T00:00:00.000")    # another day
    run_import(db, d.write(tmp_path / "d"))
    rep = reputations(read)
    assert rep[2] == 1 + policy.DAILY_VOTE_CAP - 4 + 30 + 15  # the acceptance is exempt from the cap
    assert rep[1] == 1 + 2
    with read() as s:
        capped = s.exec(select(ReputationEvent).where(ReputationEvent.kind == "answer_upvoted",
                                                      ReputationEvent.amount == 0)).all()
        assert len(capped) == 5
        assert all(e.source_type == "imported_vote" for e in capped)


def test_imported_reputation_counts_as_privilege(db, tmp_path, read):
    """Reputation earned in the archive opens the same privileges as reputation earned here."""
    from app.accounts import permissions

    d = Dump().user(1, "Asker").user(2, "Veteran")
    d.question(10, "Q", owner=1).answer(11, 10, owner=2)
    for i in range(13):
        d.vote(11, 2, day(1 + i))  # 130 points over 13 days
    run_import(db, d.write(tmp_path / "d"))
    with read() as s:
        vet = s.exec(select(User).where(User.display_name == "Veteran")).one()
        assert vet.reputation == 131
        assert permissions.has_privilege(vet, "downvote") and not permissions.has_privilege(vet, "close")
