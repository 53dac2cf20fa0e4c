"""Response shapes of the JSON API (CONTRACT.md), built from the shared read models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, computed_field

from app.core.ids import BodyId
from app.core.inputs import JsonBody
from app.core.text import OptionalText, Visible
from app.questions.tags import tag_path


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    reputation: int
    role: Literal["customer", "staff", "moderator", "admin"]
    created_at: datetime

    @classmethod
    def of(cls, u) -> "UserOut":
        display = getattr(u, "shown_name", None) or getattr(u, "display_name", "") or u.username
        return cls(id=u.id, username=u.username, display_name=display, reputation=u.reputation, role=u.role,
                   created_at=u.created_at)


class MeOut(UserOut):
    email: str


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the token expires")


class ProductOut(BaseModel):
    slug: str
    name: str
    description: str
    question_count: int
    url: str


class QuestionSummaryOut(BaseModel):
    id: int
    title: str
    url: str
    score: int
    answer_count: int
    has_accepted_answer: bool
    tags: list[str]
    product: str | None
    status: Literal["open", "closed", "duplicate"]
    created_at: datetime
    last_activity_at: datetime
    author: UserOut
    excerpt: str
    me_too_count: int = Field(default=0, description="customers who said \"I have this problem too\"")
    visibility: Literal["public", "internal"] = Field(
        default="public", description="\"internal\": in the staff-only space (only staff, moderators and admins "
                                      "ever receive such a question; docs/internal.md)")

    @computed_field(description="the forum page of each tag, in the order of `tags`, percent-encoded "
                                "(`c#` → `/tags/c%23`); relative to the forum's address")
    @property
    def tag_urls(self) -> list[str]:
        return [tag_path(t) for t in self.tags]

    @classmethod
    def of(cls, v) -> "QuestionSummaryOut":
        return cls(id=v.id, title=v.title, url=v.url, score=v.score, answer_count=v.answer_count,
                   has_accepted_answer=v.has_accepted_answer, tags=v.tags, product=v.product, status=v.status,
                   created_at=v.created_at, last_activity_at=v.last_activity_at, author=UserOut.of(v.author),
                   excerpt=v.excerpt, me_too_count=v.me_too_count,
                   visibility=getattr(v, "visibility", "public") or "public")


class CommentOut(BaseModel):
    id: int
    body: str
    body_html: str
    author: UserOut
    created_at: datetime

    @classmethod
    def of(cls, c) -> "CommentOut":
        return cls(id=c.id, body=c.body, body_html=c.body_html, author=UserOut.of(c.author), created_at=c.created_at)


class QuestionRefOut(BaseModel):
    id: int
    title: str
    url: str


QUOTED_IN = ("how many posts quote this one (`[quote=answer:N]` … `[/quote]`) that the caller may see: not deleted, "
             "not hidden; docs/quoting.md")
BODY_HTML = ("`body` rendered and sanitised; a quote block of a post everyone may see opens with its credit line "
             "(`<p class=\"quote-credit\">` author and post links), a quote of a deleted, hidden or internal post "
             "shows only the quoted text (docs/quoting.md)")


class AnswerOut(BaseModel):
    id: int
    question_id: int
    body: str = Field(description="Markdown as written, quote blocks included")
    body_html: str = Field(description=BODY_HTML)
    author: UserOut
    score: int
    is_accepted: bool
    is_staff: bool = Field(description="written by a staff member: shown with a badge, never ranked higher for it")
    created_at: datetime
    updated_at: datetime | None
    my_vote: int = Field(description="the caller's vote: 1, -1 or 0")
    comments: list[CommentOut]
    can_edit: bool = Field(description="the caller may edit directly")
    can_suggest_edit: bool = Field(description="the caller may suggest an edit for review")
    can_delete: bool
    can_vote: bool = Field(description="the caller may vote up")
    can_downvote: bool
    can_comment: bool
    can_accept: bool
    source_url: str | None = Field(default=None, description="where an imported answer came from (CC BY-SA)")
    source_author: str | None = None
    license: str | None = Field(default=None, description=(
        "an imported post's licence, e.g. \"CC BY-SA 4.0\": the archive's ContentLicense, else Stack Exchange's "
        "date rule; null for posts written here"))
    community_wiki: bool = Field(default=False, description="an imported community-wiki post: votes on it give "
                                                            "its owner no reputation")
    merged_from: QuestionRefOut | None = Field(
        default=None, description="the duplicate question this answer was written on, when a merge moved it here")
    accepted_on_duplicate: bool = Field(
        default=False, description="accepted by the asker of the duplicate it was moved from (not on this question)")
    hidden: str | None = Field(default=None, description="why it is hidden (only its author and moderators see it)")
    can_flag: bool = False
    quoted_in: int = Field(default=0, description=QUOTED_IN)

    @classmethod
    def of(cls, a) -> "AnswerOut":
        return cls(id=a.id, question_id=a.question_id, body=a.body, body_html=a.body_html, author=UserOut.of(a.author),
                   score=a.score, is_accepted=a.is_accepted, is_staff=a.is_staff, created_at=a.created_at,
                   updated_at=a.updated_at, my_vote=a.my_vote, comments=[CommentOut.of(c) for c in a.comments],
                   can_edit=a.can_edit, can_suggest_edit=a.can_suggest_edit, can_delete=a.can_delete,
                   can_vote=a.can_vote, can_downvote=a.can_downvote, can_comment=a.can_comment,
                   can_accept=a.can_accept, source_url=a.source_url, source_author=a.source_author,
                   license=a.license, community_wiki=a.community_wiki,
                   merged_from=QuestionRefOut(id=a.merged_from.id, title=a.merged_from.title, url=a.merged_from.url)
                   if a.merged_from else None,
                   accepted_on_duplicate=a.accepted_on_duplicate, hidden=a.hidden, can_flag=a.can_flag,
                   quoted_in=a.quoted_in)


class QuestionOut(QuestionSummaryOut):
    body: str = Field(description="Markdown as written, quote blocks included")
    body_html: str = Field(description=BODY_HTML)
    accepted_answer_id: int | None
    duplicate_of: int | None
    updated_at: datetime | None
    my_vote: int
    answers: list[AnswerOut] = Field(description="in the platform's ranked order, best first")
    comments: list[CommentOut]
    can_edit: bool = Field(description="what the caller may do: flags instead of dead buttons")
    can_suggest_edit: bool
    can_delete: bool
    can_vote: bool
    can_downvote: bool
    can_answer: bool
    can_comment: bool
    can_accept: bool
    can_close: bool
    source_url: str | None = Field(default=None, description="where an imported question came from (CC BY-SA)")
    source_author: str | None = None
    license: str | None = Field(default=None, description=(
        "an imported post's licence, e.g. \"CC BY-SA 4.0\": the archive's ContentLicense, else Stack Exchange's "
        "date rule; null for posts written here"))
    community_wiki: bool = Field(default=False, description="an imported community-wiki post: votes on it give "
                                                            "its owner no reputation")
    duplicates: list[int] = Field(default_factory=list, description="questions closed as duplicates of this one")
    merged_into_at: datetime | None = Field(
        default=None, description="when this duplicate's answers were moved to its original (`duplicate_of`)")
    can_merge: bool = Field(default=False, description="the caller may merge this duplicate into its original")
    hidden: str | None = Field(default=None, description=(
        "why it is hidden (flags, spam check, first-posts review): only its author and moderators see it"))
    locked: bool = Field(default=False, description="no new answers, comments or votes")
    protected: bool = Field(default=False, description="members below 10 reputation cannot answer")
    can_flag: bool = False
    quoted_in: int = Field(default=0, description=QUOTED_IN)

    @classmethod
    def of(cls, v) -> "QuestionOut":  # type: ignore[override]
        base = QuestionSummaryOut.of(v).model_dump()
        return cls(**base, body=v.body, body_html=v.body_html, accepted_answer_id=v.accepted_answer_id,
                   duplicate_of=v.duplicate_of.id if v.duplicate_of else None, updated_at=v.updated_at,
                   my_vote=v.my_vote, answers=[AnswerOut.of(a) for a in v.answers],
                   comments=[CommentOut.of(c) for c in v.comments], can_edit=v.can_edit,
                   can_suggest_edit=v.can_suggest_edit, can_delete=v.can_delete, can_vote=v.can_vote,
                   can_downvote=v.can_downvote, can_answer=v.can_answer, can_comment=v.can_comment,
                   can_accept=v.can_accept, can_close=v.can_close, source_url=v.source_url,
                   source_author=v.source_author, license=v.license, community_wiki=v.community_wiki,
                   duplicates=[d.id for d in v.duplicates],
                   merged_into_at=v.merged_into_at, can_merge=v.can_merge, hidden=v.hidden, locked=v.locked,
                   protected=v.protected, can_flag=v.can_flag, quoted_in=v.quoted_in)


class QuestionList(BaseModel):
    items: list[QuestionSummaryOut]
    next_cursor: str | None


class ProductList(BaseModel):
    items: list[ProductOut]
    next_cursor: str | None = None


class VoteOut(BaseModel):
    score: int
    my_vote: int


class RevisionOut(BaseModel):
    number: int
    author: UserOut
    created_at: datetime
    title: str | None
    body: str
    tags: list[str] | None
    comment: str


class RevisionList(BaseModel):
    items: list[RevisionOut]
    next_cursor: str | None = None


class TagOut(BaseModel):
    name: str
    question_count: int

    @computed_field(description="the tag's forum page, percent-encoded (`c#` → `/tags/c%23`)")
    @property
    def url(self) -> str:
        return tag_path(self.name)


class TagList(BaseModel):
    items: list[TagOut]
    next_cursor: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict] | None = None


class PrivilegeOut(BaseModel):
    key: str
    title: str
    description: str
    reputation: int = Field(description="reputation needed")
    earned: bool


class MeWithPrivileges(MeOut):
    privileges: list[PrivilegeOut]


class ReputationEventOut(BaseModel):
    id: int
    kind: str
    label: str
    amount: int = Field(description="points that count (after the daily cap); 0 once reversed")
    base_amount: int
    post_type: str
    post_id: int | None = Field(description="the post the event is about; null when the caller cannot open it "
                                            "(deleted, hidden by moderation, internal): see post_visible")
    post_visible: bool = Field(description="whether the caller can open the post; false: the points still count, "
                                           "but the post is not named")
    occurred_at: datetime
    reversed: bool
    reversed_at: datetime | None
    reversal_reason: str | None


class ReputationTimeline(BaseModel):
    reputation: int
    items: list[ReputationEventOut]
    next_cursor: str | None


class TopContributorOut(BaseModel):
    user: UserOut
    points: int


class TopContributors(BaseModel):
    period: Literal["month", "30d", "all"]
    items: list[TopContributorOut]


class SuggestedEditIn(JsonBody):
    title: Annotated[str | None, Visible(15)] = Field(default=None, min_length=15, max_length=150)
    body: Annotated[str | None, Visible(20)] = Field(default=None, min_length=20, max_length=30_000)
    tags: list[str] | None = Field(default=None, max_length=20)
    comment: Annotated[str, OptionalText()] = Field(default="", max_length=300)


class SuggestedEditOut(BaseModel):
    id: int
    post_type: str
    post_id: int
    author: UserOut
    title: str | None
    body: str
    tags: list[str] | None
    comment: str
    status: Literal["pending", "approved", "rejected"]
    reviewer: UserOut | None
    review_note: str
    created_at: datetime
    reviewed_at: datetime | None


class SuggestedEditList(BaseModel):
    items: list[SuggestedEditOut]
    next_cursor: str | None = None


class ReviewIn(JsonBody):
    note: str = Field(default="", max_length=300)


class VotingReportOut(BaseModel):
    id: int
    kind: Literal["serial_voting", "sock_puppet"]
    voter: UserOut
    author: UserOut
    votes: int
    reversed_votes: int
    detail: str
    created_at: datetime
    resolved_at: datetime | None


class VotingReportList(BaseModel):
    items: list[VotingReportOut]
    next_cursor: str | None = None


class DetectionOut(BaseModel):
    patterns: int
    votes_reversed: int


class CloseAsDuplicateIn(JsonBody):
    original_id: BodyId = Field(description="the canonical question")


class MergeIn(JsonBody):
    original_id: BodyId | None = Field(
        default=None, description="the canonical question; needed only when the question is not closed as a "
                                  "duplicate yet (then it is closed against this one first), else it must match")
