"""Ids as the database can hold them: the one place that bounds every id the API and the forum
take, in paths, queries and bodies (lists included).

Primary keys are PostgreSQL `integer` columns (SQLite would take any 64-bit number), so an id
outside 1..2^31-1 cannot exist; refusing it as invalid input (422) keeps both databases
answering alike instead of PostgreSQL failing with "integer out of range" (a 500).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BeforeValidator, Field, Strict
from pydantic_core import PydanticCustomError

from app.core.db import MAX_ID

ID_RANGE = f"1..{MAX_ID}"

# In a JSON body (a field or the items of a list of ids): a JSON integer only. Strict even outside
# a JsonBody model (app/core/inputs.py): `true`, `1.0` and `"1"` are not ids (lax pydantic read
# `true` as question 1).
BodyId = Annotated[int, Strict(), Field(ge=1, le=MAX_ID, description=f"an id ({ID_RANGE})")]


def _digits_only(value: Any) -> Any:
    """A path or query id is written in ASCII digits and nothing else: pydantic's lax int also took
    "3.0", "+3", " 3" and "3_000" for question 3 (and 3000), so one question had many addresses."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise PydanticCustomError("int_digits", "Must be a whole number written in digits (0-9) only.")
    return value


# In a path (`/questions/{question_id}`) and in a query (`?answer_id=`).
PathId = Annotated[int, Path(ge=1, le=MAX_ID), BeforeValidator(_digits_only)]
QueryId = Annotated[int, Query(ge=1, le=MAX_ID), BeforeValidator(_digits_only)]


def is_id(value: Any) -> bool:
    """True for an int (not a bool) that a row's id can be: for values decoded from cursors and forms."""
    return type(value) is int and 1 <= value <= MAX_ID


def parse_id(text: str | None) -> int | None:
    """A form field's id ("42", " 42 ") or None when it is not one (empty, not ASCII digits, out of
    range): forms refuse or ignore it, never pass it to the database."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    value = int(text)
    return value if is_id(value) else None
