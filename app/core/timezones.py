"""Time zone names: the one check of a zone a member chooses (settings in the API and the forum,
the digests' local hour: docs/notifications.md, "Digests").

A zone is an IANA name exactly as the tz database spells it (`Europe/Berlin`, `UTC`,
`America/Argentina/Buenos_Aires`), one of `zoneinfo.available_timezones()`. `ZoneInfo()` alone
is not a check: it opens whatever file the name leads to under the zoneinfo directory, so it
took `localtime` (the server's own zone, a Debian symlink to /etc/localtime), `posixrules`,
`posix/...` and `right/...` copies, any case variant on a case-insensitive file system, and a
directory name such as `Europe` failed in ways the callers did not all catch (a 500).
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from app.core.errors import field_error

DEFAULT_ZONE = "UTC"
NAME_MAX = 64  # the longest stored name (MailSettings.timezone); the longest IANA name has 32

# Files of the zoneinfo directory that available_timezones() may list but that are not zones a
# member chooses: the server's own zone, the POSIX default rules, the tz "no zone" placeholder.
_NOT_CHOSEN = frozenset({"localtime", "posixrules", "Factory"})


@lru_cache(maxsize=1)
def zone_names() -> frozenset[str]:
    """Every zone name a member may choose (read once from the tz database in use)."""
    return frozenset(z for z in available_timezones()
                     if z not in _NOT_CHOSEN and not z.startswith(("posix/", "right/")))


@lru_cache(maxsize=1)
def _by_lower() -> dict[str, str]:
    return {z.lower(): z for z in zone_names()}


def is_zone(name: object) -> bool:
    """True for an IANA zone name spelt exactly as the tz database does ("Europe/Berlin")."""
    return isinstance(name, str) and name in zone_names()


def require_zone(name: object, field: str = "timezone") -> str:
    """`name` when it is a zone (is_zone), else InvalidInput (422) on `field` whose message
    suggests the right spelling of a case variant ("europe/berlin": Europe/Berlin)."""
    if is_zone(name):
        return name  # type: ignore[return-value]
    message = "Choose a time zone such as Europe/Berlin or America/New_York."
    if isinstance(name, str) and len(name) <= NAME_MAX and name.strip().lower() in _by_lower():
        message = f"Did you mean {_by_lower()[name.strip().lower()]}? Time zone names are written as in the tz database."
    raise field_error(field, message)


def zone(name: str | None) -> ZoneInfo:
    """The ZoneInfo of a stored name; UTC for anything that is not a zone (rows written before the
    check, a zone removed from a newer tz database), so a digest still goes out."""
    return ZoneInfo(name if is_zone(name) else DEFAULT_ZONE)
