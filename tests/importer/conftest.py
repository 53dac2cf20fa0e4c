from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.importer.dumps import standard


@pytest.fixture
def db(clean_engine) -> Engine:
    """A database emptied after the test (the importer opens its own sessions)."""
    return clean_engine


@pytest.fixture
def read(db):
    """A short-lived read session: `with read() as s: …` (never held open across an import)."""
    return lambda: Session(db, expire_on_commit=False)


@pytest.fixture
def std_dump(tmp_path):
    """The standard small site (tests/importer/dumps.py), written as a dump folder."""
    return standard().write(tmp_path / "dump")
