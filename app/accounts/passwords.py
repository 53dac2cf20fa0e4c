"""The password policy (NIST SP 800-63B, section 5.1.1.2 "Memorized Secret Verifiers").

* A password is used exactly as typed: never trimmed, case-folded or otherwise altered (every
  character counts, spaces included), at sign-up, sign-in and change alike.
* Length: at least PASSWORD_MIN characters (800-63B: at least 8), at most PASSWORD_MAX (800-63B:
  at least 64 must be allowed; argon2id hashes any length at the same cost).
* No composition rules (800-63B: "SHALL NOT impose other composition rules"). Instead a
  password is refused when it is commonly used or easily guessed, judged by `zxcvbn` (the
  maintained Python port of Dropbox's estimator, offline: it ships ranked lists of the 30,000 most
  common passwords from leaked-password corpora, English words, names, keyboard patterns,
  sequences, dates and l33t substitutions). A password needs a score of at least MIN_SCORE
  ("somewhat guessable" or better: about a million guesses or more, beyond what the sign-in rate
  limit lets an online attacker try).
* Context-specific words (800-63B: "the username", "the name of the service") are refused: a
  password may not contain the username or the e-mail address's local part, and the site name
  and its words count as common words for the estimate.
"""

from __future__ import annotations

import re

from app.core.errors import InvalidInput

PASSWORD_MIN, PASSWORD_MAX = 10, 1024
MIN_SCORE = 2
# zxcvbn's running time grows with length; it looks at the first 72 characters (its own default
# limit). A prefix is never stronger than the whole, so this only errs on the strict side.
_ESTIMATE_CHARS = 72


def problem(password: str, *, username: str = "", email: str = "", context: tuple[str, ...] = ()) -> str | None:
    """Why this password may not be used, as one sentence for the person choosing it; None if fine.

    `username`, `email` and `context` (e.g. the site name) are the context-specific words."""
    if len(password) < PASSWORD_MIN:
        return f"Use at least {PASSWORD_MIN} characters; a short sentence is easy to remember."
    if len(password) > PASSWORD_MAX:
        return f"Use at most {PASSWORD_MAX:,} characters."
    lowered = password.lower()
    local = email.split("@", 1)[0].lower() if email else ""
    for word in (username.lower(), local):
        if len(word) >= 3 and word in lowered:
            return "Choose a password that does not contain your username or e-mail address."
    compact = re.sub(r"[^a-z0-9]", "", lowered)
    if any(compact == re.sub(r"[^a-z0-9]", "", c.lower()) for c in context if c):
        return "Choose a password that is not the name of this site."
    from zxcvbn import zxcvbn

    words = [w for text in (username, local, *context) for w in text.lower().replace("-", " ").split() if w]
    result = zxcvbn(password[:_ESTIMATE_CHARS], user_inputs=words, max_length=_ESTIMATE_CHARS)
    if result["score"] < MIN_SCORE:
        warning = (result.get("feedback") or {}).get("warning") or "This password is too easy to guess."
        return (f"{warning.rstrip('.')}. Choose a less common password: a few unrelated words "
                "together are easy to remember and hard to guess.")
    return None


def check(password: str, *, username: str = "", email: str = "", context: tuple[str, ...] = (),
          field: str = "password") -> None:
    """Raise InvalidInput (422, on `field`) when `problem` finds one."""
    reason = problem(password, username=username, email=email, context=context)
    if reason:
        raise InvalidInput(reason, errors=[{"loc": ["body", field], "msg": reason, "type": "value_error"}])
