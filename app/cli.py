"""The `groundswell` command line (CONTRACT.md). User mistakes end with one line on stderr and exit 1."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
import time
from pathlib import Path

EXIT_ERROR = 1


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 1."""


def _settings():
    from app.core.config import SettingsError, get_settings

    try:
        settings = get_settings()
        settings.secret  # without GROUNDSWELL_SECRET_KEY: the installation's key, made once (one-line error)
        return settings
    except SettingsError as exc:
        raise CliError(str(exc)) from None


def _configure_logging(settings) -> dict:
    """Logfmt lines on stderr at GROUNDSWELL_LOG_LEVEL (app/core/logs.py); returns the dictConfig
    for uvicorn to apply in its worker processes too."""
    import logging.config

    from app.core.logs import logging_config

    logging.config.dictConfig(logging_config(settings.log_level))
    return logging_config(settings.log_level)  # a fresh one: dictConfig may change what it is given


def _engine(settings):
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from app.core.db import engine_for, import_all_models

    # Every model, so that foreign keys resolve (the ledger's products.id) whatever the command imports.
    import_all_models()
    try:
        engine = engine_for(settings)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise CliError(f"cannot reach the database {_safe_url(settings.database_url)}: {reason}") from None
    return engine


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as given
        return url


def cmd_migrate(args) -> None:
    from app.core import migrate

    settings = _settings()
    engine = _engine(settings)
    migrate.upgrade(settings.database_url)
    engine.dispose()
    print("database is up to date", file=sys.stderr)


def _ensure_migrated(settings, engine) -> None:
    from app.core import migrate

    if migrate.pending(engine):
        if settings.database_url.startswith("sqlite"):
            print("applying database migrations…", file=sys.stderr)
            migrate.upgrade(settings.database_url)
        else:
            raise CliError("the database schema is behind this version: run `groundswell migrate` first")


def _port(value: str) -> int:
    """argparse type of --port: a TCP port, 1–65535 (a larger number would wrap around to another
    port, 0 to one the system picks, while the command announced the number given)."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port: {value!r} (a number from 1 to 65535)") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port: {port} (a number from 1 to 65535)")
    return port


def _check_listen(host: str, port: int) -> None:
    """Raise CliError with the reason when nothing could listen on host:port now (taken, not an
    address of this machine, a privileged port, an unknown host name), so that `serve` and `demo`
    say so in one line before announcing anything. Binds and closes a socket as uvicorn binds its
    own (uvicorn.Config.bind_socket: IPv6 when the host has a colon, else IPv4; SO_REUSEADDR, so
    a port in TIME_WAIT does not count as taken)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except socket.gaierror as exc:
            raise CliError(f"cannot listen on {host}:{port}: unknown host ({exc.strerror})") from None
        except OSError as exc:
            raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def cmd_serve(args) -> None:
    import uvicorn

    from app.main import create_app

    workers = getattr(args, "workers", 1)  # `demo` serves with one
    if workers < 1:
        raise CliError("--workers must be at least 1")
    _check_listen(args.host, args.port)
    settings = _settings()
    log_config = _configure_logging(settings)
    engine = _engine(settings)
    _ensure_migrated(settings, engine)
    print(f"Groundswell is serving on http://{args.host}:{args.port}/ "
          f"({workers} worker{'s' if workers > 1 else ''}; Ctrl+C stops it)", file=sys.stderr)
    # X-Forwarded-* are handled in the app, from GROUNDSWELL_TRUSTED_PROXIES only (app/main.py); uvicorn's
    # own handling would trust them from any local client (its default forwarded_allow_ips). Its access
    # log stays off: app.core.logs.RequestLog writes one line per request, with the request id.
    server = dict(host=args.host, port=args.port, log_config=log_config, log_level="warning", access_log=False,
                  proxy_headers=False)
    if workers > 1:
        # Each worker process builds its own app, engine and pool from the same settings; one search
        # process owns the search index for all of them (app/search/owner.py), unless turned off.
        engine.dispose()
        supervisor = None
        if settings.search_process == "auto":
            from app.search.owner import Supervisor

            supervisor = Supervisor()
            supervisor.start(args.host, args.port)
        try:
            uvicorn.run("app.main:create_app", factory=True, workers=workers, **server)
        finally:
            if supervisor is not None:
                supervisor.stop()
        return
    app = create_app(settings, engine)
    uvicorn.run(app, **server)


def cmd_create_user(args) -> None:
    from pydantic import ValidationError
    from sqlmodel import Session

    from app.accounts import service as accounts_service
    from app.accounts.models import Role
    from app.accounts.schemas import UserCreate
    from app.core.db import writer
    from app.core.errors import DomainError

    settings = _settings()
    engine = _engine(settings)
    _ensure_migrated(settings, engine)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        if not sys.stdin.isatty():
            raise CliError("no terminal to prompt for a password: pass --password-stdin and pipe it in")
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise CliError("the two passwords differ")
    try:
        data = UserCreate(username=args.name, email=args.email, password=password)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CliError(f"{first['loc'][0]}: {first['msg']}") from None
    try:
        with Session(writer(engine)) as session, session.begin():
            user = accounts_service.register(session, data, role=Role(args.role), site_name=settings.site_name)
            print(f"created {user.role} {user.username} (id {user.id})")
    except DomainError as exc:
        raise CliError(exc.detail) from None


def cmd_demo(args) -> None:
    from app.demo import loader

    settings = _settings()
    if settings.env == "production":
        raise CliError("the demo creates accounts (staff included) with a published password: it refuses to run "
                       "with GROUNDSWELL_ENV=production")
    _check_listen(args.host, args.port)  # before loading: the reason in one line, not after 15 s
    if "base_url" not in settings.model_fields_set:
        # Canonical links, the sitemap, robots.txt and every link in mail point at the address the
        # demo serves on: set before loading, so that what the loader writes links there too.
        settings.base_url = f"http://{args.host}:{args.port}"
    from app.mail import outbox

    outbox.configure(settings)
    started = time.monotonic()
    engine = _engine(settings)
    _ensure_migrated(settings, engine)
    summary = loader.load(engine, progress=lambda msg: print(msg, file=sys.stderr))
    print(f"demo community ready in {time.monotonic() - started:.1f}s: {summary}", file=sys.stderr)
    print(f"sign in as any demo user with the password '{loader.DEMO_PASSWORD}' (e.g. maya, raj_builds, "
          f"lena_kestrel for staff)", file=sys.stderr)
    cmd_serve(args)


def _recompute(args, rebuild, lines, mismatch: str) -> None:
    """Run a rebuild (`rebuild(session, fix=…)` → a report with summary() and differences) in one
    transaction; with --check roll it back and exit 1 when anything differs."""
    from sqlmodel import Session

    from app.core.db import writer

    settings = _settings()
    engine = _engine(settings)
    _ensure_migrated(settings, engine)
    started = time.monotonic()
    with Session(writer(engine)) as session, session.begin():
        report = rebuild(session, fix=not args.check)
        if args.check:
            session.rollback()
    print(f"{'checked' if args.check else 'recomputed'} in {time.monotonic() - started:.1f}s: {report.summary()}")
    for line in lines(report)[:20]:
        print(f"  {line}")
    if args.check and report.differences:
        raise CliError(f"{mismatch} differ in {report.differences} places (run without --check to repair)")


def cmd_recompute_reputation(args) -> None:
    from app.reputation import service as reputation

    _recompute(args, reputation.recompute, lambda r: r.changed_users, "the ledger and the cached balances")


def cmd_recompute_badges(args) -> None:
    from app.badges import service as badges

    _recompute(args, badges.recompute, lambda r: r.changed, "the awarded badges and what the data supports")


def cmd_worker(args) -> None:
    from app.worker import run_worker

    settings = _settings()
    _configure_logging(settings)
    engine = _engine(settings)
    _ensure_migrated(settings, engine)
    run_worker(engine, once=args.once, log=logging.getLogger("groundswell.worker").info)


def cmd_import_stackexchange(args) -> None:
    from app.importer.stackexchange import DumpError, import_dump

    settings = _settings()
    engine = _engine(settings)
    _ensure_migrated(settings, engine)
    try:
        summary = import_dump(engine, Path(args.dir), site=args.site, product=args.product,
                              progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    except DumpError as exc:
        raise CliError(str(exc)) from None
    print("\n".join(summary.lines()))


def cmd_reindex(args) -> None:
    from app.search import reindex
    from app.search.ports import SearchUnavailable

    settings = _settings()
    engine = _engine(settings)
    _ensure_migrated(settings, engine)
    started = time.monotonic()
    try:
        count = reindex.run(settings, engine, progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    except SearchUnavailable as exc:
        raise CliError(f"the search backend failed: {exc}") from None
    print(f"reindexed {count:,} searchable questions ({settings.search_backend}) in {time.monotonic() - started:.1f}s")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="groundswell", description="Groundswell: crowdsourced customer tech support.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def server_args(p):
        p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        p.add_argument("--port", type=_port, default=8000, help="port, 1-65535 (default 8000)")

    p = sub.add_parser("serve", help="serve the forum and the API (applies migrations first on SQLite)")
    server_args(p)
    p.add_argument("--workers", type=int, default=1,
                   help="server processes (default 1); each has its own GROUNDSWELL_MAX_INFLIGHT slots and pool")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("create-user", help="create an account, e.g. for staff and admins")
    p.add_argument("name", help="username: 3-30 letters, digits, _ or -")
    p.add_argument("--email", required=True)
    p.add_argument("--role", choices=["customer", "staff", "moderator", "admin"], default="customer")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.set_defaults(func=cmd_create_user)

    p = sub.add_parser("demo", help="migrate, load the demo community (idempotent) and serve on 127.0.0.1:8000")
    server_args(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("recompute-reputation",
                       help="rebuild every reputation balance from votes and acceptances (the ledger's audit)")
    p.add_argument("--check", action="store_true", help="only report differences; exit 1 if there are any")
    p.set_defaults(func=cmd_recompute_reputation)

    p = sub.add_parser("recompute-badges",
                       help="rebuild the awarded badges from posts, votes, acceptances, deflections and flags")
    p.add_argument("--check", action="store_true", help="only report differences; exit 1 if there are any")
    p.set_defaults(func=cmd_recompute_badges)

    p = sub.add_parser("worker", help="run background jobs (every one a community needs: e-mail, webhooks and "
                               "escalation timers stop without it): search indexing and learning, e-mail and "
                               "digests, webhooks, escalation timers, badges, serial-voting detection, "
                               "private-message retention")
    p.add_argument("--once", action="store_true", help="run every job once now and exit")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("import-stackexchange", help="import a Stack Exchange data-dump folder (idempotent)")
    p.add_argument("dir", help="folder with Posts.xml (and Users, Votes, Comments, PostLinks, Tags .xml)")
    p.add_argument("--site", help="the site's host name, for source links and re-imports "
                                  "(default: the folder's name), e.g. iot.stackexchange.com")
    p.add_argument("--product", metavar="SLUG", help="file every imported question under this product")
    p.set_defaults(func=cmd_import_stackexchange)

    p = sub.add_parser("reindex", help="rebuild the search index from the database; returns when it is complete")
    p.set_defaults(func=cmd_reindex)

    from app.apikeys.cli import add_parser as add_api_key_parser

    add_api_key_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    # One BLAS thread: the similar-question dot product is memory-bound, and a second spinning
    # thread on a 2-core server doubles its median and multiplies its tail (docs/search.md).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except CliError as exc:
        print(f"groundswell: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    # Run the importable module's main, not this __main__ copy: commands in other modules
    # (app/apikeys/cli.py) raise app.cli.CliError, which must be the class main() catches.
    from app.cli import main as _main

    sys.exit(_main())
