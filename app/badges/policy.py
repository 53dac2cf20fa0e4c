"""Badges: every rule and number in one place (shown on /badges, explained in docs/badges.md).

Names and classes follow Stack Exchange's badges (https://stackoverflow.com/help/badges) where
one matches; where the rule is ours (products, "this solved it") the name says what it rewards.
Bronze is a first step, silver takes sustained help, gold is rare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Class = Literal["gold", "silver", "bronze"]
Scope = Literal["user", "post", "product"]

CLASSES: tuple[Class, ...] = ("gold", "silver", "bronze")

# Thresholds.
NICE_ANSWER_SCORE = 10        # Stack Exchange: Nice Answer, answer score of 10 or more
GOOD_ANSWER_SCORE = 25        # Stack Exchange: Good Answer
GREAT_ANSWER_SCORE = 100      # Stack Exchange: Great Answer
PRODUCT_EXPERT_ACCEPTED = 10  # accepted answers on one product's questions
STREAK_DAYS = 7               # consecutive UTC days with a helpful answer
HELPFUL_ANSWER_SCORE = 1      # an answer counts for the streak with this score, or when it is accepted
SIGNPOST_DEFLECTIONS = 10     # "Yes, this solved it" from people about to ask


@dataclass(frozen=True)
class Badge:
    key: str          # in URLs and the API: /badges/nice-answer
    name: str
    klass: Class
    scope: Scope      # earned once per user, once per post, or once per product
    description: str  # one line, shown everywhere the badge is
    rule: str         # the exact rule, for /badges and docs/badges.md
    source: str       # where the name and rule come from


BADGES: tuple[Badge, ...] = (
    Badge("teacher", "Teacher", "bronze", "user", "Answered a question for the first time.",
          "Your first answer on a public question, while it is neither deleted nor hidden.",
          "Stack Exchange's Teacher (it also asks for a score of 1: here the first answer is enough)"),
    Badge("scholar", "Scholar", "bronze", "user", "Asked a question and accepted an answer.",
          "You accepted someone else's answer to your question.",
          "Stack Exchange's Scholar"),
    Badge("solver", "Solver", "bronze", "user", "Wrote an answer that was accepted.",
          "An answer of yours is accepted by the asker (accepting your own answer does not count).",
          "Ours: the first accepted answer (Stack Exchange rewards it with reputation only)"),
    Badge("nice-answer", "Nice Answer", "bronze", "post", f"An answer scored {NICE_ANSWER_SCORE} or more.",
          f"Once per answer whose score is {NICE_ANSWER_SCORE} or more.",
          "Stack Exchange's Nice Answer"),
    Badge("good-answer", "Good Answer", "silver", "post", f"An answer scored {GOOD_ANSWER_SCORE} or more.",
          f"Once per answer whose score is {GOOD_ANSWER_SCORE} or more.",
          "Stack Exchange's Good Answer"),
    Badge("great-answer", "Great Answer", "gold", "post", f"An answer scored {GREAT_ANSWER_SCORE} or more.",
          f"Once per answer whose score is {GREAT_ANSWER_SCORE} or more.",
          "Stack Exchange's Great Answer"),
    Badge("helpful-streak", "Helpful Streak", "silver", "user",
          f"Helpful answers on {STREAK_DAYS} consecutive days.",
          f"On each of {STREAK_DAYS} consecutive UTC days you wrote an answer that is helpful: score "
          f"{HELPFUL_ANSWER_SCORE} or more, or accepted.",
          "Ours, after Stack Exchange's Enthusiast (visits on 30 consecutive days): answering, not visiting"),
    Badge("product-expert", "Product Expert", "silver", "product",
          f"{PRODUCT_EXPERT_ACCEPTED} accepted answers on one product.",
          f"Once per product on whose questions {PRODUCT_EXPERT_ACCEPTED} of your answers are accepted "
          "(not your own questions).",
          "Ours, after Stack Exchange's tag badges (one per tag): here one per product"),
    Badge("signpost", "Signpost", "silver", "post",
          f"A question that helped {SIGNPOST_DEFLECTIONS} people who were about to ask.",
          f"Once per question of yours that {SIGNPOST_DEFLECTIONS} people, about to ask theirs, marked "
          "“Yes, this solved it”.",
          "Ours, after Stack Exchange's Popular Question (views): people who did not need to ask count more"),
    Badge("citizen-patrol", "Citizen Patrol", "bronze", "user", "Raised a flag a moderator found helpful.",
          "Your first flag that a moderator marked helpful.",
          "Stack Exchange's Citizen Patrol (first flagged post)"),
)
BADGE_BY_KEY: dict[str, Badge] = {b.key: b for b in BADGES}
