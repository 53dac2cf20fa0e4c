"""Input shapes for questions, answers and comments, with the documented limits.

Minimum lengths count visible characters only (app/core/text.py): whitespace, zero-width and other
invisible characters do not count."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field, field_validator

from app.core.ids import BodyId
from app.core.inputs import JsonBody, exact_int
from app.core.text import NoDirectionControls, NoStackedMarks, OptionalText, Visible

TITLE_MIN, TITLE_MAX = 15, 150
BODY_MIN, BODY_MAX = 20, 30_000
ANSWER_MIN, ANSWER_MAX = 20, 30_000
COMMENT_MIN, COMMENT_MAX = 2, 600
TAGS_MAX, TAG_MAX_LEN = 5, 35


class _Strict(JsonBody):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")


class QuestionCreate(_Strict):
    title: Annotated[str, Visible(TITLE_MIN), NoDirectionControls(), NoStackedMarks()] = Field(min_length=TITLE_MIN,
                                                                            max_length=TITLE_MAX)
    body: Annotated[str, Visible(BODY_MIN)] = Field(min_length=BODY_MIN, max_length=BODY_MAX, description="Markdown")
    tags: list[str] = Field(default_factory=list, max_length=TAGS_MAX * 4)
    product: str | None = Field(default=None, max_length=60, description="product slug, or null")
    dismissed_suggestions: list[BodyId] = Field(
        default_factory=list, max_length=10,
        description="ids of similar questions the asker was shown (GET /questions/similar) and passed over: "
                    "staff see what did not help")
    visibility: Literal["public", "internal"] = Field(
        default="public",
        description="\"internal\": the staff-only space (staff, moderators, admins; 403 for anyone else). "
                    "An internal question does not exist for customers and anonymous visitors: 404 on every "
                    "route, absent from every list, search, suggestion, sitemap, feed and notification")

    @field_validator("product")
    @classmethod
    def _blank_product(cls, v: str | None) -> str | None:
        return v or None


class QuestionUpdate(_Strict):
    title: Annotated[str | None, Visible(TITLE_MIN), NoDirectionControls(), NoStackedMarks()] = Field(
        default=None, min_length=TITLE_MIN, max_length=TITLE_MAX)
    body: Annotated[str | None, Visible(BODY_MIN)] = Field(default=None, min_length=BODY_MIN, max_length=BODY_MAX)
    tags: list[str] | None = Field(default=None, max_length=TAGS_MAX * 4)
    product: str | None = Field(default=None, max_length=60)
    comment: Annotated[str, OptionalText()] = Field(default="", max_length=300,
                                                    description="edit summary, shown on the revisions page")


class AnswerCreate(_Strict):
    body: Annotated[str, Visible(ANSWER_MIN)] = Field(min_length=ANSWER_MIN, max_length=ANSWER_MAX,
                                                      description="Markdown")


class AnswerUpdate(_Strict):
    body: Annotated[str, Visible(ANSWER_MIN)] = Field(min_length=ANSWER_MIN, max_length=ANSWER_MAX)
    comment: Annotated[str, OptionalText()] = Field(default="", max_length=300)


class CommentCreate(_Strict):
    body: Annotated[str, Visible(COMMENT_MIN)] = Field(min_length=COMMENT_MIN, max_length=COMMENT_MAX)


class VoteIn(_Strict):
    # Exactly the JSON integers -1, 0, 1: a Literal matches by equality, so true and 1.0 would pass.
    value: Annotated[Literal[-1, 0, 1], BeforeValidator(exact_int)]


class AcceptIn(_Strict):
    answer_id: BodyId


ListSort = Literal["newest", "active", "votes", "unanswered"]
