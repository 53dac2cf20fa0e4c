"""Anti-gaming: serial voting (found and reversed) and sock-puppet signals (reported to moderators)."""

from __future__ import annotations

import difflib
import hashlib
import hmac
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, select

from app.accounts.models import User
from app.core.db import utcnow
from app.reputation import policy
from app.reputation.models import VotingReport


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _stem(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def signup_fingerprint(secret: str, address: str) -> str:
    """What `users.signup_fingerprint` holds: a keyed hash of the sign-up address, never the address."""
    return hmac.new(secret.encode(), f"signup:{address}".encode(), hashlib.sha256).hexdigest()


def resembles(a: User, b: User) -> str | None:
    """Why two accounts look like the same person, or None."""
    if a.signup_fingerprint and a.signup_fingerprint == b.signup_fingerprint:
        return "signed up from the same address"
    if difflib.SequenceMatcher(None, a.username, b.username).ratio() >= 0.8:
        return f"similar usernames ({a.username} / {b.username})"
    la, lb = _stem(a.email.split("@")[0]), _stem(b.email.split("@")[0])
    if la and la == lb:
        return "similar email addresses"
    return None


def check_sock_puppet(session: Session, *, voter: User, author_id: int, now: datetime | None = None) -> VotingReport | None:
    """A new account upvoting an account that resembles it is reported (once per pair) to moderators."""
    now = now or utcnow()
    if now - _aware(voter.created_at) > policy.NEW_ACCOUNT_AGE:
        return None
    author = session.get(User, author_id)
    if author is None:
        return None
    why = resembles(voter, author)
    if why is None:
        return None
    open_report = session.exec(select(VotingReport).where(
        VotingReport.kind == "sock_puppet", VotingReport.voter_id == voter.id, VotingReport.author_id == author_id,
        VotingReport.resolved_at.is_(None))).first()
    if open_report is not None:
        open_report.votes += 1
        return open_report
    report = VotingReport(kind="sock_puppet", voter_id=voter.id, author_id=author_id, votes=1,
                          detail=f"new account ({voter.username}) upvoted {author.username}: {why}", created_at=now)
    session.add(report)
    session.flush()
    return report


@dataclass
class SerialVotingResult:
    pairs: int = 0
    votes_reversed: int = 0


def detect_serial_voting(session: Session, *, now: datetime | None = None) -> SerialVotingResult:
    """Find voters who voted one author's posts at least SERIAL_MIN_VOTES times (same direction) within
    SERIAL_WINDOW, reverse those votes with the reason recorded, and report each pair to moderators."""
    from app.answers.models import Answer
    from app.questions.models import Question
    from app.votes import service as votes_service
    from app.votes.models import Vote

    now = now or utcnow()
    since = now - policy.SERIAL_WINDOW
    rows = [
        *session.exec(select(Vote, Question.author_id).join(Question, Question.id == Vote.post_id)
                      .where(Vote.post_type == "question", Vote.created_at >= since)).all(),
        *session.exec(select(Vote, Answer.author_id).join(Answer, Answer.id == Vote.post_id)
                      .where(Vote.post_type == "answer", Vote.created_at >= since)).all(),
    ]
    groups: dict[tuple[int, int, int], list[Vote]] = defaultdict(list)
    for vote, author_id in rows:
        groups[(vote.voter_id, author_id, vote.value)].append(vote)
    result = SerialVotingResult()
    for (voter_id, author_id, value), votes in sorted(groups.items()):
        if len(votes) < policy.SERIAL_MIN_VOTES:
            continue
        votes_service.remove_votes(session, votes, reason="serial voting")
        direction = "upvotes" if value > 0 else "downvotes"
        session.add(VotingReport(kind="serial_voting", voter_id=voter_id, author_id=author_id, votes=len(votes),
                                 reversed_votes=len(votes), created_at=now,
                                 detail=f"{len(votes)} {direction} for one author within "
                                        f"{int(policy.SERIAL_WINDOW.total_seconds() // 3600)} hours: reversed"))
        result.pairs += 1
        result.votes_reversed += len(votes)
    session.flush()
    return result


def open_reports(session: Session, limit: int = 100) -> list[VotingReport]:
    return list(session.exec(select(VotingReport).where(VotingReport.resolved_at.is_(None))
                             .order_by(VotingReport.created_at.desc(), VotingReport.id.desc()).limit(limit)).all())


def resolve_report(session: Session, *, actor: User, report_id: int) -> VotingReport:
    from app.accounts import permissions
    from app.core.errors import Forbidden, NotFound

    permissions.require_user(actor)
    if not permissions.can_review_voting(actor):
        raise Forbidden("Only moderators and staff handle voting reports.")
    report = session.get(VotingReport, report_id)
    if report is None:
        raise NotFound(f"Voting report {report_id} does not exist.")
    if report.resolved_at is None:
        report.resolved_at, report.resolved_by_id = utcnow(), actor.id
        session.flush()
        from app.moderation import audit

        audit.record(session, actor=actor, action="voting.resolve", target_type="voting_report", target_id=report.id)
    return report
