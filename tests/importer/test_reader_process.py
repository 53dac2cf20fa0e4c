"""Large dump files are read by a process of their own (app.importer.reader): the same rows, the
same errors and the same database as the reading thread, and nothing left running."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.importer import stackexchange
from app.importer.reader import CLEAN_BODY, DumpError, prepare_rows, rows
from app.importer.stackexchange import _batches, _batches_from_process
from tests.conftest import _truncate
from tests.importer.dumps import Dump, standard
from tests.importer.support import run_import, snapshot


def messy_dump(folder: Path, questions: int = 30) -> Path:
    """The standard site plus questions and answers whose HTML needs cleaning, comments with and
    without Markdown, and characters XML cannot carry (dropped by the reader)."""
    d = standard()
    for i in range(4, 20):
        d.user(i, f"Member {i}\x02", reputation=i)
    for i in range(100, 100 + questions):
        d.question(i, f"Filler question {i}", owner=1 + i % 3,
                   body=f"<p onclick='x()'>Step {i}\x01 &amp; <a href='javascript:alert(1)'>link</a></p>"
                        "<script>alert(1)</script><table><tr><td style='text-align:right'>1</td></tr></table>")
        d.answer(1000 + i, i, owner=2, body=f"<p>Answer {i} <img src=x onerror=alert(1)></p>")
        d.comment(i, f"Plain comment {i}.", user=3)
        d.comment(1000 + i, f"See **this** at https://example.com/{i} `code`", user=1)
    return d.write(folder)


def by_thread(path: Path, prepare: str, size: int) -> list[list[dict]]:
    return list(_batches(rows(path), size, prepare=lambda b: prepare_rows(b, prepare)))


def by_process(path: Path, prepare: str, size: int, clean=lambda: True) -> list[list[dict]]:
    return list(_batches_from_process(path, prepare, clean, size))


@pytest.mark.parametrize(("name", "prepare"), [("Posts.xml", "posts:1"), ("Posts.xml", "posts:2"),
                                               ("Comments.xml", "comments"), ("Votes.xml", "none"),
                                               ("Users.xml", "none")])
def test_the_process_reads_and_cleans_what_the_thread_does(tmp_path, name, prepare):
    folder = messy_dump(tmp_path / "d")
    expected = by_thread(folder / name, prepare, 3)
    got = by_process(folder / name, prepare, 3)
    assert got == expected
    assert len(got) > 2 and all(len(b) == 3 for b in got[:-1])  # several batches, in the same cuts
    cleaned = [r for b in got for r in b if CLEAN_BODY in r]
    if prepare == "none":
        assert not cleaned
    else:
        assert cleaned  # the comparison above covered cleaned bodies, not only raw rows
        assert not any("script" in r[CLEAN_BODY] or "onerror" in r[CLEAN_BODY] for r in cleaned)
    assert not any("\x01" in v for b in got for r in b for v in r.values())


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage", "missing"])
def test_a_damaged_file_raises_the_same_dump_error_after_the_same_rows(tmp_path, damage):
    folder = messy_dump(tmp_path / "d")
    posts = folder / "Posts.xml"
    data = posts.read_bytes()
    if damage == "truncated":
        posts.write_bytes(data[:data.index(b'<row Id="120"') + 40])
    elif damage == "empty":
        posts.write_bytes(b"")
    elif damage == "garbage":
        posts.write_bytes(b"not xml at all")
    else:
        posts.unlink()

    def read(batches) -> tuple[list, str]:
        seen: list = []
        with pytest.raises(DumpError) as info:
            for batch in batches:
                seen.append(batch)
        return seen, str(info.value)

    expected = read(_batches(rows(posts), 5, prepare=lambda b: prepare_rows(b, "posts:1")))
    got = read(_batches_from_process(posts, "posts:1", lambda: True, 5))
    assert got == expected
    assert "nothing was imported" in got[1]
    if damage == "truncated":
        assert got[0]  # the rows before the damage came through first


def reader_children() -> list[int]:
    """This process's children that run the dump reader, zombies included."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and b"app.importer.reader" in cmdline:
            out.append(int(entry))
    return out


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to find the reader process")
def test_stopping_early_ends_the_reading_process(tmp_path):
    folder = messy_dump(tmp_path / "d", questions=400)
    batches = _batches_from_process(folder / "Posts.xml", "posts:2", lambda: True, 5)
    assert next(batches)
    assert len(reader_children()) == 1  # reading ahead, blocked on the full pipe
    batches.close()  # what the import does when a later step fails
    assert reader_children() == []  # ended and reaped, not left running or as a zombie


def test_cleaning_ahead_stops_when_rows_turn_out_imported_and_starts_again(tmp_path):
    """The importer's `clean_ahead` is passed on: on a re-run the reader stops cleaning bodies that
    would be skipped, and starts again when new rows come. Batches already read ahead when the
    word changes keep what they had (the importer cleans a missing body itself: `_body`)."""
    d = Dump()
    big = "<p>" + "word " * 4000 + "</p>"  # 20 kB a row: the pipe holds a batch or two, not the file
    for i in range(100, 220):
        d.question(i, f"Question {i}", body=big, owner=1)
    posts = d.write(tmp_path / "d") / "Posts.xml"
    state = {"batch": 0}

    def clean() -> bool:
        state["batch"] += 1
        return not 3 <= state["batch"] < 30

    got = by_process(posts, "posts:1", 2, clean)
    assert len(got) > 55
    cleaned = [all(CLEAN_BODY in r for r in b) for b in got]
    skipped = [not any(CLEAN_BODY in r for r in b) for b in got]
    assert all(cleaned[:3])
    assert all(skipped[15:30])  # the word reached the reader within the batches it had read ahead
    assert all(cleaned[45:])  # and so did the word to start again


@pytest.mark.parametrize("dump", ["standard", "messy"])
def test_an_import_read_in_process_stores_exactly_what_one_read_by_threads_stores(db, tmp_path, dump):
    folder = standard().write(tmp_path / "d") if dump == "standard" else messy_dump(tmp_path / "d")
    started = datetime.now(UTC) - timedelta(seconds=1)

    def stored() -> dict:
        """Every row; times taken during the import (it stamps some rows with the clock) as one mark."""
        def mark(v):
            if isinstance(v, datetime) and (v.replace(tzinfo=UTC) if v.tzinfo is None else v) >= started:
                return "during the import"
            return v
        return {t: [tuple(mark(v) for v in r) for r in rs] for t, rs in snapshot(db).items()}

    by_threads = run_import(db, folder, read_in_process=False)
    expected = stored()
    _truncate(db)
    in_process = run_import(db, folder, read_in_process=True)
    assert stored() == expected
    assert in_process.lines()[1:] == by_threads.lines()[1:]  # the first line gives the time taken
    assert expected["questions"] and expected["comments"]


def test_an_import_read_in_process_is_all_or_nothing_and_idempotent(db, tmp_path, monkeypatch):
    folder = messy_dump(tmp_path / "d")
    first = run_import(db, folder, read_in_process=True)
    before = snapshot(db)
    again = run_import(db, folder, read_in_process=True)
    assert snapshot(db) == before and sum(again.imported.values()) == 0
    assert again.already["questions"] == first.imported["questions"]
    votes = folder / "Votes.xml"
    votes.write_bytes(votes.read_bytes().replace(b'<row Id="5"', b'<row Id="5" <oops'))
    (folder / "Posts.xml").write_bytes((folder / "Posts.xml").read_bytes().replace(
        b'Id="110"', b'Id="990110"'))  # one new question, so the failed run writes before it fails
    with pytest.raises(DumpError, match=r"Votes\.xml is not well-formed"):
        run_import(db, folder, read_in_process=True)
    assert snapshot(db) == before


def test_files_from_the_size_threshold_up_are_read_in_process(db, tmp_path, monkeypatch):
    folder = messy_dump(tmp_path / "d")
    size = (folder / "Comments.xml").stat().st_size
    started: list[str] = []
    real = stackexchange._batches_from_process

    def spy(path, *args, **kw):
        started.append(path.name)
        return real(path, *args, **kw)

    monkeypatch.setattr(stackexchange, "_batches_from_process", spy)
    monkeypatch.setattr(stackexchange, "PROCESS_MIN_BYTES", size)
    run_import(db, folder)
    big = sorted(p.name for p in folder.iterdir() if p.stat().st_size >= size)
    assert "Comments.xml" in big and "Tags.xml" not in big
    assert sorted(set(started)) == big
