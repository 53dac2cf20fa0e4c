#!/usr/bin/env python3
"""Answer-ranking benchmark on real community data (the iot.stackexchange dump).

For every question with at least two answers, rank its answers using only what was known
7 days after the question was asked (votes cast by then, an acceptance made by then), and
count how often the top-ranked answer is the final winner: the accepted answer, else the
answer with the highest final score (ties: the older). Orders compared:

  groundswell       app.answers.ranking.rank_score (Wilson lower bound, acceptance as a strong
                    signal, the author's record as a prior; imported votes weigh as an
                    established member's)
  chronological     oldest first (Discourse, Khoros)
  accepted+votes    accepted first, then net votes (Apache Answer)
  votes             net votes only

    .venv/bin/python bench/ranking_bench.py [--dump ../shared/data/iot-stackexchange] [--days 7]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.answers.ranking import IMPORTED_VOTER_REPUTATION, Evidence, rank_score  # noqa: E402
from app.importer.stackexchange import rows  # noqa: E402


@dataclass
class A:
    id: int
    created: datetime
    author: int | None
    score: int
    ups: list[datetime] = field(default_factory=list)
    downs: list[datetime] = field(default_factory=list)


def load(dump: Path):
    questions: dict[int, dict] = {}
    answers: dict[int, A] = {}
    by_question: dict[int, list[int]] = defaultdict(list)
    for r in rows(dump / "Posts.xml"):
        pid = int(r["Id"])
        if r.get("PostTypeId") == "1":
            questions[pid] = {"created": datetime.fromisoformat(r["CreationDate"]),
                              "accepted": int(r["AcceptedAnswerId"]) if r.get("AcceptedAnswerId") else None}
        elif r.get("PostTypeId") == "2" and r.get("ParentId"):
            owner = r.get("OwnerUserId")
            answers[pid] = A(pid, datetime.fromisoformat(r["CreationDate"]), int(owner) if owner else None,
                             int(r.get("Score") or 0))
            by_question[int(r["ParentId"])].append(pid)
    accepted_at: dict[int, datetime] = {}
    for r in rows(dump / "Votes.xml"):
        pid = int(r["PostId"]) if r.get("PostId") else None
        if pid not in answers:
            continue
        when = datetime.fromisoformat(r["CreationDate"])
        if r.get("VoteTypeId") == "2":
            answers[pid].ups.append(when)
        elif r.get("VoteTypeId") == "3":
            answers[pid].downs.append(when)
        elif r.get("VoteTypeId") == "1":
            accepted_at[pid] = when
    return questions, answers, by_question, accepted_at


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dump", type=Path, default=ROOT.parent / "shared" / "data" / "iot-stackexchange")
    ap.add_argument("--days", type=int, default=7)
    a = ap.parse_args()
    questions, answers, by_question, accepted_at = load(a.dump)
    window = timedelta(days=a.days)

    # The author's record before each question: earlier answers that ended accepted or above zero.
    accepted_ids = {q["accepted"] for q in questions.values() if q["accepted"]}
    helpful_before = defaultdict(list)  # author -> sorted creation times of helpful answers
    for ans in answers.values():
        if ans.author is not None and (ans.id in accepted_ids or ans.score > 0):
            helpful_before[ans.author].append(ans.created)
    for times in helpful_before.values():
        times.sort()

    wins = defaultdict(int)
    score_wins = defaultdict(int)  # a second view: the final community favourite, acceptance ignored
    total = 0
    for qid, ids in by_question.items():
        q = questions.get(qid)
        if q is None or len(ids) < 2:
            continue
        cutoff = q["created"] + window
        cands = [answers[i] for i in ids]
        favourite = min(cands, key=lambda x: (-x.score, x.created)).id
        winner = q["accepted"] if q["accepted"] in ids else favourite
        total += 1

        def net(x: A) -> int:
            return sum(t <= cutoff for t in x.ups) - sum(t <= cutoff for t in x.downs)

        def accepted_early(x: A) -> bool:
            return x.id == q["accepted"] and accepted_at.get(x.id, datetime.max) <= cutoff

        def evidence(x: A) -> Evidence:
            prior = sum(t < q["created"] for t in helpful_before.get(x.author, [])) if x.author else 0
            return Evidence(upvoter_reputations=[IMPORTED_VOTER_REPUTATION] * sum(t <= cutoff for t in x.ups),
                            downvoter_reputations=[IMPORTED_VOTER_REPUTATION] * sum(t <= cutoff for t in x.downs),
                            accepted=accepted_early(x), author_helpful_answers=prior)

        orders = {
            "groundswell": min(cands, key=lambda x: (-rank_score(evidence(x)), x.created)),
            "chronological": min(cands, key=lambda x: x.created),
            "accepted+votes": min(cands, key=lambda x: (not accepted_early(x), -net(x), x.created)),
            "votes": min(cands, key=lambda x: (-net(x), x.created)),
        }
        for name, top in orders.items():
            wins[name] += top.id == winner
            score_wins[name] += top.id == favourite

    print(f"{total} questions with at least two answers in {a.dump.name}; signals known {a.days} days after asking")
    print(f"{'ordering':<16} {'final winner on top':>22} {'highest final score on top':>28}")
    for name in ("groundswell", "chronological", "accepted+votes", "votes"):
        print(f"{name:<16} {wins[name]:>7} / {total} = {wins[name] / total:6.1%} "
              f"{score_wins[name]:>11} / {total} = {score_wins[name] / total:6.1%}")
    print("final winner: the accepted answer, else the highest final score (ties: the older answer)")


if __name__ == "__main__":
    main()
