"""Service levels and the rules of the escalation queue, in one place (documented in docs/escalation.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app.accounts.models import User


@dataclass(frozen=True)
class Levels:
    """A product's targets. first_response/resolution: the service levels of an escalation;
    unanswered/unsolved/affected_threshold: when the worker escalates a question by itself."""

    tier: str
    first_response: timedelta
    resolution: timedelta
    unanswered: timedelta
    unsolved: timedelta
    affected_threshold: int
    is_default: bool = True


H = timedelta(hours=1)

# The documented defaults. A product without its own settings has the "standard" tier.
TIERS: dict[str, Levels] = {
    "standard": Levels("standard", first_response=8 * H, resolution=72 * H, unanswered=48 * H,
                       unsolved=7 * 24 * H, affected_threshold=5),
    "priority": Levels("priority", first_response=2 * H, resolution=24 * H, unanswered=24 * H,
                       unsolved=3 * 24 * H, affected_threshold=3),
    "enterprise": Levels("enterprise", first_response=1 * H, resolution=8 * H, unanswered=8 * H,
                         unsolved=2 * 24 * H, affected_threshold=3),
}
DEFAULT_TIER = "standard"

# The asker may press "I still need help" once the question is this old (the community gets a chance first).
ASKER_WAIT = timedelta(hours=24)

# The worker's automatic check runs this often (app/worker.py) and looks at this many questions per rule.
CHECK_EVERY = timedelta(minutes=5)
CHECK_BATCH = 500

# How customers see an escalation of their own question: the public status, nothing internal.
PUBLIC_STATUS = {
    "open": "With our support team",
    "claimed": "With our support team",
    "waiting": "Our support team is waiting for your reply",
    "handed_off": "With our support team",
    "resolved": "Answered by our support team",
}

TRIGGER_LABELS = {
    "asker": "The asker still needs help",
    "staff": "Escalated by staff",
    "unanswered": "Unanswered past the product's threshold",
    "unsolved": "Unsolved past the product's threshold",
    "affected": "Many customers affected (likely product defect)",
}


def is_agent(actor: User | None) -> bool:
    """Staff and admins work the queue and see its notes and metrics. Through an API key only
    when the key holds an escalation scope (app/apikeys/scopes.py): a staff member's `read` key
    for a product site shows nothing of the queue, wherever escalation data would appear (saved
    views' escalation filters and items, for one)."""
    if actor is None or not actor.is_active or not actor.is_staff:
        return False
    scopes = getattr(actor, "_key_scopes", None)
    return scopes is None or bool({"escalations:read", "escalations:write"} & set(scopes))


def minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)
