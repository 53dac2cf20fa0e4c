"""JSON API: badges (CONTRACT.md: GET /users/{username}/badges; docs/badges.md, docs/api.md).
Thin routes: the rules and reading are in app/badges."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from app.accounts import service as accounts_service
from app.api.schemas import UserOut
from app.badges import policy
from app.badges import service as badges
from app.core.db import SessionDep

router = APIRouter()

Limit = Annotated[int, Query(ge=1, le=100, description="at most this many items (1-100)")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page")]


class BadgeOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    key: str = Field(description="in URLs: /badges/{key}")
    name: str
    class_: Literal["gold", "silver", "bronze"] = Field(alias="class")
    scope: Literal["user", "post", "product"] = Field(description="earned once per user, per post or per product")
    description: str
    rule: str
    source: str = Field(description="where the name and rule come from (Stack Exchange's badges, or ours)")
    url: str = Field(description="the badge's page on the forum: who holds it")
    award_count: int = Field(description="how many times it is held now")

    @classmethod
    def of(cls, b: policy.Badge, count: int) -> "BadgeOut":
        return cls(key=b.key, name=b.name, class_=b.klass, scope=b.scope, description=b.description, rule=b.rule,
                   source=b.source, url=f"/badges/{b.key}", award_count=count)


class AwardPost(BaseModel):
    type: Literal["question", "answer"]
    id: int | None = Field(description="null when the post is no longer visible")
    title: str | None = Field(description="null when the post is no longer visible")
    url: str | None
    visible: bool = Field(description="false once the post is deleted, hidden or internal: id, title and url are null")


class AwardProduct(BaseModel):
    slug: str
    name: str


class AwardOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: int
    badge: str = Field(description="the badge's key")
    name: str
    class_: Literal["gold", "silver", "bronze"] = Field(alias="class")
    description: str
    awarded_at: datetime
    url: str = Field(description="the badge's page on the forum")
    post: AwardPost | None = Field(None, description="the post it was earned for (per-post badges)")
    product: AwardProduct | None = Field(None, description="the product it was earned on (Product Expert)")
    user: UserOut | None = Field(None, description="the holder (in a badge's list of holders)")

    @classmethod
    def of(cls, v: badges.AwardView) -> "AwardOut":
        b = v.badge
        post = AwardPost(type=v.post_type, id=v.post_id, title=v.post_title, url=v.post_url,
                         visible=v.post_visible) if v.post_type else None
        product = AwardProduct(slug=v.product_slug, name=v.product_name) if v.product_slug else None
        return cls(id=v.id, badge=b.key, name=b.name, class_=b.klass, description=b.description,
                   awarded_at=v.awarded_at, url=f"/badges/{b.key}", post=post, product=product,
                   user=UserOut.of(v.user) if v.user is not None else None)


class Counts(BaseModel):
    gold: int
    silver: int
    bronze: int


class UserBadges(BaseModel):
    counts: Counts = Field(description="badges held, by class (Stack Exchange shows these next to names)")
    items: list[AwardOut]
    next_cursor: str | None = None


class BadgeList(BaseModel):
    items: list[BadgeOut]
    next_cursor: str | None = None


class BadgeHolders(BaseModel):
    badge: BadgeOut
    items: list[AwardOut]
    next_cursor: str | None = None


@router.get("/users/{username}/badges", response_model=UserBadges, response_model_by_alias=True, tags=["badges"])
def user_badges(username: str, session: SessionDep, limit: Limit = 30, cursor: Cursor = None) -> UserBadges:
    """The badges a user holds, newest first, each with its class (gold, silver, bronze), what it
    is for, and the post or product it was earned on. Anyone may read it."""
    user = accounts_service.get_by_username(session, username)
    page = badges.for_user(session, user, limit=limit, cursor=cursor)
    tally = badges.tallies(session, [user.id]).get(user.id, badges.Tally())
    return UserBadges(counts=Counts(gold=tally.gold, silver=tally.silver, bronze=tally.bronze),
                      items=[AwardOut.of(v) for v in page.items], next_cursor=page.next_cursor)


@router.get("/badges", response_model=BadgeList, response_model_by_alias=True, tags=["badges"])
def badge_list(session: SessionDep) -> BadgeList:
    """Every badge, with its rule and how many times it is held (one page: the list is short)."""
    counts = badges.award_counts(session)
    return BadgeList(items=[BadgeOut.of(b, counts.get(b.key, 0)) for b in policy.BADGES])


@router.get("/badges/{key}", response_model=BadgeHolders, response_model_by_alias=True, tags=["badges"])
def badge_holders(key: str, session: SessionDep, limit: Limit = 30, cursor: Cursor = None) -> BadgeHolders:
    """One badge and who holds it, most recent award first. 404 for an unknown badge."""
    badge = badges.get_badge(key)
    page = badges.holders_page(session, badge, limit=limit, cursor=cursor)
    return BadgeHolders(badge=BadgeOut.of(badge, badges.award_counts(session).get(badge.key, 0)),
                        items=[AwardOut.of(v) for v in page.items], next_cursor=page.next_cursor)
