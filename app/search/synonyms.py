"""Support vocabulary that means the same thing; both backends use it (Meilisearch as settings)."""

from __future__ import annotations

# Groups of interchangeable support vocabulary; multi-word and hyphenated entries are allowed. The
# embedded index matches every entry of a group as an alternative of one query clause, in both
# directions (app.search.analysis.parse_query); Meilisearch gets a mutual map over every surface
# form (app.search.meili._synonyms), since its synonyms are one-way.
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

