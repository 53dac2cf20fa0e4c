"""Reading a dump file in a process of its own: `python -m app.importer.reader FILE PREPARE`.

The importer's own process parses XML, cleans HTML and formats rows, and its one PostgreSQL
backend stores them; with a reading thread both Python parts share one GIL, so on 2 cores the
import used about one (docs/import.md, "Where the two cores go"). This program does the part
that needs no database, parsing a file and cleaning its bodies, on another core, and hands the
rows over a pipe in batches.

Arguments: the file, what to prepare (`prepare_rows`) and, optionally, the rows per batch
(default BATCH). Protocol (stdout, binary): frames of an 8-byte little-endian length, then a `marshal` dump of
("rows", [row dict, …]) for each batch, ("error", message) when the file cannot be read (the
importer raises it as DumpError), and ("end", None) after the last batch. On stdin, one byte at
a time: b"0" stops cleaning bodies ahead, b"1" starts again (`_Importer._note_fresh`: on a re-run
the rows turn out already imported, and cleaning them would be wasted).

Only the importer starts it, with a file it has checked; its output is read by that importer
alone (marshal, like pickle, is not for data from elsewhere: here it is our own child's).
"""

from __future__ import annotations

import marshal
import os
import re
import select
import struct
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from app.core.markdown import render_markdown, sanitize_html

BATCH = 2000

# The key under which a post or comment row carries its cleaned body; not a dump attribute.
CLEAN_BODY = "\x00clean-body"


class DumpError(Exception):
    """The dump cannot be imported; the message is one line for the operator."""


# Comment text in which Markdown can find nothing to do: a letter first (no list, heading, quote or
# code block can start), then letters, digits, spaces and plain punctuation only, no "//" or
# "mailto" (the only ways to a link), no newline. render_markdown gives exactly "<p>TEXT</p>\n" for
# it (tests/importer/test_bulk.py checks this against render_markdown); most real comments are
# like this, and rendering each through markdown-it was the import's largest cost per comment.
_PLAIN_COMMENT = re.compile(r"[A-Za-z][A-Za-z0-9 ,.;:!?'()/-]*[A-Za-z0-9.!?)]\Z")


def comment_html(text: str) -> str:
    """A comment's HTML: render_markdown's result, computed without it for plain text."""
    if _PLAIN_COMMENT.match(text) and "//" not in text and "mailto" not in text.lower() and "  " not in text:
        return f"<p>{text}</p>\n"
    return render_markdown(text)


def clean_html(value: str | None) -> str:
    """An imported post body as stored: sanitised HTML ("" for none)."""
    return sanitize_html(value) if value else ""


# Characters XML 1.0 forbids (NUL and the other C0 controls but tab, LF, CR), raw or as character
# references. Real dumps carry a few (a NUL in a post body); expat refuses the whole file for one,
# and PostgreSQL text cannot hold NUL: they are dropped before the parser sees them.
_FORBIDDEN_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_FORBIDDEN_REFS = re.compile(rb"&#(?:[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F])|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]));")


def _drop_forbidden(data: bytes) -> bytes:
    return _FORBIDDEN_REFS.sub(b"", data.translate(None, _FORBIDDEN_BYTES))


class _Cleaned:
    """A binary file minus the forbidden characters (a reference cut between two reads included)."""

    def __init__(self, raw) -> None:
        self.raw, self.held = raw, b""

    def read(self, size: int = 64 * 1024) -> bytes:
        while True:
            chunk = self.raw.read(size)
            data, self.held = self.held + chunk, b""
            if not chunk:
                return _drop_forbidden(data)
            amp = data.rfind(b"&", max(0, len(data) - 12))
            if amp != -1 and b";" not in data[amp:]:
                data, self.held = data[:amp], data[amp:]
            data = _drop_forbidden(data)
            if data:  # an empty read would mean the end of the file
                return data


def rows(path: Path) -> Iterator[dict[str, str]]:
    """The attributes of each <row> of a dump file, streamed with bounded memory. (Characters XML
    cannot carry, NUL included, are dropped first: nothing read here holds one.)

    Raises DumpError (its message ends "nothing was imported") for a file that cannot be read,
    is empty or is not well-formed XML."""
    try:
        with open(path, "rb") as raw:
            yield from _rows(path, _Cleaned(raw))
    except OSError as exc:
        raise DumpError(f"cannot read {path.name}: {exc.strerror or exc}; nothing was imported") from None


def _rows(path: Path, source) -> Iterator[dict[str, str]]:
    try:
        context = ET.iterparse(source, events=("start", "end"))
        _, root = next(context)
        for event, elem in context:
            if event == "end" and elem.tag == "row":
                yield elem.attrib
                root.clear()  # drop what was read: memory stays flat however large the file
    except ET.ParseError as exc:
        line, col = getattr(exc, "position", (0, 0))
        raise DumpError(f"{path.name} is not well-formed XML at line {line}, column {col} "
                        "(truncated or damaged?); nothing was imported") from None
    except StopIteration:
        raise DumpError(f"{path.name} is empty; nothing was imported") from None


def chunks(rows_: Iterator[dict[str, str]], size: int) -> Iterator[list[dict[str, str]]]:
    """`rows_` in lists of `size` (each row copied to a plain dict; the last list may be shorter)."""
    batch: list[dict[str, str]] = []
    for row in rows_:
        batch.append(dict(row))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def prepare_rows(batch: list[dict], prepare: str) -> None:
    """Clean the bodies of `batch` in place, under CLEAN_BODY: `prepare` is "posts:1" (the
    questions' bodies), "posts:2" (the answers'), "comments" (each comment's HTML from its first
    600 characters) or "none"."""
    if prepare.startswith("posts:"):
        post_type = prepare[6:]
        for r in batch:
            if r.get("PostTypeId") == post_type:
                r[CLEAN_BODY] = clean_html(r.get("Body"))
    elif prepare == "comments":
        for r in batch:
            text_ = (r.get("Text") or "").strip()[:600]
            r[CLEAN_BODY] = comment_html(text_) if text_ else ""


def _send(out, kind: str, value) -> None:
    data = marshal.dumps((kind, value))
    out.write(struct.pack("<Q", len(data)))
    out.write(data)
    out.flush()


def main(argv: list[str]) -> int:
    path, prepare = Path(argv[0]), argv[1]
    size = int(argv[2]) if len(argv) > 2 else BATCH
    out = sys.stdout.buffer
    control = sys.stdin.fileno()
    clean = True
    try:
        try:
            for batch in chunks(rows(path), size):
                while select.select([control], [], [], 0)[0]:  # the importer's latest word on cleaning
                    byte = os.read(control, 1)
                    if not byte:
                        break
                    clean = byte == b"1"
                if clean:
                    prepare_rows(batch, prepare)
                _send(out, "rows", batch)
        except DumpError as exc:
            _send(out, "error", str(exc))
            return 0
        _send(out, "end", None)
    except BrokenPipeError:  # the importer stopped reading (it failed, or is done with the file)
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())  # nothing left to flush at exit
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the importer says why
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
