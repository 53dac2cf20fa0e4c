"""rows() streams: memory stays flat however large the file (a memory test, not a timing test)."""

from __future__ import annotations

import tracemalloc

import pytest

from app.importer import stackexchange
from app.importer.stackexchange import rows

N = 200_000
LIMIT = 30 * 1024 * 1024


def write_posts(path, n: int) -> None:
    with open(path, "wb") as f:
        f.write(b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>\r\n<posts>\r\n')
        for i in range(1, n + 1):
            f.write(b'  <row Id="%d" PostTypeId="1" CreationDate="2021-01-01T00:00:00.000" '
                    b'Body="&lt;p&gt;Post %d&lt;/p&gt;&#xA;" Title="Question number %d" Tags="&lt;t%d&gt;" />\r\n'
                    % (i, i, i, i % 50))
        f.write(b"</posts>")


def test_rows_streams_a_large_file_in_bounded_memory(tmp_path):
    path = tmp_path / "Posts.xml"
    write_posts(path, N)
    assert path.stat().st_size > LIMIT  # the file itself would not fit under the bound
    tracemalloc.start()
    try:
        n, last = 0, None
        for attrs in rows(path):
            n += 1
            last = attrs.get("Id")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == N and last == str(N)
    assert peak < LIMIT, f"peak {peak / 1e6:.1f} MB while reading {N:,} rows"


def test_forbidden_characters_are_dropped_even_across_reads():
    """The NUL filter sees the file in pieces; a reference cut between two reads is still dropped."""
    import io

    from app.importer.reader import _Cleaned

    row = b'<row Id="%d" T="a&#x0;b&#0;c&#x1F;d&#31;e\x00f\x01g&amp;h&#xA;i&#x9;j&#13;k&#65;" />'
    data = b"<posts>" + b"".join(row % i for i in range(300)) + b"</posts>"
    expected = data
    for gone in (b"&#x0;", b"&#0;", b"&#x1F;", b"&#31;", b"\x00", b"\x01"):
        expected = expected.replace(gone, b"")
    for size in (1, 2, 3, 5, 7, 11, 16 * 1024):
        cleaned, out = _Cleaned(io.BytesIO(data)), b""
        while chunk := cleaned.read(size):
            out += chunk
        assert out == expected, size


def test_rows_of_a_file_full_of_forbidden_characters(tmp_path):
    path = tmp_path / "Comments.xml"
    path.write_bytes(b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>\r\n<comments>\r\n'
                     + b"".join(b'  <row Id="%d" Text="x&#x0;y&#xA;z\x00!" />\r\n' % i for i in range(5000))
                     + b"</comments>")
    texts = [r["Text"] for r in rows(path)]
    assert len(texts) == 5000 and set(texts) == {"xy\nz!"}


# --- reading ahead on a thread of its own (app/importer/stackexchange._read_ahead, issue 11) -------


def _source(n: int, log: list, fail_at: int | None = None):
    import threading

    for i in range(n):
        if i == fail_at:
            raise stackexchange.DumpError(f"damaged at {i}")
        log.append((i, threading.get_ident()))
        yield [i]


def test_read_ahead_keeps_order_and_reads_on_another_thread():
    import threading

    log: list = []
    got = [b[0] for b in stackexchange._read_ahead(_source(50, log))]
    assert got == list(range(50))
    assert {ident for _, ident in log} == {log[0][1]} and log[0][1] != threading.get_ident()


def test_read_ahead_is_bounded():
    log: list = []
    consumed = 0
    for _ in stackexchange._read_ahead(_source(200, log), depth=3):
        consumed += 1
        # At most `depth` batches wait in the queue and one more is being put: never more ahead.
        assert len(log) <= consumed + 3 + 1
    assert consumed == 200


def test_read_ahead_raises_the_readers_error_where_it_was_reached():
    log: list = []
    got = []
    with pytest.raises(stackexchange.DumpError, match="damaged at 7"):
        for b in stackexchange._read_ahead(_source(20, log, fail_at=7)):
            got.append(b[0])
    assert got == list(range(7))


def test_closing_early_stops_the_reader():
    import threading

    log: list = []
    it = stackexchange._read_ahead(_source(10_000, log), depth=2)
    assert next(it) == [0]
    it.close()
    assert not [t for t in threading.enumerate() if t.name == "import-read-ahead"]
    assert len(log) < 10_000
