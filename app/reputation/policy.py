"""Reputation policy: every number in one place (documented on /help/reputation and in docs/reputation.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

STARTING_REPUTATION = 1
MINIMUM_REPUTATION = 1

# Points, by event kind. The first word says whose balance moves.
POINTS: dict[str, int] = {
    "answer_upvoted": 10,        # to the answer's author
    "question_upvoted": 5,       # to the question's author
    "answer_downvoted": -2,      # to the answer's author
    "question_downvoted": -2,    # to the question's author
    "downvoted_answer": -1,      # to the voter who downvotes an answer
    "answer_accepted": 15,       # to the accepted answer's author
    "accepted_answer": 2,        # to the asker who accepts (not for accepting one's own answer)
}
KIND_LABELS: dict[str, str] = {
    "answer_upvoted": "Answer upvoted",
    "question_upvoted": "Question upvoted",
    "answer_downvoted": "Answer downvoted",
    "question_downvoted": "Question downvoted",
    "downvoted_answer": "Downvoted an answer",
    "answer_accepted": "Answer accepted",
    "accepted_answer": "Accepted an answer",
}
# Points from votes received count at most this much per UTC day; acceptances are exempt.
DAILY_VOTE_CAP = 200
CAPPED_KINDS = frozenset({"answer_upvoted", "question_upvoted"})

# Anti-gaming.
VOTE_LOCK = timedelta(minutes=5)   # a vote can be changed within this time, or after the post is edited
VOTES_PER_DAY = 40                 # votes a user may cast per UTC day
SERIAL_WINDOW = timedelta(hours=24)
SERIAL_MIN_VOTES = 5               # this many votes from one voter to one author in the window is serial voting
NEW_ACCOUNT_AGE = timedelta(days=7)


@dataclass(frozen=True)
class Privilege:
    key: str
    reputation: int
    title: str
    description: str


# Sized for a vendor community: helping customers say "this helped" from day one.
PRIVILEGES: tuple[Privilege, ...] = (
    Privilege("upvote", 1, "Vote up", "Say an answer or question helped you."),
    # Stack Exchange grants flagging at 15 (its privileges page); so do we.
    Privilege("flag", 15, "Flag posts",
              "Flag spam, rude or abusive posts and posts that need a moderator; 10 flags a day."),
    Privilege("comment", 50, "Comment everywhere",
              "Comment on any post (you can always comment on your own posts and on answers to your questions)."),
    Privilege("downvote", 125, "Vote down", "Mark answers that are wrong or unsafe (costs you 1 point on answers)."),
    Privilege("close", 500, "Close and mark duplicates",
              "Vote to close questions and fold duplicates into the canonical question."),
    Privilege("edit", 1000, "Edit others' posts",
              "Edit any question or answer directly; below this your edits are suggestions that others review."),
)
PRIVILEGE_BY_KEY = {p.key: p for p in PRIVILEGES}


def threshold(key: str) -> int:
    return PRIVILEGE_BY_KEY[key].reputation
