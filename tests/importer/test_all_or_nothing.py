"""A dump that cannot be imported ends with a one-line DumpError and the database exactly as it was."""

from __future__ import annotations

import pytest

from app.importer import stackexchange
from app.importer.stackexchange import DumpError
from tests.importer.dumps import standard
from tests.importer.support import counts, run_import, snapshot


@pytest.fixture
def existing(db, factory, session, tmp_path):
    """A database that already holds a member's question and an earlier import of another site."""
    q = factory.question(title="A question asked here, before any import")
    factory.answer(q)
    session.commit()
    run_import(db, standard().write(tmp_path / "earlier"), site="earlier.stackexchange.com")
    return snapshot(db)


def fails(db, folder, match: str, **kw) -> str:
    with pytest.raises(DumpError, match=match) as info:
        run_import(db, folder, **kw)
    message = str(info.value)
    assert message and "\n" not in message
    return message


def small_batches(monkeypatch, size: int = 2):
    """Write in batches of a few rows, so that a failure comes after rows were written."""
    batches = stackexchange._batches
    monkeypatch.setattr(stackexchange, "_batches", lambda it, size_=size, **kw: batches(it, size_, **kw))


def test_missing_folder(db, existing, tmp_path):
    fails(db, tmp_path / "nowhere", "is not a folder")
    assert snapshot(db) == existing


def test_folder_without_posts_xml(db, existing, tmp_path):
    folder = standard().write(tmp_path / "d", files=("Users.xml", "Votes.xml"))
    fails(db, folder, "has no Posts.xml")
    assert snapshot(db) == existing


def test_truncated_posts_xml(db, existing, tmp_path, monkeypatch):
    d = standard()
    for i in range(100, 130):
        d.question(i, f"Filler question {i}", owner=1)
    folder = d.write(tmp_path / "d")
    posts = folder / "Posts.xml"
    data = posts.read_bytes()
    cut = data.index(b'<row Id="120"') + 40  # mid-row, as a download cut short leaves it
    posts.write_bytes(data[:cut])
    small_batches(monkeypatch)
    message = fails(db, folder, r"Posts\.xml is not well-formed XML at line \d+")
    assert "truncated" in message and "nothing was imported" in message
    assert snapshot(db) == existing


def test_malformed_votes_after_good_posts(db, existing, tmp_path, monkeypatch):
    folder = standard().write(tmp_path / "d")
    votes = folder / "Votes.xml"
    votes.write_bytes(votes.read_bytes().replace(b'<row Id="5"', b'<row Id="5" <oops'))
    small_batches(monkeypatch)
    progress: list[str] = []
    with pytest.raises(DumpError, match=r"Votes\.xml is not well-formed") as info:
        stackexchange.import_dump(db, folder, site="example.stackexchange.com", progress=progress.append)
    assert "\n" not in str(info.value)
    assert any(m.startswith("Comments.xml") for m in progress)  # posts and comments were written, then undone
    assert snapshot(db) == existing


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"not xml at all", b"<posts><row Id='1'>"])
def test_empty_or_garbage_posts_xml(db, existing, tmp_path, content):
    folder = standard().write(tmp_path / "d")
    (folder / "Posts.xml").write_bytes(content)
    fails(db, folder, r"Posts\.xml is (empty|not well-formed)")
    assert snapshot(db) == existing


def test_unreadable_file_is_a_dump_error(db, existing, tmp_path):
    folder = standard().write(tmp_path / "d")
    (folder / "Comments.xml").unlink()
    (folder / "Comments.xml").mkdir()  # cannot be read as a file
    fails(db, folder, "cannot read Comments.xml")
    assert snapshot(db) == existing


def test_a_failure_on_an_empty_database_leaves_it_empty(db, tmp_path):
    folder = standard().write(tmp_path / "d")
    (folder / "PostLinks.xml").write_bytes(b"<postlinks><row Id=")
    before = counts(db)
    assert sum(before.values()) == 0
    fails(db, folder, "PostLinks.xml")
    assert counts(db) == before


def test_a_bad_site_name(db, existing, std_dump):
    fails(db, std_dump, "must be a host name", site="not a host/name")
    assert snapshot(db) == existing
