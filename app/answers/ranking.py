"""The answer order: one function, used by the question page and the API alike.

For now: the accepted answer first, then higher score, ties by age (older first).
Being staff earns nothing here: staff answers are badged, never pinned.
The reputation issue replaces the inside of `rank_answers`, not its callers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from app.answers.models import Answer

AnswerSort = Literal["best", "newest", "oldest"]


def rank_answers(answers: Sequence[Answer], accepted_answer_id: int | None, sort: AnswerSort = "best") -> list[Answer]:
    if sort == "newest":
        return sorted(answers, key=lambda a: (a.created_at, a.id), reverse=True)
    if sort == "oldest":
        return sorted(answers, key=lambda a: (a.created_at, a.id))
    return sorted(answers, key=lambda a: (a.id != accepted_answer_id, -a.score, a.created_at, a.id))
