"""Free tags in every script: at most five per question, each kept as typed or refused, never mangled.

The rule extends Stack Exchange's tag rules (tags of at most 35 characters made of `a-z 0-9 + # - .`,
https://stackoverflow.com/help/tagging and https://meta.stackexchange.com/q/22624) to every script:

- Normal form: Unicode NFKC, then casefold (Unicode's caseless matching, §3.13 of the standard),
  so `Größe`, `GRÖSSE` and `grösse` are one tag, `ｃ＃` is `c#`, `Роутер` is `роутер`. Surrounding
  whitespace is trimmed; whitespace and `_` inside become `-` (`Dock Pro` → `dock-pro`), as Stack
  Exchange does; every dash (Unicode category Pd) is the hyphen-minus `-`.
- Characters: letters (L*), combining marks (M*), decimal digits (Nd) of every script, and `# + . -`;
  zero-width joiner and non-joiner (U+200D, U+200C) only between two letters, as Persian and Indic
  words need them (UAX #31, A1/A2). Nothing else: no other punctuation, symbols or invisible
  characters.
- Places: a tag starts with a letter or digit, or with `.` before one (`.net`); `#` and `+` follow
  a letter, a digit or another `#`/`+` (`c#`, `c++`, `c++11`, `f#`); `-` and `.` join two parts
  (`usb-c`, `node.js`, `asp.net-core`, `c#-4.0`, and `-.` as in `vb-.net`), never end a tag or
  come twice in a row.
- Length: 1 to 35 characters (code points) after normalising: Stack Exchange's limit, and the
  `tags.name` column.

A tag that breaks the rule is refused with a message naming it; it is never changed into another
word or dropped. Tags stored before this rule (ASCII only, other letters dropped) stay as they were.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote

from app.core.errors import field_error
from app.core.text import MAX_STACKED_MARKS, stacked_marks_problem
from app.questions.schemas import TAG_MAX_LEN, TAGS_MAX

_JOINERS = {"\u200c", "\u200d"}
# Each character's role in the rule: W a letter, mark or digit; J a joiner; the four marks stand
# for themselves; anything else is "!" (never allowed).
_SHAPE = re.compile(r"\.?W(?:[W#+]|J+W)*(?:(?:-|\.|-\.)W(?:[W#+]|J+W)*)*")
_SPACES = re.compile(r"[\s_]+")
# Commas between tags: ASCII (and full-width, after NFKC), ideographic U+3001, Arabic U+060C.
_COMMAS = re.compile("[,\u3001\u060c]")
_LIST_SEPARATORS = re.compile("[,\u3001\u060c\\s]+")


def _role(ch: str) -> str:
    if ch in "#+.-":
        return ch
    if ch in _JOINERS:
        return "J"
    category = unicodedata.category(ch)
    if category[0] in "LM" or category == "Nd":
        return "M" if category[0] == "M" else "W"
    return "!"


def canonical_tag(raw: str) -> str:
    """The normal form of a typed tag (NFKC, casefold, inner spaces and `_` as `-`), unchecked.

    Used to look tags up (`/tags/{name}`, `?tag=` filters): a name that breaks the rule simply
    matches no stored tag."""
    text = unicodedata.normalize("NFKC", raw or "").casefold().strip()
    text = _SPACES.sub("-", text)
    text = "".join("-" if unicodedata.category(ch) == "Pd" else ch for ch in text)
    return unicodedata.normalize("NFKC", text)


normalise_tag = canonical_tag  # the name the search service imports


def tag_problem(tag: str) -> str | None:
    """Why a normalised tag cannot be kept (a sentence fragment), or None when it follows the rule."""
    if not tag:
        return "is empty"
    if len(tag) > TAG_MAX_LEN:
        return f"is longer than {TAG_MAX_LEN} characters"
    roles = "".join(_role(ch) for ch in tag)
    bad = next((ch for ch, role in zip(tag, roles, strict=True) if role == "!"), None)
    if bad is not None:
        name = unicodedata.name(bad, "")
        shown = f"“{bad}” " if bad.isprintable() and not bad.isspace() else ""
        return (f"contains {shown}(U+{ord(bad):04X}{' ' + name if name else ''}); a tag holds only letters, "
                "digits, “#”, “+”, “.” and “-”")
    if stacked_marks_problem(tag) is not None:
        return f"has more than {MAX_STACKED_MARKS} combining marks on one character (stacked accents draw over the lines around them)"
    # A mark may follow a letter, digit or another mark, as a letter does.
    shape = roles.replace("M", "W")
    if roles.lstrip(".").startswith("M") or not _SHAPE.fullmatch(shape):
        return ("puts # + . - or a joiner where tags do not have them: start with a letter or digit "
                "(or “.” before one, as in .net), put # and + after a letter or digit (c#, c++), and "
                "use - and . only between two parts (usb-c, node.js)")
    return None


def check_tag(raw: str) -> str:
    """The normalised tag, or InvalidInput (422, field `tags`) naming the typed tag and the reason."""
    tag = canonical_tag(raw)
    problem = tag_problem(tag)
    if problem is not None:
        raise field_error("tags", f"The tag “{raw.strip()[:60]}” cannot be used: it {problem}.")
    return tag


def normalise_tags(raw: list[str] | str | None, *, keep: Iterable[str] = ()) -> list[str]:
    """Normalised, de-duplicated tags, order kept, at most TAGS_MAX; blank items are skipped.

    Accepts a list (items may hold commas) or one comma/space separated string; the commas of
    other scripts (`，` `、` `،`) separate too. A tag that breaks
    the rule (see the module docstring) raises InvalidInput naming it: nothing is silently dropped.
    `keep`: the post's current tags, accepted as they are, so that a tag stored under the earlier
    rule (e.g. `#wifi`) does not block an edit that leaves it in place."""
    if raw is None:
        return []
    kept = set(keep)
    if isinstance(raw, str):
        items = _LIST_SEPARATORS.split(unicodedata.normalize("NFKC", raw))
    else:
        items = [t for item in raw for t in _COMMAS.split(unicodedata.normalize("NFKC", str(item)))]
    tags: list[str] = []
    for item in items:
        if not item.strip():
            continue
        tag = canonical_tag(item) if canonical_tag(item) in kept else check_tag(item)
        if tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise field_error("tags", f"Use at most {TAGS_MAX} tags; you gave {len(tags)}.")
    return tags


def tag_path(name: str) -> str:
    """The forum page of a tag, percent-encoded: `c#` → `/tags/c%23`, `роутер` → `/tags/%D1%80…`.

    Every character outside RFC 3986's unreserved set is encoded, so `#`, `+`, `?` and `/` never
    end or split the path."""
    return "/tags/" + quote(name, safe="")


def slugify(title: str, max_len: int = 80) -> str:
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if len(slug) > max_len:
        slug = slug[:max_len].rsplit("-", 1)[0] or slug[:max_len]
    return slug or "question"
