"""The one base class of every JSON request body the API takes (docs/api.md, "Request bodies").

`JsonBody` models are strict and closed:

* **strict**: a value must already have the field's JSON type. `true` is not the id 1, `1.0` and
  `"1"` are not the integer 1, `1` is not the string "1" nor the boolean true. Lax pydantic
  coerced all of these, so `{"original_id": true}` closed a question as a duplicate of question 1.
* **closed** (`extra="forbid"`): a field the model does not have is refused, so a misspelt field
  (`"titel"`) is a 422 naming it instead of being dropped while the request "succeeds".

Both are 422 problems whose `errors[].loc` names the field (`["body", "original_id"]`, types
`int_type`, `extra_forbidden`, ...), as for any other invalid input (app/core/problems.py).

FastAPI decodes the JSON first and validates the decoded value in pydantic's Python mode, where
strict mode takes a datetime, UUID or Enum only as that Python object, never as a string. The
body models therefore use JSON-native types only (str, int, bool, lists, dicts; a choice of
strings is a `Literal`); a field that must take an ISO datetime or a UUID from JSON marks itself
`Field(strict=False)` and is then parsed from its string as before. Services and web forms that
build these models from Python values pass the right types (app/core/ids.parse_id for ids).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class JsonBody(BaseModel):
    """Base class of API request bodies: strict types, unknown fields refused (see the module)."""

    model_config = ConfigDict(strict=True, extra="forbid")


def exact_int(value: Any) -> Any:
    """A BeforeValidator for int choices (`Annotated[Literal[-1, 0, 1], BeforeValidator(exact_int)]`):
    pydantic matches a Literal by equality even in strict mode, so `true` and `1.0` would pass as 1;
    anything but an int (bool excluded) is refused here first, as an `int_type` error."""
    if type(value) is not int:
        from pydantic_core import PydanticCustomError

        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value
