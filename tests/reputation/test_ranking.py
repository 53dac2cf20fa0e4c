"""The answer ranking (app/answers/ranking.py) through real votes and the API on both databases,
and its pure parts: vote weights, the Wilson lower bound, rank_score."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from app.answers import service as answers_service
from app.answers.ranking import Evidence, rank_score, vote_weight, wilson_lower_bound
from app.core.db import utcnow
from tests.api.conftest import API
from tests.factories import make_answer, make_question
from tests.reputation.helpers import earn, fans, vote

PRODUCT = "aero-14"


def _order(client, q, **params) -> list[int]:
    r = client.get(f"{API}/questions/{q.id}", params=params)
    assert r.status_code == 200, r.text
    return [a["id"] for a in r.json()["answers"]]


def _age(answers, start_hours_ago: int = 10):
    """Give the answers increasing creation times, in the order given (first = oldest)."""
    base = utcnow() - timedelta(hours=start_hours_ago)
    for i, a in enumerate(answers):
        a.created_at = base + timedelta(minutes=i)


def _track_record(session, author, n, *, product=PRODUCT, accepted=False):
    """n earlier answers by `author` on the product, each upvoted once (or accepted) by someone else."""
    [fan] = fans(session, 1, prefix="record")
    for _ in range(n):
        asker = fans(session, 1, prefix="asks")[0]
        q = make_question(session, asker, product=product)
        a = make_answer(session, q, author=author)
        if accepted:
            answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a.id)
        else:
            vote(session, fan, a, 1, now=utcnow() - timedelta(days=3))


def test_customer_answer_with_3_upvotes_outranks_staff_answers_with_1_and_0(client, factory, session):
    factory.product(PRODUCT)
    staff = factory.user("lena", role="staff")
    _track_record(session, staff, 8)
    _track_record(session, staff, 4, accepted=True)
    customer = factory.user("maya")
    q = factory.question(factory.user("asker"), product=PRODUCT)
    staff_one = factory.answer(q, author=staff)
    staff_none = factory.answer(q, author=staff)
    mine = factory.answer(q, author=customer)
    _age([staff_one, staff_none, mine])  # the staff answers came first
    voters = fans(session, 3)
    for v in voters:
        vote(session, v, mine, 1)
    vote(session, voters[0], staff_one, 1)
    session.commit()
    assert _order(client, q) == [mine.id, staff_one.id, staff_none.id]
    body = client.get(f"{API}/questions/{q.id}").json()
    assert [(a["is_staff"], a["score"]) for a in body["answers"]] == [(False, 3), (True, 1), (True, 0)]


def test_plus_25_ranks_above_an_accepted_answer_with_no_votes(client, factory, session):
    asker = factory.user("asker")
    q = factory.question(asker)
    accepted = factory.answer(q, author=factory.user("first"))
    popular = factory.answer(q, author=factory.user("second"))
    plain = factory.answer(q, author=factory.user("third"))
    _age([accepted, popular, plain])
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=accepted.id)
    for v in fans(session, 25):
        vote(session, v, popular, 1)
    session.commit()
    assert _order(client, q) == [popular.id, accepted.id, plain.id]
    assert client.get(f"{API}/questions/{q.id}").json()["answers"][0]["score"] == 25


def test_acceptance_beats_a_couple_of_upvotes(client, factory, session):
    asker = factory.user("asker")
    q = factory.question(asker)
    liked = factory.answer(q, author=factory.user("first"))
    accepted = factory.answer(q, author=factory.user("second"))
    _age([liked, accepted])
    for v in fans(session, 2):
        vote(session, v, liked, 1)
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=accepted.id)
    session.commit()
    assert _order(client, q) == [accepted.id, liked.id]


def test_a_proven_contributor_starts_above_a_new_account(client, factory, session):
    factory.product(PRODUCT)
    factory.product("dock-pro", name="Dock Pro")
    proven = factory.user("raj_builds")
    _track_record(session, proven, 3, accepted=True)
    _track_record(session, proven, 3)
    newcomer = factory.user("newcomer")
    q = factory.question(factory.user("asker"), product=PRODUCT)
    fresh = factory.answer(q, author=newcomer)
    expert = factory.answer(q, author=proven)
    _age([fresh, expert])  # the newcomer answered first
    # the record counts on its own product only
    other = factory.question(factory.user("asker2"), product="dock-pro")
    fresh2, expert2 = factory.answer(other, author=newcomer), factory.answer(other, author=proven)
    _age([fresh2, expert2])
    session.commit()
    assert _order(client, q) == [expert.id, fresh.id]
    assert _order(client, other) == [fresh2.id, expert2.id]
    assert all(a["score"] == 0 for a in client.get(f"{API}/questions/{q.id}").json()["answers"])


def test_one_real_upvote_outweighs_any_track_record(client, factory, session):
    factory.product(PRODUCT)
    proven = factory.user("raj_builds")
    _track_record(session, proven, 10)
    q = factory.question(factory.user("asker"), product=PRODUCT)
    expert = factory.answer(q, author=proven)
    fresh = factory.answer(q, author=factory.user("newcomer"))
    _age([expert, fresh])
    vote(session, fans(session, 1)[0], fresh, 1)
    session.commit()
    assert _order(client, q) == [fresh.id, expert.id]


def test_a_downvoted_answer_sinks_below_unvoted_ones(client, factory, session):
    q = factory.question(factory.user("asker"))
    critic = factory.user("critic")
    earn(session, critic, 130)
    bad, ok1, ok2 = (factory.answer(q, author=factory.user(n)) for n in ("bad", "okay", "fine"))
    _age([bad, ok1, ok2])
    vote(session, critic, bad, -1)
    session.commit()
    assert _order(client, q) == [ok1.id, ok2.id, bad.id]


def test_voters_with_standing_weigh_more(client, factory, session):
    q = factory.question(factory.user("asker"))
    veteran = factory.user("veteran")
    assert earn(session, veteran, 100) == 101
    a_two_new = factory.answer(q, author=factory.user("first"))
    a_one_veteran = factory.answer(q, author=factory.user("second"))
    _age([a_two_new, a_one_veteran])
    for v in fans(session, 2):
        vote(session, v, a_two_new, 1)
    vote(session, veteran, a_one_veteran, 1)
    session.commit()
    # 1.5 (reputation 101) against 2 × 0.5 (new accounts): standing counts, the score does not decide
    assert _order(client, q) == [a_one_veteran.id, a_two_new.id]


def test_sort_newest_and_oldest_are_by_date(client, factory, session):
    asker = factory.user("asker")
    q = factory.question(asker)
    a1, a2, a3 = (factory.answer(q, author=factory.user(n)) for n in ("first", "second", "third"))
    _age([a1, a2, a3])
    for v in fans(session, 3):
        vote(session, v, a2, 1)
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a1.id)
    session.commit()
    assert _order(client, q, sort="newest") == [a3.id, a2.id, a1.id]
    assert _order(client, q, sort="oldest") == [a1.id, a2.id, a3.id]
    assert _order(client, q) == _order(client, q, sort="best") == [a1.id, a2.id, a3.id]  # accepted, 3 new votes
    assert client.get(f"{API}/questions/{q.id}", params={"sort": "votes"}).status_code == 422


# --- pure parts -------------------------------------------------------------------------------

def test_vote_weight_is_bounded_and_logarithmic():
    assert vote_weight(1) == 0.5 and vote_weight(0) == 0.5 and vote_weight(-5) == 0.5
    assert vote_weight(10) == pytest.approx(1.0)
    assert vote_weight(100) == pytest.approx(1.5)
    assert vote_weight(1000) == pytest.approx(2.0)
    assert vote_weight(10_000) == pytest.approx(2.5)
    assert vote_weight(10**9) == 2.5
    weights = [vote_weight(r) for r in (1, 2, 5, 50, 125, 999, 5000, 50_000)]
    assert weights == sorted(weights) and all(0.5 <= w <= 2.5 for w in weights)
    # bounded: no single voter outweighs six new accounts
    assert vote_weight(10**12) < 6 * vote_weight(1)


def test_wilson_lower_bound():
    assert wilson_lower_bound(0, 0) == 0.0
    for pos, neg in ((1, 0), (0, 1), (3, 1), (40, 5), (1000, 1), (0.5, 2.5)):
        w = wilson_lower_bound(pos, neg)
        assert 0 <= w <= pos / (pos + neg)
    # the same share with more evidence is worth more, and tends to the share
    shares = [wilson_lower_bound(9 * n, n) for n in (1, 10, 100, 10_000)]
    assert shares == sorted(shares) and shares[-1] == pytest.approx(0.9, abs=0.005)
    assert wilson_lower_bound(5, 0) < wilson_lower_bound(6, 0) and wilson_lower_bound(5, 1) < wilson_lower_bound(5, 0)
    # the textbook formula, z = 1.28
    p, n, z = 0.8, 10, 1.28
    expect = (p + z * z / (2 * n) - z * math.sqrt((p * (1 - p) + z * z / (4 * n)) / n)) / (1 + z * z / n)
    assert wilson_lower_bound(8, 2) == pytest.approx(expect)


def test_two_of_two_does_not_beat_forty_of_forty_five():
    for r in (1, 10, 1000):
        assert rank_score(Evidence(upvoter_reputations=[r] * 2)) < rank_score(
            Evidence(upvoter_reputations=[r] * 40, downvoter_reputations=[r] * 5))


def test_rank_score_examples():
    none = rank_score(Evidence())
    assert rank_score(Evidence(downvoter_reputations=[1])) < none
    assert rank_score(Evidence(author_helpful_answers=5)) > none
    assert rank_score(Evidence(author_helpful_answers=10**6)) < rank_score(Evidence(upvoter_reputations=[1]))
    assert rank_score(Evidence(upvoter_reputations=[1] * 3)) > rank_score(
        Evidence(upvoter_reputations=[1], author_helpful_answers=10**6))
    assert rank_score(Evidence(upvoter_reputations=[1] * 25)) > rank_score(Evidence(accepted=True))
    assert rank_score(Evidence(accepted=True)) > rank_score(Evidence(upvoter_reputations=[1] * 2))
