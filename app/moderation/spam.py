"""Spam defence: limits for new and unverified accounts, and a pluggable spam check called on
every new question, answer, comment and profile (docs/moderation.md).

The check is a chain: the built-in heuristic scorer always runs; an optional external checker
speaking Akismet's `comment-check` protocol runs when `GROUNDSWELL_SPAM_CHECK_URL` is set.
Decision (`decide`):
- external check answers "true" (spam), or the heuristic score ≥ SPAM_REVIEW_SCORE → the post is
  saved but hidden, waiting in the review queue (`hidden_reason = "spam_check"`), author told;
- external check unreachable, slow (timeout), or answering anything else → the heuristic
  decides alone, and a post by a limited (new or unverified) member waits for review, since
  the second opinion is missing; an established member's post is published. Either way the
  post is stored: never lost, never a 500.
"""

from __future__ import annotations

import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts.models import User
from app.core.db import utcnow
from app.core.errors import RateLimited, field_error
from app.moderation import policy

log = logging.getLogger("groundswell.spam")

_LINK = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>()\[\]]+|\]\((?:https?://)?[^)\s]+\)|<a\s[^>]*href=")
_DOMAIN = re.compile(r"(?i)(?:https?://|www\.)([a-z0-9.-]+\.[a-z]{2,})")
_PHONE = re.compile(r"(?:\+|00)\d[\d\s().-]{8,}\d")
# Phrases common in the spam that support forums receive (Stack Exchange's and Discourse's
# public spam-fighting notes: pharma, casino, loans, fake support numbers, crypto recovery).
SPAM_PHRASES = (
    "viagra", "cialis", "casino", "betting tips", "payday loan", "cheap loans", "buy followers",
    "crypto recovery", "recover your stolen", "hack any account", "escort", "weight loss pills",
    "work from home and earn", "customer care number", "helpline number", "toll free number",
    "whatsapp me", "telegram @", "seo services", "backlinks",
)


def count_links(text: str) -> int:
    """Links in Markdown or HTML text: bare URLs, www. addresses, [text](url), <a href>."""
    return len(_LINK.findall(text or ""))


@dataclass
class Content:
    """What is checked: kind is question, answer, comment or profile."""

    kind: str
    author: User
    text: str
    title: str = ""
    ip: str | None = None
    user_agent: str | None = None


@dataclass
class Verdict:
    spam: bool
    score: float
    reasons: list[str] = field(default_factory=list)
    source: str = "heuristic"


class SpamChecker(Protocol):
    """A spam check: a Verdict, or None when it could not decide (unreachable, slow, unclear)."""

    def check(self, content: Content) -> Verdict | None: ...


class HeuristicChecker:
    """The built-in scorer: 0..1 from known spam phrases (0.4 each), phone numbers (0.3), many
    links (0.15 per link beyond 2), one domain repeated (0.2), a shouted title (0.2), and a link
    from an account younger than a day (0.2). Spam at SPAM_REVIEW_SCORE."""

    def check(self, content: Content) -> Verdict:
        text = f"{content.title}\n{content.text}"
        low = text.lower()
        score, reasons = 0.0, []
        for phrase in SPAM_PHRASES:
            if phrase in low:
                score += 0.4
                reasons.append(f"phrase “{phrase}”")
        if _PHONE.search(text):
            score += 0.3
            reasons.append("phone number")
        links = count_links(text)
        if links > 2:
            score += 0.15 * (links - 2)
            reasons.append(f"{links} links")
        domains = [d.lower() for d in _DOMAIN.findall(text)]
        if len(domains) >= 2 and len(set(domains)) == 1:
            score += 0.2
            reasons.append(f"the same domain {len(domains)} times")
        letters = [c for c in content.title if c.isalpha()]
        if len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.8:
            score += 0.2
            reasons.append("shouted title")
        created = content.author.created_at
        if links and created is not None and utcnow() - _aware(created) < timedelta(days=1):
            score += 0.2
            reasons.append("links from a day-old account")
        score = min(1.0, round(score, 3))
        return Verdict(score >= policy.SPAM_REVIEW_SCORE, score, reasons, "heuristic")


class AkismetChecker:
    """An Akismet-compatible HTTP check: POST `{url}/1.1/comment-check` (form fields `api_key`,
    `blog`, `user_ip`, `user_agent`, `comment_type`, `comment_author`, `comment_author_email`,
    `comment_content`); the body "true" means spam, "false" not. Anything else, an HTTP error,
    a connection failure or no answer within `timeout` seconds: None (could not decide)."""

    def __init__(self, url: str, key: str, *, site: str, timeout: float = policy.SPAM_CHECK_TIMEOUT):
        self.endpoint = url.rstrip("/") + "/1.1/comment-check"
        self.key, self.site, self.timeout = key, site, timeout

    def check(self, content: Content) -> Verdict | None:
        form = {
            "api_key": self.key, "blog": self.site, "user_ip": content.ip or "127.0.0.1",
            "user_agent": content.user_agent or "groundswell",
            "comment_type": {"question": "forum-post", "answer": "reply", "comment": "comment"}.get(content.kind, "signup"),
            "comment_author": content.author.username, "comment_author_email": content.author.email,
            "comment_content": f"{content.title}\n\n{content.text}".strip(),
        }
        # The standard library's client (one small POST with a timeout needs no dependency).
        request = urllib.request.Request(self.endpoint, data=urllib.parse.urlencode(form).encode(),
                                         headers={"User-Agent": "Groundswell/1 | Akismet-compatible"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as r:  # noqa: S310 - configured URL
                status, text = r.status, r.read(200).decode("utf-8", "replace")
        except (urllib.error.URLError, OSError, ValueError) as exc:  # refused, DNS, timeout, HTTP 4xx/5xx, bad URL
            log.warning("spam check unavailable: %s", type(exc).__name__)
            return None
        answer = text.strip().lower()
        if status == 200 and answer in ("true", "false"):
            spam = answer == "true"
            return Verdict(spam, 1.0 if spam else 0.0, ["external check"] if spam else [], "external")
        log.warning("spam check answered %s %r", status, text[:80])
        return None


@dataclass
class _Config:
    external: SpamChecker | None = None
    new_account_limits: bool = False


_config = _Config()
_heuristic = HeuristicChecker()


def configure(settings) -> None:
    """Set the checkers from the settings (create_app calls this): the external check when
    `spam_check_url` is set; new-account limits when rate limits are on."""
    url = getattr(settings, "spam_check_url", None)
    key = getattr(settings, "spam_check_key", None)
    _config.external = AkismetChecker(url, key.get_secret_value() if key else "", site=settings.base_url,
                                      timeout=getattr(settings, "spam_check_timeout", policy.SPAM_CHECK_TIMEOUT)) if url else None
    _config.new_account_limits = settings.rate_limits == "on"


def reset() -> None:
    """Back to the defaults of a process that has not configured anything (heuristic only, no
    new-account limits): what the tests restore after each test."""
    _config.external, _config.new_account_limits = None, False


def set_external(checker: SpamChecker | None) -> None:
    _config.external = checker


def set_new_account_limits(on: bool) -> None:
    _config.new_account_limits = on


@dataclass
class Decision:
    publish: bool
    verdict: Verdict
    external_failed: bool = False

    @property
    def hidden_reason(self) -> str | None:
        return None if self.publish else "spam_check"


def decide(content: Content) -> Decision:
    """Run the chain (module docstring) and say whether the post is published or waits for review."""
    if content.author.can_moderate:
        return Decision(True, Verdict(False, 0.0, [], "moderator"))
    verdict = _heuristic.check(content)
    failed = False
    if _config.external is not None:
        external = _config.external.check(content)
        if external is None:
            failed = True
            verdict.source = "heuristic (external check unavailable)"
        elif external.spam:
            verdict = Verdict(True, max(verdict.score, external.score), verdict.reasons + external.reasons, "external")
        else:
            verdict.source = "heuristic + external"
    publish = not verdict.spam and not (failed and is_limited(content.author))
    return Decision(publish, verdict, failed)


# --- new and unverified accounts ----------------------------------------------------------------

def _aware(when: datetime) -> datetime:
    from datetime import UTC

    return when if when.tzinfo else when.replace(tzinfo=UTC)


def is_unverified(user: User) -> bool:
    """An account whose e-mail address is recorded as not yet confirmed: a self-service sign-up
    whose verification link (app/mail/accounts.py) was not followed. Accounts with no mail record
    (made by `groundswell create-user`, the demo or an import) do not count as unverified."""
    from sqlalchemy.orm import object_session

    from app.mail.models import MailSettings

    session = object_session(user)
    if session is None or user.id is None:
        return False
    row = session.get(MailSettings, user.id)
    return row is not None and row.email_verified_at is None


def is_limited(user: User) -> bool:
    """New (reputation below NEW_MEMBER_REPUTATION) or unverified members, not moderators."""
    return not user.can_moderate and (user.reputation < policy.NEW_MEMBER_REPUTATION or is_unverified(user))


def _post_times(session: Session, user: User, since: datetime) -> tuple[int, datetime | None, int]:
    from app.answers.models import Answer
    from app.questions.models import Question

    recent, oldest, total = 0, None, 0
    for model in (Question, Answer):
        n, first = session.exec(select(func.count(), func.min(model.created_at)).where(
            model.author_id == user.id, model.created_at >= since)).one()
        recent += int(n)
        if first is not None and (oldest is None or _aware(first) < oldest):
            oldest = _aware(first)
        total += int(session.exec(select(func.count()).select_from(model).where(model.author_id == user.id)).one())
    return recent, oldest, total


def require_within_limits(session: Session, *, actor: User, kind: str, text: str, now: datetime | None = None) -> None:
    """New and unverified members: NEW_POSTS_PER_HOUR questions and answers per hour (429 with
    Retry-After), NEW_LINKS_PER_POST links per post, none in their first post (422 on `body`).
    Comments count links only. Off while rate limits are off (benchmarks, tests that say so)."""
    if not _config.new_account_limits or not is_limited(actor):
        return
    now = now or utcnow()
    links = count_links(text)
    recent, oldest, total = _post_times(session, actor, now - timedelta(hours=1))
    if kind in ("question", "answer"):
        if recent >= policy.NEW_POSTS_PER_HOUR:
            wait = int((oldest + timedelta(hours=1) - now).total_seconds()) + 1 if oldest else 3600
            raise RateLimited(f"New members can post {policy.NEW_POSTS_PER_HOUR} questions and answers an hour; "
                              "this limit goes once you have earned a little reputation.", wait)
        if total == 0 and links > policy.NEW_FIRST_POST_LINKS:
            raise field_error("body", "Your first post cannot contain links (a rule against spam for new members); "
                                      "describe the page instead, or add the link once this post is up.")
    if links > policy.NEW_LINKS_PER_POST:
        raise field_error("body", f"New members can put at most {policy.NEW_LINKS_PER_POST} links in a post "
                                  f"(this one has {links}).")


def screen(session: Session, *, actor: User, kind: str, text: str, title: str = "") -> str | None:
    """Limits, then the spam check: returns the reason the new post must wait hidden ("spam_check")
    or None to publish. Raises for a limit."""
    require_within_limits(session, actor=actor, kind=kind, text=f"{title}\n{text}")
    decision = decide(Content(kind=kind, author=actor, text=text, title=title))
    if not decision.publish:
        log.info("post held for review: %s score=%s %s", decision.verdict.source, decision.verdict.score,
                 ", ".join(decision.verdict.reasons))
    return decision.hidden_reason


def check_profile(user: User, *, text: str) -> Decision:
    """The spam check on a profile (name, about text): callers hide or refuse what is held."""
    return decide(Content(kind="profile", author=user, text=text, title=user.display_name or user.username))


# --- the sign-up form: honeypot and timing ------------------------------------------------------

HONEYPOT_FIELD = "website"  # a field people never see (hidden from sight and from screen readers)
TIMING_FIELD = "form_started"


def _serializer(secret: str):
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(secret, salt="groundswell-signup-form")


def form_started_token(secret: str, now: datetime | None = None) -> str:
    """A signed "this form was shown at" stamp for the sign-up form (itsdangerous), in whole
    milliseconds: the same length at every moment (a float's digits vary, and with them the
    page's length, so HEAD and GET disagreed)."""
    from datetime import UTC

    return _serializer(secret).dumps({"ms": int((now or utcnow()).astimezone(UTC).timestamp() * 1000)})


def signup_form_refusal(form: dict[str, str], *, secret: str, min_seconds: float,
                        now: datetime | None = None) -> str | None:
    """Why a sign-up form looks automated (a message for the form), or None.

    The honeypot field must be empty. With `min_seconds` > 0, the signed stamp from the form
    must be present, unforged, at least `min_seconds` and at most SIGNUP_FORM_MAX_AGE old
    (people take a few seconds to fill three fields; scripts post at once)."""
    from datetime import UTC

    from itsdangerous import BadSignature

    if form.get(HONEYPOT_FIELD, "").strip():
        return "This sign-up looked automated, so no account was created. Leave the hidden “website” field empty."
    if min_seconds <= 0:
        return None
    try:
        stamp = _serializer(secret).loads(form.get(TIMING_FIELD, ""))
        started = int(stamp["ms"]) / 1000 if "ms" in stamp else float(stamp["t"])  # "t": forms shown before
    except (BadSignature, KeyError, TypeError, ValueError):
        return "This form is out of date: check the fields and send it again."
    elapsed = (now or utcnow()).astimezone(UTC).timestamp() - started
    if elapsed > policy.SIGNUP_FORM_MAX_AGE.total_seconds():
        return "This form is out of date: check the fields and send it again."
    if elapsed < min_seconds:
        return "That was quicker than a person can type: check the fields and send the form again."
    return None


def signup_refusal(*, username: str, email: str, display_name: str = "") -> str | None:
    """The spam check on a new profile (sign-up on the forum or the API): a refusal message when
    the scorer or the external check calls it spam, else None. An unavailable external check
    never refuses a sign-up (new accounts are limited anyway, above)."""
    profile = User(username=username, email=email, display_name=display_name, created_at=utcnow())
    verdict = _heuristic.check(Content(kind="profile", author=profile, text=f"{username} {display_name}".strip()))
    if not verdict.spam and _config.external is not None:
        external = _config.external.check(Content(kind="profile", author=profile, text=display_name or username))
        if external is not None and external.spam:
            verdict = external
    if verdict.spam:
        log.info("sign-up refused as spam: %s %s", verdict.source, ", ".join(verdict.reasons))
        return "This sign-up looks like spam to our checks, so no account was created."
    return None
