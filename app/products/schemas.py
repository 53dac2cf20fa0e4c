from __future__ import annotations

import re
from typing import Annotated

from pydantic import ConfigDict, Field, field_validator

from app.core.inputs import JsonBody
from app.core.text import NoDirectionControls, NoStackedMarks, Visible

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class ProductCreate(JsonBody):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    slug: str = Field(min_length=2, max_length=60, description="lowercase letters, digits and hyphens")
    name: Annotated[str, Visible(2), NoDirectionControls(), NoStackedMarks()] = Field(min_length=2, max_length=120)
    description: str = Field(default="", max_length=2000)

    @field_validator("slug")
    @classmethod
    def _slug(cls, v: str) -> str:
        v = v.lower()
        if not SLUG_RE.match(v):
            raise ValueError("use lowercase letters, digits and single hyphens, e.g. 'aero-14'")
        return v


class ProductUpdate(JsonBody):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: Annotated[str | None, Visible(2), NoDirectionControls(), NoStackedMarks()] = Field(default=None, min_length=2,
                                                                               max_length=120)
    description: str | None = Field(default=None, max_length=2000)
    # A new member's first question or answer about the product waits for review (docs/moderation.md).
    first_posts_review: bool | None = None
