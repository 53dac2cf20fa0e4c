"""Who an account is: normalised usernames and e-mail addresses, look-alike keys, reserved names.

Rules (docs/operations.md, "Accounts and sign-in"):

* A **username** is compared after Unicode NFKC (full-width ``ａｌｉｃｅ`` is ``alice``), with
  format characters (Unicode category Cf: zero-width spaces and joiners, bidi marks) removed,
  surrounding whitespace dropped and lower-cased. Stored usernames are ASCII ``[a-z0-9_-]``.
  A *new* username holding an invisible character is refused, naming it (UserCreate in
  app/accounts/schemas.py), never stripped: the account gets the name that was typed. Sign-in
  still strips them, so a pasted ``alice\u200b`` finds ``alice``.
* An **e-mail address** is stored NFKC-normalised, without format characters, lower-cased.
  Its **key** (``users.email_key``, unique) is a look-alike skeleton in the spirit of Unicode
  TS #39: accents dropped (NFKD, no combining marks) and every character that the Unicode
  confusables table maps to an ASCII look-alike replaced by it (Cyrillic ``а`` -> ``a``), using
  the maintained table of the ``confusable_homoglyphs`` package. Two addresses with the same key
  are the same address: a look-alike never becomes a second owner of an address.
* **Reserved names** (``admin``, ``staff``, ``moderator``, ``support``, ``groundswell``, the site
  name's words and a few more in RESERVED_WORDS) cannot be chosen at sign-up, nor can decorated
  or look-alike variants of them: the name is compared after mapping digits and letters that pass
  for each other (``0``->``o``, ``1``/``l``->``i``, ``3``->``e``, ``4``/``@``->``a``, ``5``->``s``,
  ``7``->``t``, ``rn``->``m``, ``vv``->``w``); it is refused when one of its ``_``/``-``-separated
  parts is a reserved word, or when it starts or ends with a reserved word of five letters or more
  (``support-team``, ``Admin_``, ``adm1n``, ``kestrelhelp``; ``badminton`` stays free). Staff
  create such accounts with ``groundswell create-user``.
* **System names** (SYSTEM_NAME_PREFIXES: ``deleted-<id>``, ``deleted-<site>``, ``deleted-user``
  and their look-alikes) are what the site gives deleted and placeholder accounts; nobody may take
  one, not even staff with ``create-user``.
* A username's **look-alike key** (``users.username_key``, indexed) is the same skeleton as for
  reserved names, with every run of ``_`` and ``-`` read as one ``_`` and none at the ends:
  ``raj-builds``, ``raj__builds``, ``_raj_builds`` and ``raj_bui1ds`` all pass for ``raj_builds``.
  A new account whose key another account has is refused (409), so nobody can pass for a known
  member (the kind of the e-mail look-alikes above).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from app.core.text import char_label, clean_single_line, sentence, stacked_marks_problem

# Words that imply authority or speak for the site (OWASP ASVS 2.x / common practice for forums).
RESERVED_WORDS = frozenset({
    "admin", "administrator", "root", "sysop", "staff", "moderator", "mod", "mods", "support",
    "helpdesk", "official", "security", "system", "groundswell", "webmaster", "postmaster",
    "abuse", "noreply", "everyone",
})

_SPACE = re.compile(r"\s+")


def strip_format_chars(text: str) -> str:
    """Drop Unicode format characters (category Cf: U+200B zero-width space, U+200D joiner, U+FEFF,
    bidi controls...): invisible, so never a meaningful difference between two identities."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def normalise_username(raw: str) -> str:
    """The username as it is stored and compared: NFKC, no format characters, trimmed, lower-case."""
    return strip_format_chars(unicodedata.normalize("NFKC", raw or "")).strip().lower()


def normalise_email(raw: str) -> str:
    """The e-mail address as it is stored: NFKC, no format characters, trimmed, lower-case.

    The whole address is lower-cased (domains are case-insensitive, RFC 5321 section 2.4; local
    parts are case-insensitive at every provider that matters, and two accounts differing only by
    the case of the local part would be a look-alike)."""
    return strip_format_chars(unicodedata.normalize("NFKC", raw or "")).strip().lower()


@lru_cache(maxsize=4096)
def _ascii_lookalike(char: str) -> str:
    from confusable_homoglyphs import confusables

    for glyph in confusables.confusables_data.get(char, ()):
        candidate = glyph.get("c", "")
        if candidate and candidate.isascii():
            return candidate.lower()
    return char


def email_key(email: str) -> str:
    """The look-alike key of an address (see the module docstring): ``pаypal@exаmple.com`` with
    Cyrillic ``а``, ``ali\u200bce@example.com`` and ``Alíce@Example.com`` all have the key of
    ``alice@example.com`` (the last one: accents dropped). Pure function of the text; at most 254
    characters in, about as many out."""
    text = normalise_email(email)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "".join(c if c.isascii() else _ascii_lookalike(c) for c in text).lower()


def sign_in_identity(raw: str) -> tuple[str, str]:
    """What a sign-in form's "username or e-mail" field names: ("email", key) or ("username", name).

    Whitespace anywhere is dropped (neither can contain any), so ``"   alice"`` and ``"alice "``
    are ``alice``."""
    text = _SPACE.sub("", strip_format_chars(unicodedata.normalize("NFKC", raw or "")))
    if "@" in text:
        return "email", email_key(text)
    return "username", text.lower()


# --- reserved names -----------------------------------------------------------------------------

_LEET = str.maketrans({"0": "o", "1": "i", "l": "i", "!": "i", "|": "i", "3": "e", "4": "a", "@": "a",
                       "5": "s", "$": "s", "7": "t", "8": "b", "9": "g"})


def _name_skeleton(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().translate(_LEET)
    return text.replace("rn", "m").replace("vv", "w")


_SEPARATORS = re.compile(r"[_\-]+")


def username_key(username: str) -> str:
    """The look-alike key of a username (see the module docstring): `Raj-Bui1ds` → `raj_buiids`."""
    return _SEPARATORS.sub("_", _name_skeleton(normalise_username(username))).strip("_")


def reserved_words(site_name: str = "") -> frozenset[str]:
    """RESERVED_WORDS plus the words (3+ letters) of the configured site name, as skeletons."""
    words = set(RESERVED_WORDS) | {w for w in re.split(r"[^a-z0-9]+", site_name.lower()) if len(w) >= 3}
    return frozenset(_name_skeleton(w) for w in words)


def reserved_reason(username: str, site_name: str = "") -> str | None:
    """Why a username may not be chosen at sign-up, or None when it is free to take."""
    skeleton = _name_skeleton(username)
    words = reserved_words(site_name)
    parts = [p for p in re.split(r"[_\-]+", skeleton) if p]
    joined = "".join(parts)
    for word in words:
        if word in parts or joined == word or (len(word) >= 5 and (joined.startswith(word) or joined.endswith(word))):
            return (f"The username {username!r} is reserved: names that suggest staff or the site itself "
                    "cannot be chosen. Choose another.")
    return None


# Names the system itself gives accounts: `deleted-<id>` (a deleted account, app/accounts/lifecycle.py),
# `deleted-<site>` (the importer's placeholder author, app/importer/stackexchange.py) and
# `deleted-user` (the author shown for a missing one, app/questions/views.py). Compared by
# look-alike (0/o, 1/l…, as for reserved names), so `Deleted_7`, `de1eted-7` and `deleted7` are too.
SYSTEM_NAME_PREFIXES = ("deleted",)


def system_name_reason(username: str) -> str | None:
    """Why a username may not be taken by anyone (sign-up, `create-user`, any rename): it has the
    form of a name the system generates (SYSTEM_NAME_PREFIXES followed by nothing, `-`, `_` or a
    digit), so taking it would pass for, or collide with, a system-made account. None when free."""
    name = normalise_username(username).strip("_-")
    for prefix in SYSTEM_NAME_PREFIXES:
        head, tail = name[:len(prefix)], name[len(prefix):]
        if _name_skeleton(head) == _name_skeleton(prefix) and (not tail or tail[0] in "_-0123456789"):
            return (f"The username {username!r} is reserved: names starting with {prefix!r} are the ones the site "
                    "gives deleted and imported accounts. Choose another.")
    return None


# --- display names ------------------------------------------------------------------------------

# Words a member who is not staff may not use in a display name (whole words, any case, look-alike
# spellings too: "5upp0rt"); the site's own name is refused only in (…) or […], where it reads as
# an affiliation ("Lena (Kestrel)"). Rule documented in docs/moderation.md, "Display names".
AUTHORITY_WORDS = frozenset({"staff", "support", "moderator", "moderators", "mod", "mods", "admin",
                             "administrator", "official", "team"})
# Invisible characters that are not category Cf: Hangul fillers, the braille blank, and so on.
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e\u17b4\u17b5")
_BRACKETED = re.compile(r"[(\[{（［【「]([^)\]}）］】」]*)[)\]}）］】」]?")


def display_name_key(text: str) -> str:
    """The look-alike key of a display name: NFKC, accents and format characters dropped, letters
    mapped to their ASCII look-alikes (Unicode confusables), 0/o 1/l... folded, spaces and
    punctuation removed. "Lena (Kestrel Support)" and "Ⅼena(Kestrel 5upport)" share a key."""
    text = strip_format_chars(unicodedata.normalize("NFKC", text or ""))
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = "".join(c if c.isascii() else _ascii_lookalike(c) for c in text)
    return re.sub(r"[^a-z0-9]+", "", _name_skeleton(text))


def _joins_emoji(text: str, i: int) -> bool:
    """Whether the U+200D ZERO WIDTH JOINER at text[i] joins two emoji into one (👩‍💻, 🏳️‍🌈:
    Unicode TS #51 ZWJ sequences): a symbol (So, Sk; or U+FE0F after one) before, a symbol after."""
    before = text[i - 1] if i > 0 else ""
    if before == "\ufe0f" and i > 1:
        before = text[i - 2]
    after = text[i + 1] if i + 1 < len(text) else ""
    return bool(before and after) and unicodedata.category(before) in ("So", "Sk") and unicodedata.category(after) == "So"


def display_name_problem(raw: str) -> tuple[str, str | None]:
    """(the cleaned name, why it is refused or None), for any member.

    Whitespace runs become one space and the ends are trimmed; empty is allowed (the username shows
    instead). Refused: more than 60 characters; format/control characters (categories Cf, Cc, e.g.
    U+202E right-to-left override, U+200B zero-width space; the message names the character) or
    other invisible characters, except U+200D joining two emoji into one (_joins_emoji); a
    non-empty input without a single visible character; more than four stacked combining marks on
    one character (app/core/text.py, stacked_marks_problem: "Zalgo text")."""
    text = raw or ""
    for i, c in enumerate(text):
        if c == "\u200d" and _joins_emoji(text, i):
            continue
        if c in _INVISIBLE or (unicodedata.category(c) in ("Cf", "Cc", "Co", "Cn") and c not in "\t\n\r"):
            return text.strip(), (f"Your display name contains an invisible or control character "
                                   f"({char_label(c)}); remove it.")
    name = clean_single_line(text)  # NFC, one line, whitespace runs one space (controls refused above)
    if text and not name:
        return name, "Your display name needs at least one visible character; leave it empty to show your username."
    if len(name) > 60:
        return name, "Use at most 60 characters."
    if (problem := stacked_marks_problem(text)) is not None:  # as typed: NFC may fold one mark in
        return name, sentence(problem)
    return name, None


def display_name_authority(name: str, site_name: str = "") -> str | None:
    """Why a non-staff member's display name reads as speaking for the site, or None: a word of
    AUTHORITY_WORDS anywhere (look-alikes too), or the site name's words inside brackets."""
    words = {display_name_key(w) for w in re.split(r"[^\w]+", unicodedata.normalize("NFKC", name)) if w}
    for w in words & {display_name_key(a) for a in AUTHORITY_WORDS}:
        return (f"Display names may not contain the word {w!r}: it reads as speaking for the site. "
                "Only staff accounts carry it.")
    site_words = {display_name_key(w) for w in re.split(r"[^\w]+", site_name) if len(w) >= 3}
    for inner in _BRACKETED.findall(unicodedata.normalize("NFKC", name)):
        inner_words = {display_name_key(w) for w in re.split(r"[^\w]+", inner) if w}
        if site_words and (site_words & inner_words or display_name_key(inner) == display_name_key(site_name)):
            return "Display names may not name the site in brackets: it reads as an official affiliation."
    return None
