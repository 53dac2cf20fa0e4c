"""Visible characters: what minimum lengths count.

A title of twenty zero-width spaces is twenty characters long and shows as nothing. Minimum lengths
(titles, bodies, answers, comments, escalation reasons) therefore count only characters that show.
Not counted: control (Cc) and format characters (Cf: zero-width space and joiners, soft hyphen,
direction marks, word joiner, BOM, tag characters), the other default-ignorable or blank-looking
characters that Unicode classes as letters, marks or symbols (DerivedCoreProperties.txt,
Default_Ignorable_Code_Point, listed below; plus the Braille blank U+2800, which draws nothing),
and whitespace (Unicode White_Space), except that the whitespace between two words counts as the
one space a reader sees: padding with spaces counts nothing, and "Here is the fix." stays 16.
Combining marks (categories Mn, Mc, Me) count when they sit on a visible character ("नमस्ते" is 6),
and not when nothing precedes them to sit on: twenty U+0301 COMBINING ACUTE ACCENTs alone show
nothing and count 0.
"""

from __future__ import annotations

import unicodedata
from pydantic import AfterValidator

from app.core.errors import field_error

# Default_Ignorable_Code_Point outside Cf/Cc (Unicode 15.1 DerivedCoreProperties.txt), and U+2800.
_BLANK_RANGES = (
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x115F, 0x1160),  # HANGUL CHOSEONG / JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ / AA
    (0x180B, 0x180F),  # MONGOLIAN FREE VARIATION SELECTORS
    (0x2800, 0x2800),  # BRAILLE PATTERN BLANK
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFE00, 0xFE0F),  # VARIATION SELECTORS
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0xE0100, 0xE01EF),  # VARIATION SELECTORS SUPPLEMENT
)


def is_visible(ch: str) -> bool:
    """Whether one character shows on the page (see the module docstring for the rule)."""
    if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp"):
        return False
    code = ord(ch)
    return not any(lo <= code <= hi for lo, hi in _BLANK_RANGES)


def visible_length(text: str) -> int:
    """The number of characters of `text` that show (code points; see is_visible), where the
    whitespace between two words counts as one space and whitespace anywhere else (at the ends,
    in runs, around invisible characters) not at all: "Wi-Fi  drops\u200b " counts 11."""
    count, gap, on_base = 0, False, False
    for ch in text:
        if is_visible(ch):
            if not on_base and unicodedata.category(ch).startswith("M"):
                continue  # a combining mark with no character to sit on shows nothing
            count += 1 + (gap and count > 0)
            gap, on_base = False, True
        else:
            on_base = False
            if ch.isspace():
                gap = True
    return count


def is_blank(text: str | None) -> bool:
    """Whether a free text shows nothing: None, "", or only whitespace and characters that do not
    show (visible_length 0: zero-width spaces and joiners, U+2060, BOM, bidi marks, NBSP, combining
    marks with nothing to sit on...). The one emptiness test for required texts; `text.strip()`
    alone lets "\u200b" through."""
    return text is None or visible_length(text) == 0


def require_text(field: str, text: str | None, message: str, where: str = "body") -> str:
    """A required free text (a reason, a resolution, a note): `text` without surrounding whitespace,
    or InvalidInput (422 at [where, field], `message`) when is_blank. For services that take the
    text as an argument; pydantic schemas use Visible(n) instead."""
    if is_blank(text):
        raise field_error(field, message, where)
    return text.strip()


def optional_text(text: str | None) -> str:
    """An optional free text (an edit summary, a note): trimmed, and "" when is_blank, so that a
    text of invisible characters is stored as no text rather than shown as an empty one."""
    return "" if is_blank(text) else text.strip()


def OptionalText():  # noqa: N802 - used like a type: Annotated[str, OptionalText()]
    """A pydantic validator for optional free texts (edit summaries): optional_text, so invisible
    characters alone become ""."""
    return AfterValidator(lambda v: v if v is None else optional_text(v))


def char_label(ch: str) -> str:
    """One character as a person can name it: "U+200B ZERO WIDTH SPACE" (the Unicode name; just
    the code point for unnamed ones such as controls)."""
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X} {name}" if name else f"U+{ord(ch):04X}"


def first_invisible(text: str) -> str | None:
    """The first character of `text` that does not show and is not a plain space (see is_visible):
    format characters (U+200B, U+200D, U+2060, U+FEFF, bidi marks), controls, NBSP and the other
    Unicode spaces, the blank-looking letters of _BLANK_RANGES; None when there is none."""
    for ch in text:
        if ch != " " and not is_visible(ch):
            return ch
    return None


def _at_least(minimum: int):
    def check(value: str | None) -> str | None:
        if value is None:
            return value
        n = visible_length(value)
        if n == 0:
            raise ValueError("this has no visible characters: spaces and invisible characters "
                             "(such as zero-width spaces) do not count")
        if n < minimum:
            raise ValueError(f"use at least {minimum} visible characters (you have {n}); spaces and invisible "
                             "characters do not count")
        return value
    return check


def Visible(minimum: int):  # noqa: N802 - used like a type: Annotated[str, Visible(15)]
    """A pydantic validator: at least `minimum` visible characters (ValueError → a 422 naming the field).

    Keep Field(min_length=...) beside it for the schema; this counts only what shows."""
    return AfterValidator(_at_least(minimum))


# The explicit directional embeddings, overrides and isolates of the Unicode Bidirectional
# Algorithm (UAX #9, 2.1–2.4: LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI). U+202E RIGHT-TO-LEFT
# OVERRIDE shows "fix the wifi" as "ifiw eht xif", and the text after it on the same line too
# (the list row, the search result); text in right-to-left scripts needs none of them to show
# right. The marks LRM, RLM and ALM (U+200E, U+200F, U+061C) act on one position only and stay
# allowed.
DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def direction_control_problem(text: str) -> str | None:
    """Why `text` cannot be a one-line name or title (the first character of DIRECTION_CONTROLS
    in it, as a sentence), or None when it has none."""
    for ch in text:
        if ch in DIRECTION_CONTROLS:
            return (f"remove the text-direction control character U+{ord(ch):04X}: it reverses or "
                    "reorders how the text after it shows in lists and search results (text in "
                    "right-to-left languages shows right without it)")
    return None


def _refusing(problem_of):
    """A pydantic AfterValidator raising ValueError (→ a 422 naming the field) with problem_of's text."""
    def check(value: str | None) -> str | None:
        problem = None if value is None else problem_of(value)
        if problem:
            raise ValueError(problem)
        return value
    return AfterValidator(check)


def NoDirectionControls():  # noqa: N802 - used like a type: Annotated[str, NoDirectionControls()]
    """A pydantic validator for one-line texts shown among others (question titles): refuses the
    characters of DIRECTION_CONTROLS (ValueError → a 422 naming the field)."""
    return _refusing(direction_control_problem)


# Stacked combining marks ("Zalgo text"): a base character followed by dozens of nonspacing or
# enclosing marks (Unicode categories Mn, Me) draws them above and below its line, over the header,
# navigation and neighbouring rows. No script needs more than four in a row on one character in a
# name or title (Vietnamese uses two, Hebrew with points and cantillation up to four), so one-line
# texts shown among others (display names, titles, tags, saved-view, API key and product names)
# refuse a run of more than MAX_STACKED_MARKS. Spacing marks (Mc, e.g. Devanagari vowel signs)
# take room on the line and are not counted. Bodies (Markdown posts, comments) keep them; their box
# clips what they draw (app/web/static/groundswell.css, .body).
MAX_STACKED_MARKS = 4


def stacked_marks_problem(text: str) -> str | None:
    """Why `text` cannot be a one-line name or title (a run of more than MAX_STACKED_MARKS
    consecutive Mn/Me combining marks, as a sentence), or None."""
    run = 0
    for ch in text:
        run = run + 1 if unicodedata.category(ch) in ("Mn", "Me") else 0
        if run > MAX_STACKED_MARKS:
            return (f"remove the stacked accents: at most {MAX_STACKED_MARKS} combining marks may sit on "
                    "one character, as more draw over the lines above and below (\"Zalgo text\")")
    return None


def NoStackedMarks():  # noqa: N802 - used like a type: Annotated[str, NoStackedMarks()]
    """A pydantic validator for one-line texts shown among others (titles, names): refuses a run of
    more than MAX_STACKED_MARKS combining marks (stacked_marks_problem; ValueError → a 422 naming
    the field)."""
    return _refusing(stacked_marks_problem)


def single_line_problem(text: str) -> str | None:
    """Why `text` cannot be a one-line name or title shown among others (direction controls,
    stacked combining marks), or None: for services that check names themselves."""
    return direction_control_problem(text) or stacked_marks_problem(text)


def sentence(problem: str) -> str:
    """A problem fragment of this module ("remove the ...") as a form message ("Remove the ....")."""
    return problem[:1].upper() + problem[1:] + "."


def require_single_line(field: str, text: str) -> str:
    """`text` unchanged, or InvalidInput (422, naming `field`) when single_line_problem refuses it."""
    if (problem := single_line_problem(text)) is not None:
        raise field_error(field, sentence(problem))
    return text


# Invisible characters a one-line text never needs: zero-width space, word joiner, the invisible
# math operators, the byte-order mark (also "zero-width no-break space"). ZWNJ and ZWJ (U+200C,
# U+200D) are kept between two visible characters: Persian, Indic scripts and emoji sequences
# need them there, and nowhere else do they do anything.
_ZERO_WIDTH = frozenset("\u200b\u2060\u2061\u2062\u2063\u2064\ufeff")
_JOINERS = frozenset("\u200c\u200d")


def clean_single_line(text: str | None) -> str:
    """`text` as one line for a name or title shown among others (display names, question and
    revision titles, saved-view, API key and product names, notice texts): Unicode NFC; every
    whitespace character (newlines, tabs, U+2028/2029, no-break and ideographic spaces) a plain
    space; C0 and C1 control characters (category Cc) dropped; the direction embeddings,
    overrides and isolates of DIRECTION_CONTROLS dropped (LRM/RLM/ALM stay); zero-width spaces,
    word joiners and BOMs dropped, ZWNJ/ZWJ kept only between two visible characters; runs of
    spaces collapsed to one; no space at either end. None gives "". Idempotent. Stacked
    combining marks are not cleaned but refused (stacked_marks_problem): cutting them would
    change letters. Tag names are not cleaned with this (docs/content-rules.md)."""
    if not text:
        return ""
    kept: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        if ch.isspace():
            kept.append(" ")
        elif unicodedata.category(ch) == "Cc" or ch in DIRECTION_CONTROLS or ch in _ZERO_WIDTH:
            continue
        else:
            kept.append(ch)
    out: list[str] = []
    for i, ch in enumerate(kept):
        if ch in _JOINERS:
            before = out[-1] if out else " "
            after = next((c for c in kept[i + 1:] if c not in _JOINERS), " ")
            if before == " " or before in _JOINERS or after == " " or not is_visible(after):
                continue
        out.append(ch)
    return " ".join("".join(out).split())
