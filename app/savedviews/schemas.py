"""The shapes a saved view is created with (API and forum form alike: app/savedviews/service.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from app.core.inputs import JsonBody

NAME_MAX = 60
BREACHING_HOURS_MAX = 720  # 30 days: the longest service-level target (policy tiers) fits
ViewSort = Literal["newest", "active", "votes"]
EscalationFilter = Literal["open", "claimed", "waiting", "handed_off", "resolved", "active"]


class ViewFilters(JsonBody):
    """Every part is optional; a question must meet all the parts given. The last three are for
    staff only (they read the escalation queue): a customer using them gets 403."""

    model_config = ConfigDict(extra="forbid")

    product: str | None = Field(default=None, max_length=60, description="product slug")
    tag: str | None = Field(default=None, max_length=35, description="tag name")
    unanswered: bool = Field(default=False, description="no answer yet")
    unsolved: bool = Field(default=False, description="no accepted answer")
    has_me_too: bool = Field(default=False, description="at least one “I have this problem too”")
    escalation_status: EscalationFilter | None = Field(
        default=None, description="staff only: an escalation of the question has this status (active = unresolved)")
    breaching_within_hours: int | None = Field(
        default=None, ge=1, le=BREACHING_HOURS_MAX,
        description=f"staff only: an escalation whose clock runs is due within this many hours (1..{BREACHING_HOURS_MAX}), "
                    "breached ones included")
    assigned_to_me: bool = Field(default=False, description="staff only: an unresolved escalation is assigned to "
                                                            "whoever reads the view")

    @property
    def staff_only(self) -> bool:
        return bool(self.escalation_status or self.breaching_within_hours is not None or self.assigned_to_me)


class ViewCreate(JsonBody):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=NAME_MAX, description="shown as the column's heading")
    filters: ViewFilters = Field(default_factory=ViewFilters)
    sort: ViewSort = Field(default="newest", description="order of the items, as the question lists")
    shared: bool = Field(default=False, description="staff only: the staff team may read it and copy it")
