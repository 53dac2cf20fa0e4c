"""`groundswell api-key create NAME --owner USER --scope S [--scope S…]`, `api-key list`,
`api-key revoke ID` (CONTRACT.md). The operator acts (no actor): every key action still goes
through app/apikeys/service.py."""

from __future__ import annotations


def add_parser(sub) -> None:
    """Register the `api-key` command on the CLI's subparsers."""
    from app.apikeys.scopes import SCOPES

    p = sub.add_parser("api-key", help="create, list and revoke API keys for product sites")
    cmds = p.add_subparsers(dest="api_key_command", required=True, metavar="ACTION")
    c = cmds.add_parser("create", help="create a key; prints the secret once (last line of output)")
    c.add_argument("name", help="what the key is for, e.g. the product site's address")
    c.add_argument("--owner", required=True, metavar="USER", help="the account the key acts as")
    c.add_argument("--scope", action="append", required=True, metavar="S",
                   help="repeatable; one of: " + ", ".join(SCOPES))
    c.add_argument("--origin", action="append", default=[], metavar="ORIGIN",
                   help="repeatable: browser origins allowed to use the key (default: any)")
    c.add_argument("--rate-limit", type=int, metavar="N", help="requests per minute (default 600)")
    c.set_defaults(func=cmd_create)
    ls = cmds.add_parser("list", help="list keys (the secret is never shown again)")
    ls.set_defaults(func=cmd_list)
    r = cmds.add_parser("revoke", help="revoke a key by its id")
    r.add_argument("id", type=int)
    r.set_defaults(func=cmd_revoke)


def _run(fn):
    from sqlmodel import Session

    from app.cli import CliError, _engine, _ensure_migrated, _settings
    from app.core.db import writer
    from app.core.errors import DomainError

    settings = _settings()
    engine = _engine(settings)
    _ensure_migrated(settings, engine)
    try:
        with Session(writer(engine)) as session, session.begin():
            return fn(session)
    except DomainError as exc:
        raise CliError(exc.detail) from None


def cmd_create(args) -> None:
    from app.accounts import service as accounts_service
    from app.apikeys import service

    def create(session):
        owner = accounts_service.get_by_username(session, args.owner)
        key, plain = service.create(session, actor=None, owner=owner, name=args.name, scopes=args.scope,
                                    allowed_origins=args.origin, rate_limit=args.rate_limit)
        print(f"created API key {key.id} {key.name!r} for {owner.username}, scopes: {key.scopes}")
        print("the secret is shown once; store it now:")
        print(plain)

    _run(create)


def cmd_list(args) -> None:
    from app.accounts.models import User
    from app.apikeys import service

    def show(session):
        keys = service.list_keys(session, actor=None)
        if not keys:
            print("no API keys")
        for k in keys:
            owner = session.get(User, k.user_id)
            state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
            used = f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never"
            print(f"{k.id}\t{k.prefix}…\t{k.name}\towner={owner.username if owner else '?'}\t"
                  f"scopes={k.scopes}\t{state}\tlast used {used}")

    _run(show)


def cmd_revoke(args) -> None:
    from app.apikeys import service

    def revoke(session):
        key = service.revoke(session, actor=None, key_id=args.id)
        print(f"revoked API key {key.id} {key.name!r}")

    _run(revoke)
