"""Consistency under load: many users voting, switching and retracting at the same moment leave
scores, the ledger and the cached balances exactly consistent (recompute finds no difference).

bench/reputation_consistency.py runs the same scenario at a larger scale and prints figures."""

from __future__ import annotations

from sqlmodel import Session

from app.reputation import service as reputation
from tests.reputation_load import build_community, check_consistency, run_concurrently


def test_100_concurrent_votes_and_retractions_stay_exact(session, clean_engine):
    community = build_community(session, authors=5, voters=100)
    session.commit()
    result = run_concurrently(clean_engine, community, seed=7)
    assert result.errors == [], result.errors[:3]
    assert result.operations >= 100
    check_consistency(clean_engine, community)
    with Session(clean_engine) as s:
        assert reputation.recompute(s, fix=False).differences == 0
