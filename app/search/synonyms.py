"""Support vocabulary that means the same thing; both backends use it (Meilisearch as settings)."""

from __future__ import annotations

# Groups of interchangeable support vocabulary. Meilisearch synonyms are one-way, so each group
# is expanded into a mutual map below; multi-word entries are allowed.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("wifi", "wi-fi", "wireless", "wlan"),
    ("bsod", "blue screen", "blue screen of death"),
    ("pc", "computer", "laptop"),
    ("bluetooth", "bt"),
    ("2fa", "mfa", "two-factor", "two factor"),
    ("hdd", "hard drive", "hard disk"),
    ("ssd", "solid state drive"),
    ("usb stick", "flash drive", "thumb drive"),
    ("reboot", "restart"),
    ("login", "log in", "sign in", "signin"),
    ("monitor", "display"),
    ("os", "operating system"),
)


def single_word_map() -> dict[str, tuple[str, ...]]:
    """word -> the other single words of its groups (the embedded index matches words, not phrases)."""
    out: dict[str, list[str]] = {}
    for group in SYNONYM_GROUPS:
        words = [w for w in group if w.isalnum()]
        for w in words:
            out.setdefault(w, []).extend(o for o in words if o != w and o not in out[w])
    return {k: tuple(v) for k, v in out.items() if v}
