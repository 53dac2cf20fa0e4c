"""Following and mentions: who hears about what (docs/notifications.md).

A follow names its target as the API does (product slug, tag name, question id, username) and is
stored by a stable key (product id, tag name, question id, user id). Notifications are written with
app.notifications.service.notify(), so each person's delivery preferences apply.

What notifies whom (never the person who did it):
* a new question: followers of its product (`followed_new_question`), of any of its tags (same
  kind), of its author (`followed_user_post`) — each follower once;
* a new answer: followers of the question (`followed_question_answer`; not the asker, who gets
  `answer_posted`), followers of its author (`followed_user_post`);
* a new comment: the post's author (`comment_posted`);
* `@username` in a question, answer or comment: that person (`mention`), at most
  MENTIONS_PER_POST different people per post, once each; mentions inside code are ignored.
Asking or answering follows the question, unless the user turned `auto_follow` off.
Questions that are not public (a `visibility` other than "public", the staff-only space) notify
no follower.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts.models import User
from app.core.db import utcnow
from app.core.pagination import Page, decode_cursor, encode_cursor
from app.core.errors import NotFound, field_error
from app.follows.models import Follow

TYPES = ("product", "tag", "question", "user")
MENTIONS_PER_POST = 5
_MENTION = re.compile(r"(?<![\w@./-])@([A-Za-z0-9][A-Za-z0-9_-]{2,29})\b")
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)


@dataclass
class Target:
    type: str
    key: str  # stored
    name: str  # as the API names it
    title: str
    url: str


def resolve(session: Session, type_: str, target: str) -> Target:
    """The follow target named `target` (404 when it does not exist, 422 for an unknown type)."""
    from app.products.models import Product
    from app.questions.models import Question, Tag

    target = (str(target) if target is not None else "").strip()
    if type_ not in TYPES:
        raise field_error("type", f"Follow one of: {', '.join(TYPES)}.")
    if not target or len(target) > 64:
        raise field_error("target", "Name what to follow: a product slug, a tag, a question id or a username.")
    if type_ == "product":
        p = session.exec(select(Product).where(Product.slug == target.lower())).first()
        if p is None:
            raise NotFound(f"There is no product {target!r}.")
        return Target("product", str(p.id), p.slug, p.name, f"/products/{p.slug}")
    if type_ == "tag":
        t = session.exec(select(Tag).where(Tag.name == target.lower())).first()
        if t is None:
            raise NotFound(f"There is no tag {target!r}.")
        from app.questions.tags import tag_path

        return Target("tag", t.name, t.name, t.name, tag_path(t.name))
    if type_ == "question":
        if not target.isdigit() or len(target) > 18:
            raise field_error("target", "A question is followed by its id, e.g. 42.")
        q = session.exec(select(Question).where(Question.id == int(target), Question.deleted_at.is_(None))).first()
        if q is None or _hidden(q):
            raise NotFound(f"Question {target} does not exist or was deleted.")
        return Target("question", str(q.id), str(q.id), q.title, f"/questions/{q.id}/{q.slug}")
    u = session.exec(select(User).where(User.username == target.lower())).first()
    if u is None or not u.is_active:
        raise NotFound(f"There is no user called {target!r}.")
    return Target("user", str(u.id), u.username, u.shown_name, f"/users/{u.username}")


def _hidden(question, post=None) -> bool:
    """Whether nobody but staff, moderators or the author may see it yet: a non-public question,
    or a question or answer hidden by moderation (held for review, hidden after flags). Held posts
    reach followers when a moderator approves them (app/moderation/review.py:decide)."""
    return (getattr(question, "visibility", "public") != "public"
            or getattr(question, "hidden_at", None) is not None
            or (post is not None and getattr(post, "hidden_at", None) is not None))


def follow(session: Session, *, actor: User | None, type_: str, target: str,
           now: datetime | None = None) -> tuple[Follow, Target]:
    """Follow a target (idempotent: following again keeps the first follow). Nobody follows themselves."""
    actor = permissions.require_user(actor)
    t = resolve(session, type_, target)
    if t.type == "user" and t.key == str(actor.id):
        raise field_error("target", "You cannot follow yourself.")
    row = _find(session, actor.id, t.type, t.key)
    if row is None:
        row = Follow(user_id=actor.id, target_type=t.type, target_key=t.key, created_at=now or utcnow())
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:  # a concurrent follow of the same target
            row = _find(session, actor.id, t.type, t.key)
    return row, t


def unfollow(session: Session, *, actor: User | None, type_: str, target: str) -> None:
    """Stop following (nothing happens when not following). Open to a suspended member too: they
    must always be able to stop mail (docs/moderation.md)."""
    actor = permissions.require_user(actor, write=False)
    t = resolve(session, type_, target)
    session.exec(delete(Follow).where(Follow.user_id == actor.id, Follow.target_type == t.type,
                                      Follow.target_key == t.key))
    session.flush()


def _find(session: Session, user_id: int, type_: str, key: str) -> Follow | None:
    return session.exec(select(Follow).where(Follow.user_id == user_id, Follow.target_type == type_,
                                             Follow.target_key == key)).first()


def is_following(session: Session, user: User | None, type_: str, key: str | int) -> bool:
    """Whether `user` follows the target with this stored key (see Follow)."""
    return user is not None and _find(session, user.id, type_, str(key)) is not None


def list_follows(session: Session, *, actor: User | None, limit: int | None = None,
                 cursor: str | None = None) -> Page[tuple[Follow, Target]]:
    """The actor's follows, newest first, with their targets (gone targets are left out).

    `limit` None: all of them on one page (the web page); else at most `limit` (1–100, checked by
    the caller) per page, keyset-paged by follow id with the opaque `cursor` of the previous page
    (app.core.pagination). Errors: NotAuthenticated; a malformed cursor is a 422 field error."""
    actor = permissions.require_user(actor, write=False)
    query = select(Follow).where(Follow.user_id == actor.id)
    after = decode_cursor(cursor, 1)
    if after is not None:
        if not isinstance(after[0], int) or isinstance(after[0], bool):
            raise field_error("cursor", "The cursor is not valid for this list; start again from the first page.",
                              "query")
        query = query.where(Follow.id < after[0])
    query = query.order_by(Follow.id.desc())
    rows = session.exec(query.limit(limit + 1) if limit else query).all()
    more = bool(limit) and len(rows) > limit
    rows = rows[:limit] if limit else rows
    out = []
    for row in rows:
        try:
            out.append((row, _target_of(session, row)))
        except NotFound:
            continue
    return Page(out, encode_cursor([rows[-1].id]) if more and rows else None)


def _target_of(session: Session, row: Follow) -> Target:
    from app.products.models import Product

    if row.target_type == "product":
        p = session.get(Product, int(row.target_key))
        if p is None:
            raise NotFound("gone")
        return resolve(session, "product", p.slug)
    if row.target_type == "user":
        u = session.get(User, int(row.target_key))
        if u is None:
            raise NotFound("gone")
        return resolve(session, "user", u.username)
    return resolve(session, row.target_type, row.target_key)


def followers(session: Session, type_: str, keys: list[str]) -> set[int]:
    if not keys:
        return set()
    return set(session.exec(select(Follow.user_id).where(Follow.target_type == type_,
                                                         Follow.target_key.in_(keys))).all())


def auto_follow(session: Session, user: User, question_id: int, now: datetime) -> None:
    """Follow the question one asked or answered, unless the user turned that off."""
    from app.mail.models import MailSettings

    ms = session.get(MailSettings, user.id)
    if ms is not None and not ms.auto_follow:
        return
    if _find(session, user.id, "question", str(question_id)) is None:
        with session.begin_nested():
            session.add(Follow(user_id=user.id, target_type="question", target_key=str(question_id), created_at=now))
            session.flush()


# --- events -------------------------------------------------------------------------------------

def mentioned_users(session: Session, text: str, *, exclude: set[int]) -> list[User]:
    """Active users named `@username` in Markdown `text` (not in code), first MENTIONS_PER_POST."""
    names: list[str] = []
    for m in _MENTION.finditer(_CODE.sub(" ", text or "")):
        name = m.group(1).lower()
        if name not in names:
            names.append(name)
        if len(names) >= MENTIONS_PER_POST * 2:
            break
    if not names:
        return []
    found = {u.username: u for u in session.exec(select(User).where(User.username.in_(names))).all()}
    users = [found[n] for n in names if n in found and found[n].is_active and found[n].id not in exclude]
    return users[:MENTIONS_PER_POST]


def _notify(session, ids, **kw) -> None:
    from app.notifications import service as notifications

    if ids:
        notifications.notify(session, ids, **kw)


def on_question_asked(session: Session, question, actor: User, tags: list[str], now: datetime) -> None:
    """Notify followers of the question's product, tags and author; mentions; auto-follow."""
    auto_follow(session, actor, question.id, now)
    if _hidden(question):
        return
    url = f"/questions/{question.id}/{question.slug}"
    mentioned = mentioned_users(session, question.body, exclude={actor.id})
    _notify(session, [u.id for u in mentioned], kind="mention", url=url, now=now,
            text=f"{actor.shown_name} mentioned you in “{question.title}”.")
    done = {actor.id} | {u.id for u in mentioned}
    topic = followers(session, "tag", tags)
    if question.product_id is not None:
        topic |= followers(session, "product", [str(question.product_id)])
    topic -= done
    _notify(session, topic, kind="followed_new_question", url=url, now=now,
            text=f"New question: “{question.title}”.")
    people = followers(session, "user", [str(actor.id)]) - done - topic
    _notify(session, people, kind="followed_user_post", url=url, now=now,
            text=f"{actor.shown_name} asked “{question.title}”.")


def on_answer_posted(session: Session, question, answer, actor: User, now: datetime) -> None:
    """Notify followers of the question and of the answerer; mentions; auto-follow."""
    auto_follow(session, actor, question.id, now)
    if _hidden(question, answer):
        return
    url = f"/questions/{question.id}/{question.slug}#answer-{answer.id}"
    mentioned = mentioned_users(session, answer.body, exclude={actor.id})
    _notify(session, [u.id for u in mentioned], kind="mention", url=url, now=now,
            text=f"{actor.shown_name} mentioned you in an answer to “{question.title}”.")
    done = {actor.id, question.author_id} | {u.id for u in mentioned}
    watching = followers(session, "question", [str(question.id)]) - done
    _notify(session, watching, kind="followed_question_answer", url=url, now=now,
            text=f"{actor.shown_name} answered “{question.title}”.")
    people = followers(session, "user", [str(actor.id)]) - done - watching
    _notify(session, people, kind="followed_user_post", url=url, now=now,
            text=f"{actor.shown_name} answered “{question.title}”.")


def on_comment_added(session: Session, question, comment, post_author_id: int, actor: User, now: datetime) -> None:
    """Notify the post's author and anyone mentioned."""
    if _hidden(question):
        return
    anchor = f"#comment-{comment.id}"
    url = f"/questions/{question.id}/{question.slug}{anchor}"
    mentioned = mentioned_users(session, comment.body, exclude={actor.id})
    _notify(session, [u.id for u in mentioned], kind="mention", url=url, now=now,
            text=f"{actor.shown_name} mentioned you in a comment on “{question.title}”.")
    if post_author_id != actor.id and post_author_id not in {u.id for u in mentioned}:
        _notify(session, [post_author_id], kind="comment_posted", url=url, now=now,
                text=f"{actor.shown_name} commented on your post in “{question.title}”.")


def feed(session: Session, *, actor: User | None, limit: int = 30):
    """Questions with activity from what the actor follows, most recently active first."""
    from app.questions.models import Question, QuestionTag, Tag

    actor = permissions.require_user(actor)
    rows = session.exec(select(Follow).where(Follow.user_id == actor.id)).all()
    by = {t: [r.target_key for r in rows if r.target_type == t] for t in TYPES}
    if not rows:
        return []
    conds = []
    if by["question"]:
        conds.append(Question.id.in_([int(k) for k in by["question"]]))
    if by["product"]:
        conds.append(Question.product_id.in_([int(k) for k in by["product"]]))
    if by["user"]:
        conds.append(Question.author_id.in_([int(k) for k in by["user"]]))
    if by["tag"]:
        conds.append(Question.id.in_(select(QuestionTag.question_id).join(Tag, Tag.id == QuestionTag.tag_id)
                                     .where(Tag.name.in_(by["tag"]))))
    stmt = (select(Question).where(Question.deleted_at.is_(None), Question.hidden_at.is_(None),
                                   Question.visibility == "public", or_(*conds))  # docs/internal.md
            .order_by(Question.last_activity_at.desc(), Question.id.desc()).limit(limit))
    return [q for q in session.exec(stmt).all() if not _hidden(q)]
