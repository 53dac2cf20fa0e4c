"""The tag directory (`/tags`): every tag in use with its number of questions, searchable, paged.

Stack Exchange's /tags lists tags by popularity (or by name) with their question counts and a
"filter by tag name" box; Discourse's /tags does the same. Counts are of questions not deleted,
duplicates included (they are still questions carrying the tag), as on the tag's own page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from app.internal.visibility import public_only
from app.questions.models import Question, QuestionTag, Tag
from app.questions.tags import canonical_tag

TAG_SORTS = (("popular", "Popular"), ("name", "Name"))
TAGS_PER_PAGE = 60


@dataclass
class TagCount:
    name: str
    count: int


@dataclass
class TagPage:
    items: list[TagCount]
    total: int  # tags matching the filter, on every page
    page: int  # 1-based
    pages: int


def tag_page(session: Session, *, q: str | None = None, sort: str = "popular", page: int = 1,
             size: int = TAGS_PER_PAGE) -> TagPage:
    """Tags with at least one question, `q` matching part of the name (compared in the tags' own
    normal form), most used first (`sort="popular"`, ties by name) or by name; page is 1-based and
    clamped to the last page."""
    count = func.count(QuestionTag.question_id)
    stmt = (select(Tag.name, count).join(QuestionTag, QuestionTag.tag_id == Tag.id)
            .join(Question, Question.id == QuestionTag.question_id)
            .where(Question.deleted_at.is_(None), Question.hidden_at.is_(None), public_only())  # as the tag's question list
            .group_by(Tag.name))
    needle = canonical_tag(q or "") if q else ""
    if needle:
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Tag.name.like(f"%{escaped}%", escape="\\"))
    total = int(session.exec(select(func.count()).select_from(stmt.subquery())).one())
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    order = (Tag.name,) if sort == "name" else (count.desc(), Tag.name)
    rows = session.exec(stmt.order_by(*order).offset((page - 1) * size).limit(size)).all()
    return TagPage(items=[TagCount(name, int(n)) for name, n in rows], total=total, page=page, pages=pages)


def tag_names(session: Session, prefix: str, *, limit: int = 8) -> list[TagCount]:
    """Existing tags starting with `prefix` (normal form), most used first: suggestions while typing."""
    needle = canonical_tag(prefix or "")
    if not needle:
        return []
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    count = func.count(QuestionTag.question_id)
    rows = session.exec(select(Tag.name, count).join(QuestionTag, QuestionTag.tag_id == Tag.id)
                        .join(Question, Question.id == QuestionTag.question_id)
                        .where(Question.deleted_at.is_(None), Question.hidden_at.is_(None), public_only(),
                               Tag.name.like(f"{escaped}%", escape="\\"))
                        .group_by(Tag.name).order_by(count.desc(), Tag.name).limit(limit)).all()
    return [TagCount(name, int(n)) for name, n in rows]
