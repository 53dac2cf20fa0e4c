"""Stack Exchange data-dump importer: `groundswell import-stackexchange DIR`.

Streams each XML file (iterparse, elements cleared as they are read), writes in batches with
bulk INSERTs, and runs in ONE transaction: a missing or damaged file leaves the database exactly
as it was. Every imported row is recorded in `import_map` (site, kind, source id → local id),
so importing the same dump again adds nothing and a later, larger dump adds only what is new.

Messy dumps are expected: votes, comments and links pointing at posts that are not in the dump
are skipped and counted; posts whose owner is gone are attributed to a "deleted user"
placeholder with the name the dump gives; tag-wiki and other non-Q&A posts are skipped.
Reputation of imported users comes from the imported votes and acceptances through the ledger
(`reputation.recompute` at the end), never from the dump's own Reputation column.
"""

from __future__ import annotations

import marshal
import os
import queue
import re
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import BigInteger, Column, MetaData, Table, any_, bindparam, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.accounts.identity import username_key
from app.accounts.models import User
from app.answers.models import Acceptance, Answer
from app.comments.models import Comment
from app.core.db import NUL_CHECKED, writer
from app.core.text import clean_single_line
from app.importer.models import ImportedVote, ImportMap
from app.importer.reader import BATCH, CLEAN_BODY, DumpError, chunks, clean_html, comment_html, prepare_rows, rows
from app.products.models import Product
from app.questions.models import Question, QuestionLink, QuestionStatus, QuestionTag, Revision, Tag
from app.questions.tags import canonical_tag, slugify, tag_problem

ANALYZE_EVERY = 5_000
PROGRESS_EVERY = 10_000


@dataclass
class Summary:
    site: str
    imported: Counter = field(default_factory=Counter)
    already: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    repaired: Counter = field(default_factory=Counter)
    # Posts whose count or score the finish rewrote (the dump's Score or AnswerCount, the first
    # guess, or an earlier count disagreed with the votes or answers): {"questions": n, "answers": n}.
    recounted: dict = field(default_factory=dict)
    seconds: float = 0.0
    posts_read: int = 0

    def lines(self) -> list[str]:
        kinds = ("users", "questions", "answers", "comments", "votes", "acceptances", "duplicates", "related links",
                 "tags")
        out = [f"imported from {self.site} in {self.seconds:.1f}s "
               f"({self.posts_read / self.seconds if self.seconds else 0:,.0f} posts/s):"]
        out.append("  " + ", ".join(f"{self.imported[k]:,} {k}" for k in kinds))
        if sum(self.already.values()):
            out.append("  already imported, left as they are: "
                       + ", ".join(f"{n:,} {k}" for k, n in self.already.items() if n))
        if self.repaired:
            out.append("  repaired: " + ", ".join(f"{n:,} {why}" for why, n in self.repaired.items()))
        if self.skipped:
            out.append("  skipped:")
            out += [f"    {n:,} {why}" for why, n in self.skipped.most_common()]
        return out


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return None


# Stack Exchange's licensing help page (https://stackoverflow.com/help/licensing): content
# contributed before 2011-04-08 (UTC) is CC BY-SA 2.5, from then until before 2018-05-02 (UTC)
# CC BY-SA 3.0, on or after it CC BY-SA 4.0. As (first day of the next licence, licence), the last
# one open-ended.
LICENSE_DATES: tuple[tuple[datetime | None, str], ...] = (
    (datetime(2011, 4, 8, tzinfo=UTC), "CC BY-SA 2.5"),
    (datetime(2018, 5, 2, tzinfo=UTC), "CC BY-SA 3.0"),
    (None, "CC BY-SA 4.0"),
)
LICENSE_URLS = {"CC BY-SA 2.5": "https://creativecommons.org/licenses/by-sa/2.5/",
                "CC BY-SA 3.0": "https://creativecommons.org/licenses/by-sa/3.0/",
                "CC BY-SA 4.0": "https://creativecommons.org/licenses/by-sa/4.0/"}


def license_for(content_license: str | None, last_revised: datetime | None) -> str:
    """The licence of an imported post: the dump's `ContentLicense` when it has one (newer dumps
    do, e.g. "CC BY-SA 4.0"), else the date rule of LICENSE_DATES applied to the post's latest
    revision (`LastEditDate`, else `CreationDate`): ContentLicense is the licence of the latest
    revision, and an edit is contributed on the day it is made. A post with no date at all gets
    the newest licence."""
    given = " ".join((content_license or "").split())[:16]
    if given:
        return given
    for until, name in LICENSE_DATES:
        if until is None or (last_revised is not None and last_revised < until):
            return name
    raise AssertionError("unreachable: the last licence is open-ended")


NO_VOTE_ID = "votes without an id (a missing or non-numeric Id)"


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _dump_count(value: str | None, low: int = -1_000_000_000) -> int:
    """A post's Score or AnswerCount as the dump states it, or 0 when missing, malformed or out
    of range (low .. 10⁹, inside PostgreSQL's integer). Only a first guess: `finish` recomputes
    every imported post's score from the votes and every answer count from the answers, and
    writes only the rows whose guess was wrong. In a real dump the two agree for nearly every
    post, so those UPDATEs write almost nothing (each row an UPDATE writes is a new row version
    with its index entries: 14.5 s for the answers at 100k questions when every score started at 0)."""
    number = _int(value)
    return number if number is not None and low <= number <= 1_000_000_000 else 0


def _batches(it: Iterator[dict[str, str]], size: int = BATCH, *,
             prepare: Callable[[list[dict[str, str]]], None] | None = None) -> Iterator[list[dict[str, str]]]:
    """The rows in lists of `size` (plain dicts), read ahead by `_read_ahead`; `prepare(batch)`,
    if given, runs on the reading thread before the batch is handed over (work on the rows alone,
    e.g. cleaning their HTML, that needs no database)."""
    def prepared() -> Iterator[list[dict[str, str]]]:
        for batch in chunks(it, size):
            if prepare is not None:
                prepare(batch)
            yield batch

    return _read_ahead(prepared())


# Batches a reading thread may hold ready. Memory stays bounded: READ_AHEAD batches queued, one
# more waiting to be queued and one being read, besides the batch the importer works on.
READ_AHEAD = 2


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


_END = object()


def _read_ahead(batches: Iterator[list], depth: int = READ_AHEAD) -> Iterator[list]:
    """`batches`, produced on a thread of their own up to `depth` batches ahead of the consumer.

    Why: the importer alternates between Python work (parsing XML, cleaning HTML, formatting
    rows) and waiting for PostgreSQL (look-ups, COPY, id reservation), and the two never
    overlapped: on the 100k dump the importer's own CPU (about 55 s) plus the database's time
    made up the whole 129 s (issue 11). While the importer's thread waits for the database it
    releases the GIL, and the reading thread parses the next batches then.

    The same items in the same order; an exception raised while producing them (DumpError for a
    damaged file) is raised here, in the consumer, at the point it was reached. Closing this
    generator early (the import failed) stops the thread once the batch it is reading is done,
    and waits for it."""
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                if stop.is_set():
                    return
                ready.put(batch)
            ready.put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            ready.put(_Failed(exc))

    reader = threading.Thread(target=produce, name="import-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item = ready.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        stop.set()
        if threading.current_thread() is reader:  # dropped in a cycle that the reader's own allocations collected
            return
        while reader.is_alive():  # unblock a put() waiting for room, until the thread has ended
            try:
                ready.get(timeout=0.05)
            except queue.Empty:
                pass
        reader.join()


# Files at least this large are read by a process of their own (`_batches_from_process`); smaller
# ones by a thread, where starting a second interpreter (about 0.07 s) would cost more than it saves.
PROCESS_MIN_BYTES = 8 * 1024 * 1024


def _batches_from_process(path: Path, prepare: str, clean: Callable[[], bool],
                          size: int | None = None) -> Iterator[list[dict[str, str]]]:
    """The rows of `path` in batches of `size` (default BATCH), parsed, and prepared as `prepare` says
    (app.importer.reader.prepare_rows), by `python -m app.importer.reader` in a process of its
    own, on another core than the importer's; read ahead by `_read_ahead`.

    Why: on the 20k-question dump the reading thread's parsing and cleaning were about 40% of
    the import process's CPU, and it shared one GIL with the thread that stores the rows
    (docs/import.md, "Where the two cores go"). `clean()` is asked before each batch after the
    first: when it turns false the reader stops cleaning bodies ahead (a re-run), and starts
    again when it turns true.

    The same rows in the same order as `_batches(rows(path))`; a damaged file raises DumpError
    with the same message, at the batch where it was reached. Closing this generator early (the
    import failed) ends the reading process. RuntimeError if that process ends without
    finishing the file (it was killed, or could not start)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent.parent)  # the folder that holds `app`
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (root, env.get("PYTHONPATH"))))
    proc = subprocess.Popen([sys.executable, "-m", "app.importer.reader", str(path), prepare, str(size or BATCH)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    def frames() -> Iterator[list[dict[str, str]]]:
        read = proc.stdout.read
        while True:
            head = read(8)
            length = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
            data = read(length) if length >= 0 else b""
            if length < 0 or len(data) < length:
                raise RuntimeError(f"the process reading {path.name} ended before the end of the file "
                                   f"(exit status {proc.wait()})")
            kind, value = marshal.loads(data)
            if kind == "rows":
                yield value
            elif kind == "error":
                raise DumpError(value)
            else:
                return

    ahead = _read_ahead(frames())
    cleaning = True
    try:
        for batch in ahead:
            yield batch
            if clean() != cleaning:
                cleaning = not cleaning
                try:
                    proc.stdin.write(b"1" if cleaning else b"0")
                    proc.stdin.flush()
                except BrokenPipeError:  # it has read the whole file already
                    pass
    finally:
        if proc.poll() is None:
            proc.kill()  # ends a read the reading thread may be blocked in
        ahead.close()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            try:
                pipe.close()
            except BrokenPipeError:
                pass


class _Importer:
    def __init__(self, session: Session, folder: Path, site: str, product_id: int | None,
                 progress: Callable[[str], None], read_in_process: bool | None = None):
        self.s, self.folder, self.site, self.product_id, self.progress = session, folder, site, product_id, progress
        self.read_in_process = read_in_process
        self.summary = Summary(site=site)
        self._deleted_user: int | None = None
        # Questions whose search documents change (bulk inserts bypass the ORM's outbox hook).
        self.search_touched: set[int] = set()
        self._tag_ids: dict[str, int] = {}
        self._since_analyze = self._remembered = 0
        self._started = time.perf_counter()
        self._file: str | None = None
        self._pg = session.get_bind().dialect.name == "postgresql"
        self._file_started, self._n = self._started, 0
        self._accept_staged = 0  # rows in the acceptance stage (_stage_acceptances)
        # Whether the reader cleans the rows' HTML ahead (`_read`): yes while most rows turn out
        # new, no once a batch was mostly rows already imported (a re-run).
        self.clean_ahead = True

    def _read(self, path: Path, prepare: str = "none") -> Iterator[list[dict[str, str]]]:
        """The rows of a dump file in batches, with their bodies cleaned ahead as `prepare` says
        (app.importer.reader.prepare_rows) while `clean_ahead` holds: by a process of its own
        when the file has PROCESS_MIN_BYTES or more (or as `read_in_process` forces), else by a
        thread of this one."""
        in_process = self.read_in_process
        if in_process is None:
            try:
                in_process = path.stat().st_size >= PROCESS_MIN_BYTES
            except OSError:
                in_process = False  # rows() says why it cannot be read
        if in_process:
            return _batches_from_process(path, prepare, lambda: self.clean_ahead)

        def ahead(batch: list[dict]) -> None:
            if self.clean_ahead:
                prepare_rows(batch, prepare)

        return _batches(rows(path), prepare=ahead)

    # --- mapping ---------------------------------------------------------------------------------

    # One index probe of (site, kind, source_id) per wanted id, whatever the statistics say: the
    # subquery's OFFSET 0 keeps PostgreSQL from turning it into a join it could plan as a scan.
    # The plain `source_id = ANY(:ids)` was planned, on statistics taken before the kind's rows
    # arrived, as a scan of every row of the kind so far with the 2,000 ids as a filter: 200 ms
    # per batch of comments after 52,000 of them, more with each batch (quadratic in the dump).
    LOOKUP_PG = text(
        "SELECT m.kind, u.id, m.local_id FROM unnest(CAST(:ids AS bigint[])) AS u(id) "
        "CROSS JOIN LATERAL (SELECT kind, local_id FROM import_map "
        "WHERE site = :site AND kind = ANY(CAST(:kinds AS varchar[])) AND source_id = u.id OFFSET 0) m")

    def _lookup(self, kinds: tuple[str, ...], source_ids) -> dict[int, tuple[str, int]]:
        """Source id → (kind, local id) for rows of these kinds already imported from this site:
        on PostgreSQL one statement with the ids as one array (LOOKUP_PG), elsewhere IN lists of
        900 (under SQLite's limit on bound parameters)."""
        ids = list({i for i in source_ids if i is not None})
        out: dict[int, tuple[str, int]] = {}
        if not ids:
            return out
        if self._pg:
            for kind, src, local in self.s.execute(self.LOOKUP_PG,
                                                   {"ids": ids, "site": self.site, "kinds": list(kinds)}):
                out[src] = (kind, local)
            return out
        for i in range(0, len(ids), 900):
            chunk = ids[i:i + 900]
            found = self.s.execute(select(ImportMap.kind, ImportMap.source_id, ImportMap.local_id).where(
                ImportMap.site == self.site, ImportMap.kind.in_(kinds), ImportMap.source_id.in_(chunk)))
            for kind, src, local in found.all():
                out[src] = (kind, local)
        return out

    def _mapped(self, kind: str, source_ids) -> dict[int, int]:
        return {src: local for src, (_kind, local) in self._lookup((kind,), source_ids).items()}

    def _mapped_kind(self, source_ids) -> dict[int, tuple[str, int]]:
        """Posts by source id → (question|answer, local id)."""
        return self._lookup(("question", "answer"), source_ids)

    def _remember(self, kind: str, pairs: list[tuple[int, int]]) -> None:
        if pairs:
            self._write(ImportMap.__table__, [
                {"site": self.site, "kind": kind, "source_id": src, "local_id": local} for src, local in pairs])
            self._since_analyze += len(pairs)
            self._remembered += len(pairs)
            # Stale statistics matter while the table is small next to what it held when they were
            # taken: refresh when it has doubled since (a logarithmic number of ANALYZEs, not one
            # per 5,000 rows: at 100k questions that was ~100 of them, 60 ms each and growing).
            if self._since_analyze >= max(ANALYZE_EVERY, self._remembered - self._since_analyze):
                self.analyze()

    def analyze(self) -> None:
        """PostgreSQL plans the per-batch look-ups from table statistics, which a long import makes
        stale (a table it thinks tiny gets scanned, not searched by index): refresh them."""
        self._since_analyze = 0
        if self.s.get_bind().dialect.name == "postgresql":
            self.s.execute(text("ANALYZE import_map"))

    def _once(self, batch: list[dict], what: str | None = None) -> list[dict]:
        """The rows of a batch with an id (an integer) not seen earlier in it: a row without one,
        or repeating one (a damaged or concatenated dump), is skipped and counted under its own
        reason, not a unique-constraint crash nor "already imported". Earlier batches are in
        import_map already, so repeats across batches count as already imported."""
        seen: set[int] = set()
        out = []
        for r in batch:
            sid = _int(r.get("Id"))
            if sid is None:
                self.summary.skipped[f"{what or 'rows'} without an id (a missing or non-numeric Id)"] += 1
                continue
            if sid in seen:
                if what:
                    self.summary.skipped[f"{what} repeating the id of an earlier row"] += 1
                continue
            seen.add(sid)
            out.append(r)
        return out

    def _reserve_ids(self, table, n: int) -> list[int]:
        """Ids for n new rows, known before inserting, so one executemany writes them all."""
        if self.s.get_bind().dialect.name == "postgresql":
            # One row holding an array, not n rows: a batch's 2,000 result rows cost more to read than to make.
            return list(self.s.execute(text(
                f"SELECT array_agg(nextval(pg_get_serial_sequence('{table.name}', 'id'))) FROM generate_series(1, :n)"),
                {"n": n}).scalar_one())
        # SQLite: this transaction holds the write lock (BEGIN IMMEDIATE), so max(id) cannot move under us.
        top = self.s.execute(select(func.max(table.c.id))).scalar() or 0
        return list(range(top + 1, top + n + 1))

    def _insert(self, model, values: list[dict]) -> list[int]:
        """Bulk INSERT with ids reserved first (no per-row RETURNING), in the order given."""
        if not values:
            return []
        table = model.__table__
        ids = self._reserve_ids(table, len(values))
        for value, new_id in zip(values, ids, strict=True):
            value["id"] = new_id
        self._write(table, values)
        return ids

    def _set_many(self, table: str, column: str, pairs: list[tuple[int, int]]) -> None:
        """UPDATE table SET column = value WHERE id = key, for (key, value) pairs, in one statement
        on PostgreSQL (two arrays unnested), an executemany elsewhere."""
        if not pairs:
            return
        if self._pg:
            self.s.execute(text(
                f"UPDATE {table} SET {column} = v.value FROM (SELECT unnest(CAST(:keys AS bigint[])) AS key, "
                f"unnest(CAST(:vals AS bigint[])) AS value) v WHERE {table}.id = v.key"),
                {"keys": [k for k, _ in pairs], "vals": [v for _, v in pairs]})
        else:
            self.s.execute(text(f"UPDATE {table} SET {column} = :value WHERE id = :key"),
                           [{"key": k, "value": v} for k, v in pairs])

    def _write(self, table, values: list[dict]) -> None:
        """Write rows (dicts with the same keys) in one go: PostgreSQL's COPY FROM STDIN (psycopg 3's
        `cursor.copy`, the fastest way in, on this transaction's connection); elsewhere one
        executemany. Columns left out get their Python-side defaults, as with an INSERT."""
        if not values:
            return
        if self._pg:
            cols = list(values[0])
            extra: dict = {}
            for c in table.columns:
                d = c.default
                if c.name in values[0] or d is None or getattr(d, "is_sequence", False):
                    continue
                extra[c.name] = d.arg(None) if d.is_callable else d.arg
            cols += list(extra)
            raw = self.s.connection().connection.driver_connection
            with raw.cursor() as cur, cur.copy(
                    f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
                given, tail = cols[:len(cols) - len(extra)], tuple(extra.values())
                for value in values:
                    copy.write_row(tuple(value[k] for k in given) + tail)
        else:
            self.s.execute(insert(table), values)

    def _tick(self, what: str, n: int) -> None:
        """Progress of one file: rows read so far and rows per second since that file began."""
        if what != self._file:
            self._file, self._file_started = what, time.perf_counter()
        self._n = n
        if n % PROGRESS_EVERY < BATCH:
            rate = n / max(time.perf_counter() - self._file_started, 1e-6)
            self.progress(f"  {what}: {n:,} rows read ({rate:,.0f} rows/s)")

    def _done(self, what: str, n: int) -> None:
        """The closing progress line of one file: rows and rows per second."""
        if n:
            rate = n / max(time.perf_counter() - self._file_started, 1e-6)
            self.progress(f"  {what}: {n:,} rows in {time.perf_counter() - self._file_started:.1f}s "
                          f"({rate:,.0f} rows/s)")
        self._file = None

    # --- users -----------------------------------------------------------------------------------

    def _site_slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.site.lower()).strip("-")[:40] or "import"

    def users(self) -> None:
        path = self.folder / "Users.xml"
        if not path.exists():
            return
        n = 0
        for batch in self._read(path):
            n += len(batch)
            self._tick("Users.xml", n)
            ids = [_int(r.get("Id")) for r in batch]
            known = self._mapped("user", ids)
            values, sources = [], []
            for r, sid in zip(batch, ids, strict=True):
                if sid is None:
                    self.summary.skipped["users without an id"] += 1
                    continue
                if sid in known:
                    self.summary.already["users"] += 1
                    continue
                # one line, as names written here (app/core/text.py clean_single_line)
                name = clean_single_line(r.get("DisplayName"))[:60].rstrip() or f"user {sid}"
                handle = slugify(name, 18)
                if handle == "question" and "question" not in name.lower():
                    handle = "user"  # slugify's fallback, for a name with no ASCII letter or digit
                values.append({
                    "username": f"{handle}-{'m' if sid < 0 else ''}{abs(sid)}"[:30],
                    "email": f"se{sid}.{self._site_slug()}@imported.invalid",
                    "password_hash": None, "role": "customer", "display_name": name, "bio": "",
                    "reputation": 1, "token_version": 0, "is_active": True,
                    "created_at": _when(r.get("CreationDate")) or datetime.now(UTC),
                })
                sources.append(sid)
                known[sid] = -1  # a duplicate id later in the same file is skipped
            for value, username in zip(values, self._free_usernames([v["username"] for v in values]), strict=True):
                value["username"] = username
                value["username_key"] = username_key(username)
            self._remember("user", list(zip(sources, self._insert(User, values), strict=True)))
            self.summary.imported["users"] += len(values)

    def _free_usernames(self, wanted: list[str]) -> list[str]:
        """The usernames to give: as wanted, unless an account has one already (a local member, or the
        same source id of another site): then with a suffix, _2, _3…, that generated names never have."""
        out, n = list(wanted), 1
        clash = list(range(len(out)))
        while clash:
            taken = self._taken_usernames({out[i] for i in clash})
            clash = [i for i in clash if out[i] in taken]
            n += 1
            for i in clash:
                out[i] = f"{wanted[i][:29 - len(str(n))]}_{n}"
        return out

    def _taken_usernames(self, names: set[str]) -> set[str]:
        """Which of these usernames an account has already.

        PostgreSQL: one array joined to the unique index on `users.username`. `username IN
        ($1, …, $2000)` was planned as a scan of the users table, and once psycopg prepared the
        statement (the same text for every batch) PostgreSQL's generic plan compared each row with
        the list one by one: 10–20 s per batch past 220k users (issue 11's 1M-post dump)."""
        if not self._pg:
            return set(self.s.execute(select(User.username).where(User.username.in_(names))).scalars())
        return set(self.s.execute(text(
            "SELECT u.username FROM unnest(CAST(:names AS text[])) AS n(name) "
            "JOIN users u ON u.username = n.name"), {"names": list(names)}).scalars())

    def _deleted(self) -> int:
        """The placeholder that owns posts whose author is not in the dump (a deleted account)."""
        if self._deleted_user is None:
            found = self._mapped("deleted_user", [0])
            if found:
                self._deleted_user = found[0]
            else:
                name = self._free_usernames([f"deleted-{self._site_slug()}"[:30]])[0]
                [uid] = self._insert(User, [{
                    "username": name, "username_key": username_key(name),
                    "email": f"deleted.{self._site_slug()}@imported.invalid", "password_hash": None,
                    "role": "customer", "display_name": "deleted user", "bio": "", "reputation": 1,
                    "token_version": 0, "is_active": False, "created_at": datetime(2000, 1, 1, tzinfo=UTC),
                }])
                self._remember("deleted_user", [(0, uid)])
                self._deleted_user = uid
        return self._deleted_user

    # LOOKUP_PG's probe for each user, with the user's display name read by primary key in the
    # same fenced subquery: one statement per batch, two index probes per id whatever the
    # statistics say (tests/importer/test_lookup_plan.py).
    AUTHORS_PG = text(
        "SELECT u.id, m.local_id, m.display_name FROM unnest(CAST(:ids AS bigint[])) AS u(id) "
        "CROSS JOIN LATERAL (SELECT im.local_id, usr.display_name FROM import_map im "
        "JOIN users usr ON usr.id = im.local_id "
        "WHERE im.site = :site AND im.kind = 'user' AND im.source_id = u.id OFFSET 0) m")

    def _authors(self, batch: list[dict], key: str = "OwnerUserId", name_key: str = "OwnerDisplayName"):
        """Local author id and the name to credit, for each row of a batch: on PostgreSQL one
        statement (AUTHORS_PG), with the ids as one array. The two statements it replaced (the
        look-up, then the users' names with every local id as its own bound parameter, a query
        text psycopg had to parse anew for each batch) were 19% of the import process's CPU on
        the 20k-question dump (py-spy, docs/import.md). An id mapped to a user that no longer
        exists counts as not in the dump (the deleted-user placeholder), on both databases."""
        if self._pg:
            ids = list({i for i in (_int(r.get(key)) for r in batch) if i is not None})
            users, names = {}, {}
            if ids:
                for src, local, name in self.s.execute(self.AUTHORS_PG, {"ids": ids, "site": self.site}):
                    users[src], names[local] = local, name
        else:
            mapped = self._mapped("user", [_int(r.get(key)) for r in batch])
            names = dict(self.s.execute(select(User.id, User.display_name).where(
                User.id.in_(set(mapped.values())))).all()) if mapped else {}
            users = {src: local for src, local in mapped.items() if local in names}  # as the join drops them
        out = []
        for r in batch:
            local = users.get(_int(r.get(key)))
            if local is None:
                out.append((self._deleted(), clean_single_line(r.get(name_key))[:120].rstrip() or "deleted user"))
            else:
                out.append((local, names.get(local, "")[:120]))
        return out

    # --- posts -----------------------------------------------------------------------------------

    def _posts(self, post_type: str) -> Iterator[list[dict]]:
        """Posts.xml in batches; the bodies of the posts of `post_type` ("1" questions, "2"
        answers) are cleaned ahead by the reader (`_read`), under CLEAN_BODY, while
        `clean_ahead` holds (`_body` cleans the others)."""
        n = 0
        for batch in self._read(self.folder / "Posts.xml", f"posts:{post_type}"):
            n += len(batch)
            self._tick("Posts.xml", n)
            yield batch

    def _note_fresh(self, fresh: int, read: int) -> None:
        """After each batch: clean ahead on the reading thread only while at least half of the
        rows read turn out new. On a re-run (everything already imported) cleaning every row
        ahead would be the run's largest cost, for rows that are skipped."""
        if read:
            self.clean_ahead = fresh * 2 >= read

    @staticmethod
    def _body(r: dict) -> str:
        """A post's cleaned body: as the reader left it (`_read`), or cleaned now."""
        body = r.get(CLEAN_BODY)
        return clean_html(r.get("Body")) if body is None else body

    def _tag_id(self, name: str) -> int:
        return self._tag_ids_for([name])[name]

    def _tag_ids_for(self, names) -> dict[str, int]:
        """Tag name → id for these names, creating the missing tags: one SELECT and one INSERT for a
        whole batch, not a round trip per tag."""
        want = list(dict.fromkeys(names))
        out = {n: self._tag_ids[n] for n in want if n in self._tag_ids}
        missing = [n for n in want if n not in out]
        if missing:
            found = dict(self.s.execute(select(Tag.name, Tag.id).where(Tag.name.in_(missing))).all())
            new = [n for n in missing if n not in found]
            if new:
                found.update(zip(new, self._insert(Tag, [{"name": n} for n in new]), strict=True))
                self.summary.imported["tags"] += len(new)
            out.update(found)
            for n, tid in found.items():
                if len(self._tag_ids) < 50_000:  # a bounded cache: sites have thousands of tags, not millions
                    self._tag_ids[n] = tid
        return out

    def _tag(self, raw: str) -> str | None:
        """The dump's tag in our normal form (app/questions/tags.py), or None (counted) when our tag
        rule cannot keep it: it is never changed into another tag."""
        tag = canonical_tag(raw)
        if not tag:
            return None
        if tag_problem(tag) is not None:
            self.summary.skipped["tags our tag rule cannot keep, each time one appears (see docs/import.md)"] += 1
            return None
        return tag

    def _tags(self, raw: str | None) -> list[str]:
        out: list[str] = []
        for t in re.findall(r"<([^<>]+)>", raw or "") or (raw or "").split("|"):
            tag = self._tag(t)
            if tag and tag not in out:
                out.append(tag)
        return out[:5]

    @staticmethod
    def _post_terms(r: dict, created: datetime) -> dict:
        """A post's licence (license_for) and community-wiki date (`CommunityOwnedDate`)."""
        return {"license": license_for(r.get("ContentLicense"), _when(r.get("LastEditDate")) or created),
                "community_owned_at": _when(r.get("CommunityOwnedDate"))}

    def questions(self) -> None:
        for batch in self._posts("1"):
            qs = [r for r in batch if r.get("PostTypeId") == "1"]
            self.summary.posts_read += len(qs)
            for r in batch:
                if r.get("PostTypeId") not in ("1", "2"):
                    self.summary.skipped["tag-wiki and other non-question, non-answer posts"] += 1
            if not qs:
                continue
            # Staged before repeats are dropped: as when acceptances were read from every row, a
            # repeated question's first copy that names an accepted answer is the one that counts.
            self._stage_acceptances([(_int(r.get("Id")), _int(r.get("AcceptedAnswerId"))) for r in qs
                                     if r.get("AcceptedAnswerId")])
            qs = self._once(qs, "posts")
            known = self._mapped("question", [_int(r.get("Id")) for r in qs])
            fresh = [r for r in qs if _int(r.get("Id")) is not None and _int(r.get("Id")) not in known]
            self._note_fresh(len(fresh), len(qs))
            self.summary.already["questions"] += len(qs) - len(fresh)
            if not fresh:
                continue
            authors = self._authors(fresh)
            values, meta = [], []
            for r, (author_id, author_name) in zip(fresh, authors, strict=True):
                sid = int(r["Id"])
                title = clean_single_line(r.get("Title"))[:150].rstrip() or f"Question {sid}"
                body = self._body(r)
                created = _when(r.get("CreationDate")) or datetime.now(UTC)
                values.append({
                    "title": title, "slug": slugify(title), "body": body, "body_html": body, "body_format": "html",
                    "author_id": author_id, "product_id": self.product_id, "score": _dump_count(r.get("Score")),
                    "answer_count": _dump_count(r.get("AnswerCount"), low=0),
                    "accepted_answer_id": None,
                    "status": QuestionStatus.closed.value if r.get("ClosedDate") else QuestionStatus.open.value,
                    "duplicate_of_id": None, "created_at": created, "updated_at": _when(r.get("LastEditDate")),
                    "last_activity_at": _when(r.get("LastActivityDate")) or created,
                    "source_url": f"https://{self.site}/q/{sid}", "source_author": author_name,
                    **self._post_terms(r, created),
                })
                meta.append((sid, self._tags(r.get("Tags")), author_id, created, title, body))
            ids = self._insert(Question, values)
            self.search_touched.update(ids)
            self._remember("question", [(m[0], qid) for m, qid in zip(meta, ids, strict=True)])
            qtags, revisions = [], []
            tag_ids = self._tag_ids_for(t for m in meta for t in m[1])
            for (sid, tags, author_id, created, title, body), qid, row in zip(meta, ids, values, strict=True):
                # The question's own values; the trigger of migration 0024 follows later changes
                # (the finish's recount of scores) into these copies.
                qtags += [{"question_id": qid, "tag_id": tag_ids[t], "position": i, "question_created_at": created,
                           "question_last_activity_at": row["last_activity_at"], "question_score": row["score"]}
                          for i, t in enumerate(tags)]
                revisions.append({"post_type": "question", "post_id": qid, "number": 1, "title": title, "body": body,
                                  "tags": " ".join(tags), "product_slug": None, "author_id": author_id,
                                  "comment": f"imported from {self.site}", "created_at": created})
            if qtags:
                self._write(QuestionTag.__table__, qtags)
            self._write(Revision.__table__, revisions)
            self.summary.imported["questions"] += len(ids)

    def answers(self) -> None:
        for batch in self._posts("2"):
            ans = [r for r in batch if r.get("PostTypeId") == "2"]
            self.summary.posts_read += len(ans)
            if not ans:
                continue
            ans = self._once(ans, "posts")
            known = self._mapped("answer", [_int(r.get("Id")) for r in ans])
            fresh = [r for r in ans if _int(r.get("Id")) is not None and _int(r.get("Id")) not in known]
            self._note_fresh(len(fresh), len(ans))
            self.summary.already["answers"] += len(ans) - len(fresh)
            parents = self._mapped("question", [_int(r.get("ParentId")) for r in fresh])
            keep = []
            for r in fresh:
                if _int(r.get("ParentId")) in parents:
                    keep.append(r)
                else:
                    self.summary.skipped["answers to a question not in the dump"] += 1
            if not keep:
                continue
            values, meta = [], []
            for r, (author_id, author_name) in zip(keep, self._authors(keep), strict=True):
                sid = int(r["Id"])
                body = self._body(r)
                created = _when(r.get("CreationDate")) or datetime.now(UTC)
                values.append({
                    "question_id": parents[_int(r["ParentId"])], "author_id": author_id, "body": body,
                    "body_html": body, "body_format": "html", "score": _dump_count(r.get("Score")), "created_at": created,
                    "updated_at": _when(r.get("LastEditDate")), "source_url": f"https://{self.site}/a/{sid}",
                    "source_author": author_name, **self._post_terms(r, created),
                })
                meta.append((sid, author_id, created, body))
            ids = self._insert(Answer, values)
            self.search_touched.update(v["question_id"] for v in values)
            self._remember("answer", [(m[0], aid) for m, aid in zip(meta, ids, strict=True)])
            self._write(Revision.__table__, [
                {"post_type": "answer", "post_id": aid, "number": 1, "title": None, "body": body, "tags": None,
                 "product_slug": None, "author_id": author_id, "comment": f"imported from {self.site}",
                 "created_at": created}
                for (_sid, author_id, created, body), aid in zip(meta, ids, strict=True)])
            self.summary.imported["answers"] += len(ids)

    _ACCEPT_STAGE = Table("import_accept_stage", MetaData(), Column("seq", BigInteger, primary_key=True),
                          Column("question_source_id", BigInteger), Column("answer_source_id", BigInteger),
                          prefixes=["TEMPORARY"])

    def _stage_acceptances(self, pairs: list[tuple[int | None, int | None]]) -> None:
        """Remember (question, accepted answer) source ids as the questions pass reads them, in a
        temporary table (memory stays flat), for `acceptances` once the answers are in: Posts.xml
        is not parsed a third time for them (at 100k questions that pass took 18.4 s of 274.5;
        the step now takes 10.2 s, docs/import.md)."""
        pairs = [(q, a) for q, a in pairs if q is not None]  # a is None: not a post id, counted as missing
        if not pairs:
            return
        if not self._accept_staged:
            conn = self.s.connection()
            conn.execute(text(f"DROP TABLE IF EXISTS {self._ACCEPT_STAGE.name}"))
            self._ACCEPT_STAGE.create(conn)  # dropped at the end of the step, or with a rollback
        self._write(self._ACCEPT_STAGE, [{"seq": self._accept_staged + i, "question_source_id": q,
                                          "answer_source_id": a} for i, (q, a) in enumerate(pairs, 1)])
        self._accept_staged += len(pairs)

    def _staged_acceptances(self) -> Iterator[list[tuple[int, int]]]:
        """The staged (question, accepted answer) source ids, in the order read, a batch at a time."""
        after = 0
        conn = self.s.connection()
        while after < self._accept_staged:
            batch = conn.execute(text(
                f"SELECT seq, question_source_id, answer_source_id FROM {self._ACCEPT_STAGE.name} WHERE seq > :after "
                f"ORDER BY seq LIMIT {BATCH}"), {"after": after}).all()
            if not batch:
                return
            after = batch[-1][0]
            yield [(q, a) for _seq, q, a in batch]

    def acceptances(self) -> None:
        """Each question's AcceptedAnswerId (staged by the questions pass), once both sides are imported."""
        for staged in self._staged_acceptances():
            # A question repeated in the dump (in two of the questions pass's batches) is staged
            # twice: its first copy counts, a repeat finds it accepted already.
            batch, seen = [], set()
            for q, a in staged:
                if q in seen:
                    self.summary.already["acceptances"] += 1
                else:
                    seen.add(q)
                    batch.append((q, a))
            questions = self._mapped("question", [q for q, _ in batch])
            answers = self._mapped("answer", [a for _, a in batch])
            pairs = []
            for q_source, a_source in batch:
                qid, aid = questions.get(q_source), answers.get(a_source)
                if qid is None:
                    continue
                if aid is None:
                    self.summary.skipped["accepted answers not in the dump"] += 1
                    continue
                pairs.append((qid, aid))
            if not pairs:
                continue
            current = dict(self.s.execute(select(Question.id, Question.accepted_answer_id)
                                          .where(Question.id.in_([q for q, _ in pairs]))).all())
            owners = dict(self.s.execute(select(Question.id, Question.author_id)
                                         .where(Question.id.in_([q for q, _ in pairs]))).all())
            created = dict(self.s.execute(select(Answer.id, Answer.created_at)
                                          .where(Answer.id.in_([a for _, a in pairs]))).all())
            new = [(q, a) for q, a in pairs if current.get(q) is None]
            self.summary.already["acceptances"] += len(pairs) - len(new)
            if not new:
                continue
            self._write(Acceptance.__table__, [{"question_id": q, "answer_id": a, "accepted_by_id": owners[q],
                                                 "created_at": created[a], "revoked_at": None} for q, a in new])
            self._set_many("questions", "accepted_answer_id", new)
            self.search_touched.update(q for q, _ in new)
            self.summary.imported["acceptances"] += len(new)
        if self._accept_staged:
            self.s.connection().execute(text(f"DROP TABLE IF EXISTS {self._ACCEPT_STAGE.name}"))

    # --- comments, votes, links -------------------------------------------------------------------

    def comments(self) -> None:
        path = self.folder / "Comments.xml"
        if not path.exists():
            return
        n = 0
        for batch in self._read(path, "comments"):
            n += len(batch)
            self._tick("Comments.xml", n)
            batch = self._once(batch, "comments")
            known = self._mapped("comment", [_int(r.get("Id")) for r in batch])
            fresh = [r for r in batch if _int(r.get("Id")) is not None and _int(r.get("Id")) not in known]
            self._note_fresh(len(fresh), len(batch))
            self.summary.already["comments"] += len(batch) - len(fresh)
            posts = self._mapped_kind([_int(r.get("PostId")) for r in fresh])
            keep = []
            for r in fresh:
                if _int(r.get("PostId")) in posts and (r.get("Text") or "").strip():
                    keep.append(r)
                else:
                    self.summary.skipped["comments on posts not in the dump (or empty)"] += 1
            if not keep:
                continue
            values, sources = [], []
            for r, (author_id, author_name) in zip(keep, self._authors(keep, "UserId", "UserDisplayName"), strict=True):
                kind, local = posts[_int(r["PostId"])]
                body = r["Text"].strip()[:600]
                values.append({"post_type": kind, "post_id": local, "author_id": author_id, "body": body,
                               "body_html": r[CLEAN_BODY] if CLEAN_BODY in r else comment_html(body),
                               "created_at": _when(r.get("CreationDate")) or datetime.now(UTC),
                               "source_author": author_name})
                sources.append(int(r["Id"]))
            self._remember("comment", list(zip(sources, self._insert(Comment, values), strict=True)))
            self.summary.imported["comments"] += len(values)

    def votes(self) -> None:
        path = self.folder / "Votes.xml"
        if not path.exists():
            return
        if self._pg:
            self._votes_set_based(path)
            return
        n = 0
        for batch in self._read(path):
            n += len(batch)
            self._tick("Votes.xml", n)
            wanted = []
            for r in batch:
                vtype = r.get("VoteTypeId")
                if vtype in ("2", "3"):
                    wanted.append(r)
                elif vtype != "1":  # 1 (accepted) comes from the posts' AcceptedAnswerId
                    self.summary.skipped["votes of other kinds (favourites, close, bounty, spam…)"] += 1
            if not wanted:
                continue
            vote_ids = [i for i in {_int(r.get("Id")) for r in wanted} if i is not None]
            existing = set(self.s.execute(select(ImportedVote.source_id).where(
                ImportedVote.site == self.site,
                ImportedVote.source_id == any_(bindparam("ids", vote_ids, type_=ARRAY(BigInteger))) if self._pg
                else ImportedVote.source_id.in_(vote_ids))).scalars())
            posts = self._mapped_kind([_int(r.get("PostId")) for r in wanted])
            values = []
            for r in wanted:
                sid = _int(r.get("Id"))
                if sid in existing:
                    self.summary.already["votes"] += 1
                    continue
                target = posts.get(_int(r.get("PostId")))
                if sid is None:
                    self.summary.skipped[NO_VOTE_ID] += 1
                    continue
                if target is None:
                    self.summary.skipped["votes on posts not in the dump"] += 1
                    continue
                values.append({"site": self.site, "source_id": sid, "post_type": target[0], "post_id": target[1],
                               "value": 1 if r["VoteTypeId"] == "2" else -1,
                               "created_at": _when(r.get("CreationDate")) or datetime.now(UTC)})
                existing.add(sid)
            if values:
                self._write(ImportedVote.__table__, values)
                self.summary.imported["votes"] += len(values)
                # A question's score is in its search document (a tie-break in ranking).
                self.search_touched.update(v["post_id"] for v in values if v["post_type"] == "question")

    def _votes_set_based(self, path: Path) -> None:
        """PostgreSQL: the up and down votes go into a temporary table with one COPY, then into
        `imported_votes` with one INSERT … SELECT that resolves each vote's post through
        `import_map` and skips votes already imported (ON CONFLICT on (site, source_id)).

        Votes are the largest file of a dump (about 3 per post). Checking each batch against
        `imported_votes` cost a scan of the table per batch, growing with the import (issue 11:
        0.03 s for the first batch of a 10k-question dump, 0.55 s for its 19th; at 100k questions
        the import never finished Votes.xml); this costs one hash join, whatever the size."""
        conn = self.s.connection()
        conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS import_votes_stage (source_id bigint, "
                          "post_source_id bigint, value smallint, created_at timestamptz) ON COMMIT DROP"))
        conn.execute(text("TRUNCATE import_votes_stage"))
        raw = conn.connection.driver_connection
        n = staged = 0
        other = "votes of other kinds (favourites, close, bounty, spam…)"
        with raw.cursor() as cur, cur.copy(
                "COPY import_votes_stage (source_id, post_source_id, value, created_at) FROM STDIN") as copy:
            for batch in self._read(path):
                n += len(batch)
                self._tick("Votes.xml", n)
                for r in batch:
                    vtype = r.get("VoteTypeId")
                    if vtype in ("2", "3"):
                        sid = _int(r.get("Id"))
                        if sid is None:
                            self.summary.skipped[NO_VOTE_ID] += 1
                            continue
                        copy.write_row((sid, _int(r.get("PostId")), 1 if vtype == "2" else -1,
                                        _when(r.get("CreationDate")) or datetime.now(UTC)))
                        staged += 1
                    elif vtype != "1":  # 1 (accepted) comes from the posts' AcceptedAnswerId
                        self.summary.skipped[other] += 1
        if not staged:
            return
        conn.execute(text("ANALYZE import_votes_stage"))
        # One join of the staged votes with import_map, counted and inserted from the same CTE.
        matched, inserted, questions = conn.execute(text(
            "WITH j AS (SELECT s.source_id, m.kind, m.local_id, s.value, s.created_at FROM import_votes_stage s "
            "JOIN import_map m ON m.site = :site AND m.kind IN ('question', 'answer') "
            "AND m.source_id = s.post_source_id WHERE s.source_id IS NOT NULL), "
            "ins AS (INSERT INTO imported_votes (site, source_id, post_type, post_id, value, created_at) "
            "SELECT :site, source_id, kind, local_id, value, created_at FROM j "
            "ON CONFLICT (site, source_id) DO NOTHING RETURNING post_type, post_id) "
            "SELECT (SELECT count(*) FROM j), count(*), "
            "array_agg(DISTINCT post_id) FILTER (WHERE post_type = 'question') FROM ins"),
            {"site": self.site}).one()
        conn.execute(text("TRUNCATE import_votes_stage"))
        if staged - matched:
            self.summary.skipped["votes on posts not in the dump"] += staged - matched
        if matched - inserted:
            self.summary.already["votes"] += matched - inserted
        if inserted:
            self.summary.imported["votes"] += inserted
            # A question's score is in its search document (a tie-break in ranking).
            self.search_touched.update(questions or ())

    def links(self) -> None:
        path = self.folder / "PostLinks.xml"
        if not path.exists():
            return
        for batch in self._read(path):
            questions = self._mapped("question", [_int(r.get(k)) for r in batch for k in ("PostId", "RelatedPostId")])
            batch = self._once(batch, "links")
            known = self._mapped("link", [_int(r.get("Id")) for r in batch])
            related, remembered, duplicates = [], [], []
            for r in batch:
                sid = _int(r.get("Id"))
                if sid in known:
                    self.summary.already["links"] += 1
                    continue
                a, b = questions.get(_int(r.get("PostId"))), questions.get(_int(r.get("RelatedPostId")))
                if a is None or b is None or a == b:
                    self.summary.skipped["links to questions not in the dump"] += 1
                    continue
                if r.get("LinkTypeId") == "3":  # PostId is a duplicate of RelatedPostId
                    duplicates.append({"qid": a, "original": b})
                    self.summary.imported["duplicates"] += 1
                else:
                    related.append({"question_id": a, "related_id": b,
                                    "created_at": _when(r.get("CreationDate")) or datetime.now(UTC)})
                if sid is not None:
                    remembered.append((sid, a))
            if duplicates:
                table = Question.__table__
                self.s.execute(update(table).where(table.c.id == bindparam("qid")).values(
                    status=QuestionStatus.duplicate.value, duplicate_of_id=bindparam("original"),
                    duplicate_via_id=None), duplicates)  # closed against it directly (chains: repair_chains)
                self.search_touched.update(d["qid"] for d in duplicates)
                self.search_touched.update(d["original"] for d in duplicates)
            if related:
                have = set(self.s.execute(select(QuestionLink.question_id, QuestionLink.related_id).where(
                    QuestionLink.question_id.in_([x["question_id"] for x in related]))).all())
                related = [x for x in related if (x["question_id"], x["related_id"]) not in have]
                related = list({(x["question_id"], x["related_id"]): x for x in related}.values())
                if related:
                    self._write(QuestionLink.__table__, related)
                    self.summary.imported["related links"] += len(related)
            self._remember("link", remembered)
        self._settle_duplicates()

    def _settle_duplicates(self) -> None:
        """Links may chain (8 → 9 → 10) or loop (8 → 9 → 8), in this dump or with an earlier
        one: point every duplicate at the end of its chain and break loops, the question imported
        first (lowest local id; in a dump, the oldest) staying canonical. See
        app/questions/duplicates.py (resolve_chains)."""
        from app.questions.duplicates import repair_chains

        self.s.flush()
        repair = repair_chains(self.s.connection())
        self.search_touched |= repair.touched
        if repair.repointed:
            self.summary.repaired["duplicates re-pointed to the end of their chain"] += len(repair.repointed)
        if repair.reopened:
            self.summary.repaired["duplicate loops broken (oldest question kept canonical)"] += len(repair.reopened)

    def tags_file(self) -> None:
        path = self.folder / "Tags.xml"
        if path.exists():
            for batch in self._read(path):
                names = [t for t in (self._tag(r.get("TagName") or "") for r in batch) if t]
                created = self.summary.imported["tags"]
                self._tag_ids_for(names)
                self.summary.already["tags"] += len(names) - (self.summary.imported["tags"] - created)

    # --- finishing -----------------------------------------------------------------------------

    def finish(self) -> None:
        """Counts and scores from what is now in the database, then reputation through the ledger:
        set-based statements (GROUP BY over the votes), whatever the size of the dump."""
        from app.reputation import service as reputation

        self.progress("  counting answers and scores…")
        t = time.perf_counter()
        conn = self.s.connection()
        pg = conn.dialect.name == "postgresql"
        counts = ("SELECT question_id AS post_id, count(*) AS s FROM answers WHERE deleted_at IS NULL "
                  "AND hidden_at IS NULL GROUP BY question_id")

        def sums(post_type: str) -> str:
            # Every vote, cast here or imported, grouped per post; only imported posts are rescored.
            return (f"SELECT post_id, SUM(value) AS s FROM (SELECT post_id, value FROM votes WHERE post_type = "
                    f"'{post_type}' UNION ALL SELECT post_id, value FROM imported_votes WHERE post_type = "
                    f"'{post_type}') v GROUP BY post_id")

        if pg:
            # One UPDATE per table: a question's answer count and score are written together (each
            # UPDATE writes a new version of every row it changes: at 100k questions, 8 s each).
            score = "CASE WHEN p.source_url IS NOT NULL THEN COALESCE(v.s, 0) ELSE p.score END"
            questions = conn.execute(text(
                f"UPDATE questions p SET answer_count = COALESCE(c.s, 0), score = {score} "
                f"FROM questions p2 LEFT JOIN ({counts}) c ON c.post_id = p2.id "
                f"LEFT JOIN ({sums('question')}) v ON v.post_id = p2.id WHERE p.id = p2.id "
                f"AND (p.answer_count IS DISTINCT FROM COALESCE(c.s, 0) OR p.score IS DISTINCT FROM {score})")).rowcount
            answers = conn.execute(text(
                f"UPDATE answers p SET score = COALESCE(v.s, 0) FROM answers p2 LEFT JOIN ({sums('answer')}) v "
                f"ON v.post_id = p2.id WHERE p.id = p2.id AND p.source_url IS NOT NULL "
                f"AND p.score IS DISTINCT FROM COALESCE(v.s, 0)")).rowcount
        else:
            for name, grouped in (("import_counts", counts), ("import_question_sums", sums("question")),
                                  ("import_answer_sums", sums("answer"))):
                conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
                conn.execute(text(f"CREATE TEMPORARY TABLE {name} AS {grouped}"))
                conn.execute(text(f"CREATE UNIQUE INDEX {name}_post ON {name} (post_id)"))

            def value(table: str, post_table: str) -> str:
                return f"COALESCE((SELECT s FROM {table} WHERE post_id = {post_table}.id), 0)"

            count, q_score, a_score = (value("import_counts", "questions"), value("import_question_sums", "questions"),
                                       value("import_answer_sums", "answers"))
            questions = conn.execute(text(
                f"UPDATE questions SET answer_count = {count}, "
                f"score = CASE WHEN source_url IS NOT NULL THEN {q_score} ELSE score END "
                f"WHERE answer_count IS NOT {count} OR (source_url IS NOT NULL AND score IS NOT {q_score})")).rowcount
            answers = conn.execute(text(
                f"UPDATE answers SET score = {a_score} WHERE source_url IS NOT NULL AND score IS NOT {a_score}")).rowcount
            for name in ("import_counts", "import_question_sums", "import_answer_sums"):
                conn.execute(text(f"DROP TABLE {name}"))
        # The dump's own Score and AnswerCount were the first guess for the new posts (_dump_count);
        # these are the rows where it, or an earlier count of a question already here, was wrong.
        self.summary.recounted = {"questions": questions, "answers": answers}
        self.progress(f"  counts and scores in {time.perf_counter() - t:.1f}s ({questions:,} questions and {answers:,} "
                      f"answers recounted: their stated score or answer count disagreed with the votes or "
                      f"answers); building reputation…")
        t = time.perf_counter()
        reputation.recompute(self.s, fix=True)
        self.progress(f"  reputation in {time.perf_counter() - t:.1f}s")
        from app.search import outbox

        outbox.emit(self.s.connection(), self.search_touched)

    FILLED = ("users", "tags", "questions", "question_tags", "revisions", "answers", "acceptances", "comments",
              "imported_votes", "question_links", "import_map", "reputation_events", "search_outbox")

    def analyze_all(self) -> None:
        """ANALYZE every table the import filled: a server whose autovacuum has not run yet would
        otherwise plan page queries from the statistics of empty tables (issue 11: 137 ms instead
        of 5.6 ms for a question page at 2k questions, minutes for one query at 100k)."""
        conn = self.s.connection()
        t = time.perf_counter()
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE " + ", ".join(self.FILLED)))
        else:
            for table in self.FILLED:
                conn.execute(text(f"ANALYZE {table}"))
        self.progress(f"  statistics refreshed (ANALYZE of {len(self.FILLED)} tables) in "
                      f"{time.perf_counter() - t:.1f}s")


def import_dump(engine: Engine, folder: Path, *, site: str | None = None, product: str | None = None,
                progress: Callable[[str], None] = lambda _m: None, read_in_process: bool | None = None) -> Summary:
    folder = Path(folder)
    if not folder.is_dir():
        raise DumpError(f"{folder} is not a folder")
    if not (folder / "Posts.xml").is_file():
        raise DumpError(f"{folder} has no Posts.xml; is it a Stack Exchange data dump?")
    site = (site or folder.resolve().name).strip().lower()
    if not re.fullmatch(r"[a-z0-9.-]{2,100}", site):
        raise DumpError(f"the site name {site!r} must be a host name like iot.stackexchange.com (use --site)")
    started = time.perf_counter()
    with Session(writer(engine), expire_on_commit=False) as session, session.begin():
        # Dump text comes from XML, which cannot carry NUL: skip the per-value NUL scan (see core.db).
        session.connection(execution_options={NUL_CHECKED: True})
        product_id = None
        if product:
            product_id = session.execute(select(Product.id).where(Product.slug == product)).scalar()
            if product_id is None:
                raise DumpError(f"there is no product {product!r}; create it first or leave out --product")
        imp = _Importer(session, folder, site, product_id, progress, read_in_process)
        steps = (("Users.xml", imp.users), ("Tags.xml", imp.tags_file), ("Posts.xml: questions", imp.questions),
                 ("Posts.xml: answers", imp.answers), ("accepted answers", imp.acceptances),
                 ("Comments.xml", imp.comments), ("Votes.xml", imp.votes), ("PostLinks.xml", imp.links),
                 ("reputation", imp.finish), ("statistics", imp.analyze_all))
        for name, step in steps:
            progress(f"{name}…")
            began = time.perf_counter()
            step()
            if imp._file is not None:
                imp._done(imp._file, imp._n)
            elif name not in ("reputation", "statistics"):  # those print their own timings
                progress(f"  {name} in {time.perf_counter() - began:.1f}s")
            imp.analyze()
        imp.summary.seconds = time.perf_counter() - started
        return imp.summary


__all__ = ["DumpError", "Summary", "import_dump", "rows"]
