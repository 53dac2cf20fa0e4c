"""The worker's "email-send" job: send due outbox rows, one SMTP transaction each.

Delivery guarantee: **at most once, never twice**; every message ends `sent` or visibly `dead`.
Each row is claimed (status "sending", committed) before its SMTP transaction and marked "sent"
(committed) right after the server's 250. If the worker dies in between, nobody can tell whether
the server took the message, so the row is *not* sent again: after CLAIM_LEASE it becomes "dead"
with the reason, and staff may requeue it from /staff/mail. A restart mid-batch therefore resends
nothing that was sent: rows already sent are marked, rows not yet claimed are still pending.

Retries: a temporary failure (connection refused, timeout, 4xx reply) puts the row back with the
delay BACKOFF[attempts - 1]; after MAX_ATTEMPTS tries it is dead. A permanent failure (5xx) is
dead at once; when the recipient itself was refused (a bounce), the address is marked bounced and
gets no further mail until its owner changes or re-verifies it (app/mail/accounts.py).

Skipped: an instant notification about a post (its link names a question, answer or comment) is
checked again when it is sent; when the recipient may no longer see that post (deleted, hidden, or
moved to the internal space: app/moderation/posts.load, the pages' rule) the row becomes "skipped"
with the reason and nothing is sent (post_unavailable). Skipped is final; staff cannot requeue it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default as _default_policy
from email.utils import format_datetime, parseaddr

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.core.db import utcnow, writer
from app.mail.models import EmailOutbox, MailSettings
from app.mail.transport import (
    FolderTransport,
    PermanentFailure,
    TemporaryFailure,
    header_address,
)

# Seconds to wait after the 1st, 2nd… failed attempt; the 6th failure is final.
BACKOFF = (60, 300, 1800, 7200, 21600)
MAX_ATTEMPTS = len(BACKOFF) + 1
CLAIM_LEASE = timedelta(minutes=10)
CRASHED = ("the worker stopped during the SMTP transaction, so whether the server took it is unknown; "
           "not resent, so that nobody gets it twice (requeue it to send it again)")


@dataclass
class SendResult:
    """What a drain (or a run) did. Every message it handled is counted once: `sent`, or in exactly
    one of three reason maps (outbox id → the reason, as stored in the row's `last_error`):

    - `retry_reasons`: back to "pending" for a later try (temporary failure: 4xx reply, connection
      refused or lost, timeout);
    - `dead_reasons`: "dead", never tried again by itself (5xx reply, undeliverable address, no
      SMTPUTF8 for a non-ASCII local part, MAX_ATTEMPTS used up, worker died mid-transaction);
    - `skip_reasons`: "skipped", not sent because the post it is about is no longer visible to the
      recipient (post_unavailable).

    The counts are the sizes of the maps, so a reason of one kind never stands for the other."""

    sent: int = 0
    retry_reasons: dict[int, str] = field(default_factory=dict)
    dead_reasons: dict[int, str] = field(default_factory=dict)
    skip_reasons: dict[int, str] = field(default_factory=dict)

    @property
    def retrying(self) -> int:
        return len(self.retry_reasons)

    @property
    def dead(self) -> int:
        return len(self.dead_reasons)

    @property
    def skipped(self) -> int:
        return len(self.skip_reasons)

    @property
    def did_work(self) -> bool:
        return bool(self.sent or self.retrying or self.dead or self.skipped)

    def add(self, other: SendResult) -> None:
        """Fold a later drain into this total (a message's latest outcome wins)."""
        self.sent += other.sent
        for mine in (self.retry_reasons, self.dead_reasons, self.skip_reasons):
            for row_id in (*other.retry_reasons, *other.dead_reasons, *other.skip_reasons):
                mine.pop(row_id, None)
        self.retry_reasons.update(other.retry_reasons)
        self.dead_reasons.update(other.dead_reasons)
        self.skip_reasons.update(other.skip_reasons)

    def summary(self) -> str:
        """One line for the worker's log: "2 sent, 1 waiting to retry (451 …), 1 dead (refused: 550 …)",
        then ", 1 skipped (…)" when any; each group names its own distinct reasons (at most 3)."""
        def why(reasons: dict[int, str]) -> str:
            distinct = list(dict.fromkeys(r[:120] for r in reasons.values()))
            more = f"; and {len(distinct) - 3} other reasons" if len(distinct) > 3 else ""
            return f" ({'; '.join(distinct[:3])}{more})" if distinct else ""

        line = (f"{self.sent} sent, {self.retrying} waiting to retry{why(self.retry_reasons)}, "
                f"{self.dead} dead{why(self.dead_reasons)}")
        if self.skipped:
            line += f", {self.skipped} skipped{why(self.skip_reasons)}"
        return line


# Headers may be up to 998 characters a line (RFC 5322 section 2.1.1). With the default 78 the
# email package cannot fold `<https://…long token…>` at a space and RFC 2047-encodes it instead
# (`=?utf-8?q?=3Chttps…?=`), which mail clients do not read as RFC 2369 / RFC 8058 List-Unsubscribe.
POLICY = _default_policy.clone(max_line_length=998)


def build_message(row: EmailOutbox, email_from: str) -> EmailMessage:
    """The MIME message of an outbox row: multipart/alternative, text then HTML; List-Unsubscribe
    (`<https://…/unsubscribe/…>`, raw, unencoded: POLICY) and List-Unsubscribe-Post:
    List-Unsubscribe=One-Click (RFC 8058) when the row has an unsubscribe link. The message's policy
    is POLICY, which smtplib and the .eml folder both use to write it."""
    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = row.subject
    msg["From"] = email_from
    msg["To"] = header_address(row.to_addr)  # IDNA domain; a non-ASCII local part as is (SMTPUTF8 only)
    msg["Date"] = format_datetime(row.created_at)
    msg["Message-ID"] = row.message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    if row.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{row.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(row.text_body)
    msg.add_alternative(row.html_body, subtype="html")
    return msg


# A `token=` query parameter in a link, as written in plain text (`?token=`, `&token=`) and in
# HTML (`&amp;token=`): the value is a secret meant for the mailbox only.
_TOKEN_PARAM = re.compile(r"((?:[?&]|&amp;)token=)[^&\s\"'<>]+")
REDACTED = "[redacted]"


def redact_secrets(text: str | None) -> str | None:
    """`text` with the value of every `token=` link parameter replaced by REDACTED ("…?token=[redacted]").
    None stays None."""
    return None if text is None else _TOKEN_PARAM.sub(lambda m: m.group(1) + REDACTED, text)


def for_display(row: EmailOutbox) -> EmailOutbox:
    """A detached copy of an outbox row for people to look at (/staff/mail), with the secrets of
    every kind redacted (redact_secrets) in both bodies and the List-Unsubscribe link: the
    password-reset, verification and change-of-address tokens (whoever holds one takes the account
    over or confirms an address), and the signed unsubscribe token (it changes the recipient's
    preferences). A secret reaches the recipient's mailbox and nobody else, admins included
    (docs/notifications.md). The row itself is not changed: the worker sends the real message."""
    data = row.model_dump()
    data.update(text_body=redact_secrets(row.text_body), html_body=redact_secrets(row.html_body),
                unsubscribe_url=redact_secrets(row.unsubscribe_url))
    return EmailOutbox(**data)


def _claim(engine: Engine, now: datetime) -> EmailOutbox | None:
    with Session(writer(engine), expire_on_commit=False) as s, s.begin():
        stmt = (select(EmailOutbox).where(EmailOutbox.status == "pending", EmailOutbox.next_attempt_at <= now)
                .order_by(EmailOutbox.next_attempt_at, EmailOutbox.id).limit(1))
        if engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        row = s.exec(stmt).first()
        if row is None:
            return None
        row.status, row.claimed_at, row.attempts = "sending", now, row.attempts + 1
        s.add(row)
        return row


def expire_claims(engine: Engine, now: datetime) -> dict[int, str]:
    """Rows left "sending" by a worker that died: dead, with the reason (see the module docstring).
    Returns outbox id → reason (CRASHED) of each."""
    with Session(writer(engine)) as s, s.begin():
        stale = (EmailOutbox.status == "sending", EmailOutbox.claimed_at < now - CLAIM_LEASE)
        ids = list(s.exec(select(EmailOutbox.id).where(*stale)).all())
        if ids:
            s.exec(update(EmailOutbox).where(EmailOutbox.id.in_(ids), *stale).values(status="dead", last_error=CRASHED))
        return dict.fromkeys(ids, CRASHED)


# Kinds that tell the author about a moderation decision on the post itself: the post being hidden
# is what they report, so they go out whatever its state (docs/notifications.md).
ABOUT_ITS_MODERATION = frozenset({"post_hidden", "post_pending", "post_approved"})
# The link line of templates/email/notification.txt when it points at a post: a question page,
# with `#answer-N` or `#comment-N` for an answer or a comment (moderation.posts.PostRef.url).
_POST_LINK = re.compile(r"https?://\S+?/questions/(\d{1,10})/[^\s#?]*(?:\?\S*?)?(?:#(answer|comment)-(\d{1,10}))?")


def linked_post(row: EmailOutbox) -> tuple[str, int] | None:
    """(post_type, post_id) of the post an instant notification (app/mail/delivery.on_notified) is
    about, read from its link, the last line of the plain text that is nothing but a link to a
    question, answer or comment; None for account mail, digests (built from visible posts only,
    app/mail/digests.py), and notifications about no post (escalations, flags, API keys…). The
    outbox keeps no post column, so the link is what identifies the post."""
    if row.security or row.kind.startswith("digest_") or row.kind in ABOUT_ITS_MODERATION:
        return None
    for line in reversed(row.text_body.splitlines()):
        found = _POST_LINK.fullmatch(line.strip())
        if found:
            qid, post_type, post_id = found.groups()
            return (post_type, int(post_id)) if post_type else ("question", int(qid))
    return None


def post_unavailable(engine: Engine, row: EmailOutbox) -> str | None:
    """Why the instant notification `row` must not be sent, or None: the post it is about
    (linked_post) is deleted, hidden, or in the internal space, for its recipient, by the rule the
    pages use (app/moderation/posts.load with the recipient as viewer: a hidden post still reaches
    its author and moderators, an internal one staff)."""
    found = linked_post(row)
    if found is None:
        return None
    from app.accounts.models import User
    from app.core.errors import NotFound
    from app.moderation import posts

    post_type, post_id = found
    with Session(engine) as s:
        viewer = s.get(User, row.user_id) if row.user_id is not None else None
        try:
            posts.load(s, post_type, post_id, viewer=viewer)
            return None
        except NotFound:
            pass
        try:
            posts.load(s, post_type, post_id, viewer=viewer, include_deleted=True)
            state = "deleted"
        except NotFound:
            state = "deleted, hidden or moved to the internal space"
    return f"not sent: {post_type} {post_id}, which it is about, is {state}, so the recipient may not see it"


def drain(engine: Engine, transport, *, email_from: str, now: datetime | None = None, batch: int = 50,
          after_claim: Callable[[EmailOutbox], None] | None = None) -> SendResult:
    """Send up to `batch` due rows (oldest due first); returns a SendResult whose reasons are those
    stored in each row's `last_error`. `now` is the clock (tests move it); `after_claim` runs
    between claim and SMTP transaction (operators' tracing; unused by the worker)."""
    now = now or utcnow()
    result = SendResult()
    result.dead_reasons.update(expire_claims(engine, now))
    envelope_from = parseaddr(email_from)[1] or email_from
    for _ in range(batch):
        row = _claim(engine, now)
        if row is None:
            break
        if after_claim is not None:
            after_claim(row)
        outcome: dict = {}
        skip = post_unavailable(engine, row)
        try:
            if skip is not None:
                outcome.update(status="skipped", last_error=skip[:500])
                result.skip_reasons[row.id] = outcome["last_error"]
            else:
                message = build_message(row, email_from)
                if isinstance(transport, FolderTransport):
                    outcome["eml_path"] = str(transport.deliver(message, envelope_from, row.to_addr, row_id=row.id,
                                                                kind=row.kind))
                else:
                    transport.deliver(message, envelope_from, row.to_addr)
                outcome.update(status="sent", sent_at=utcnow(), last_error=None)
                result.sent += 1
        except TemporaryFailure as exc:
            if row.attempts >= MAX_ATTEMPTS:
                outcome.update(status="dead", last_error=f"gave up after {row.attempts} tries: {exc}"[:500])
                result.dead_reasons[row.id] = outcome["last_error"]
            else:
                outcome.update(status="pending", last_error=str(exc)[:500],
                               next_attempt_at=now + timedelta(seconds=BACKOFF[row.attempts - 1]))
                result.retry_reasons[row.id] = outcome["last_error"]
        except PermanentFailure as exc:
            outcome.update(status="dead", last_error=f"refused: {exc}"[:500])
            result.dead_reasons[row.id] = outcome["last_error"]
            if exc.bounced:
                _record_bounce(engine, row, str(exc), now)
        with Session(writer(engine)) as s, s.begin():
            s.exec(update(EmailOutbox).where(EmailOutbox.id == row.id, EmailOutbox.status == "sending")
                   .values(**outcome))
    return result


def _record_bounce(engine: Engine, row: EmailOutbox, reason: str, now: datetime) -> None:
    if row.user_id is None:
        return
    from app.accounts.models import User

    with Session(writer(engine)) as s, s.begin():
        user = s.get(User, row.user_id)
        if user is None or user.email_key != row.to_key:
            return  # the account has another address by now
        prefs = s.get(MailSettings, row.user_id) or MailSettings(user_id=row.user_id)
        prefs.bounced_at, prefs.bounce_reason = now, reason[:300]
        s.add(prefs)


def requeue(session: Session, row_id: int, now: datetime | None = None) -> EmailOutbox | None:
    """Staff: send a dead message again (attempts start over)."""
    row = session.get(EmailOutbox, row_id)
    if row is None or row.status != "dead":
        return None
    row.status, row.attempts, row.next_attempt_at, row.claimed_at = "pending", 0, now or utcnow(), None
    session.add(row)
    session.flush()
    return row


def run(engine: Engine, settings, now: datetime | None = None) -> SendResult:
    """One round of the worker's email-send job: until nothing is due (or a failure says wait)."""
    from app.mail import outbox
    from app.mail.transport import transport_for

    outbox.configure(settings)
    transport = transport_for(settings)
    total = SendResult()
    while True:
        r = drain(engine, transport, email_from=settings.email_from, now=now)
        total.add(r)
        if not r.did_work or r.retrying:
            return total
