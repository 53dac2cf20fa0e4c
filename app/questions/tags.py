"""Free tags: normalised, at most five per question."""

from __future__ import annotations

import re
import unicodedata

from app.core.errors import field_error
from app.questions.schemas import TAG_MAX_LEN, TAGS_MAX

_INVALID = re.compile(r"[^a-z0-9+#.\-]")


def normalise_tag(raw: str) -> str:
    tag = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode().strip().lower()
    tag = re.sub(r"[\s_]+", "-", tag)
    tag = _INVALID.sub("", tag)
    tag = re.sub(r"-{2,}", "-", tag).strip("-.")
    return tag


def normalise_tags(raw: list[str] | str | None) -> list[str]:
    """Lowercase, hyphenated, de-duplicated, order kept. Accepts a list or a comma/space separated string."""
    if raw is None:
        return []
    items = re.split(r"[,\s]+", raw) if isinstance(raw, str) else [t for item in raw for t in re.split(r",", str(item))]
    tags: list[str] = []
    for item in items:
        tag = normalise_tag(item)
        if not tag:
            continue
        if len(tag) > TAG_MAX_LEN:
            raise field_error("tags", f"The tag {tag[:40]!r} is longer than {TAG_MAX_LEN} characters.")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise field_error("tags", f"Use at most {TAGS_MAX} tags; you gave {len(tags)}.")
    return tags


def slugify(title: str, max_len: int = 80) -> str:
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if len(slug) > max_len:
        slug = slug[:max_len].rsplit("-", 1)[0] or slug[:max_len]
    return slug or "question"
