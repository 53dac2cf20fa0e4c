"""Who may see the internal space, and the filters every query path uses (issue 18).

An internal question (`questions.visibility == "internal"`) and everything on it (answers,
comments, votes, revisions, flags, "me too" marks, escalations, links) exists only for staff,
moderators and admins (`User.can_moderate`). For everyone else it does not exist: services raise
NotFound as for a deleted post, and lists, counts, search, suggestions, the sitemap, feeds,
notifications, e-mail and webhooks leave it out.

Functions other features call (names stable for the merge):
- `can_see_internal(viewer)`: may this person see the internal space at all?
- `is_internal(question)`: is this question (ORM object, row or anything with `visibility`) internal?
- `may_see(viewer, question)`: the per-object check (True for every public question).
- `public_only(model=Question)`: the SQL condition "public questions only" for public lists.
- `visible_questions(viewer, model=Question)`: public only, or everything for staff.
"""

from __future__ import annotations

PUBLIC = "public"
INTERNAL = "internal"
VISIBILITIES = (PUBLIC, INTERNAL)
BADGE = "Internal — staff only"


def can_see_internal(viewer) -> bool:
    """Staff, moderators and admins (`User.can_moderate`, active accounts) see the internal space;
    nobody else (customers, anonymous visitors). A request made with an API key acts as the key's
    owner only when the key has the "internal" scope (app/accounts/deps.py marks such users)."""
    if viewer is None or not getattr(viewer, "is_active", True) or not getattr(viewer, "can_moderate", False):
        return False
    key_scopes = getattr(viewer, "_key_scopes", None)
    return key_scopes is None or "internal" in key_scopes


def is_internal(question) -> bool:
    """Whether `question` (an ORM Question, a mapping row with "visibility", or None) is internal."""
    if question is None:
        return False
    value = question.get("visibility") if isinstance(question, dict) or hasattr(question, "keys") \
        else getattr(question, "visibility", PUBLIC)
    return (value or PUBLIC) != PUBLIC


def may_see(viewer, question) -> bool:
    """The per-object rule: every public question; an internal one only for `can_see_internal`."""
    return not is_internal(question) or can_see_internal(viewer)


def public_only(model=None):
    """SQL condition: the question (`model`: Question or an alias/table with a `visibility`
    column; default Question) is public. Use it in every list or count that anyone may read."""
    if model is None:
        from app.questions.models import Question as model
    column = model.c.visibility if hasattr(model, "c") else model.visibility
    return column == PUBLIC


def visible_questions(viewer, model=None):
    """SQL condition for lists that `viewer` reads: every question for staff, public ones otherwise."""
    from sqlalchemy import true

    return true() if can_see_internal(viewer) else public_only(model)
