"""Where templates, static files and migrations live, in a checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
_REPO_DIR = PACKAGE_DIR.parent


def _find(name: str) -> Path:
    # An installed wheel carries them inside the package (see pyproject force-include);
    # a checkout (editable install, tests) has them at the top level.
    for candidate in (PACKAGE_DIR / name, _REPO_DIR / name):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"cannot find {name!r} next to the app package")


def templates_dir() -> Path:
    return _find("templates")


def migrations_dir() -> Path:
    return _find("migrations")


def alembic_ini() -> Path:
    return _find("alembic.ini")


def static_dir() -> Path:
    return PACKAGE_DIR / "web" / "static"
