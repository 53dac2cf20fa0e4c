"""Where messages go: an SMTP server (GROUNDSWELL_SMTP_URL) or a folder of .eml files.

`smtp://[user:pass@]host[:port][?starttls=1]` speaks plain SMTP (port 25 by default) and upgrades
with STARTTLS when asked; `smtps://…` uses TLS from the start (port 465). User and password are
percent-decoded. Built on the standard library's smtplib (RFC 5321/3207 client; no dependency).

Outcomes (`deliver`): returns on success; raises `TemporaryFailure` (connection trouble, 4xx
replies: retry later) or `PermanentFailure` (5xx replies: the address or the message is refused;
`bounced=True` when the recipient itself was refused, RFC 5321 §4.2.5).

Internationalised addresses (`wire_address`): the domain goes out as IDNA A-labels
(`user@bücher.example` → `user@xn--bcher-kva.example`), encoded by the `idna` package (IDNA 2008,
RFC 5891/5892, with the UTS #46 mapping that lower-cases the name first); it is always installed
(anyio, httpx and requests need it). Only if it were missing does Python's own "idna" codec
(IDNA 2003, RFC 3490) do it. A non-ASCII local part (`δοκιμή@example.com`) has no ASCII form: it
needs a server that offers SMTPUTF8 (RFC 6531), and then smtplib sends `MAIL FROM … SMTPUTF8` and
the message with UTF-8 headers (RFC 6532). A server without SMTPUTF8 can never take it, so that is
a PermanentFailure (not a bounce: the address may be fine), not a retry.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

try:
    import idna as _idna
except ImportError:  # pragma: no cover - anyio, httpx and requests all depend on it
    _idna = None
# The standard the domains are encoded by, as the failure reasons name it.
IDNA_STANDARD = "IDNA 2008, RFC 5891" if _idna is not None else "IDNA 2003, RFC 3490"


class TemporaryFailure(Exception):
    """Try again later (connection refused or lost, timeouts, 4xx replies)."""


class PermanentFailure(Exception):
    """Do not try again (5xx replies). `bounced`: the recipient address itself was refused."""

    def __init__(self, message: str, *, bounced: bool = False):
        super().__init__(message)
        self.bounced = bounced


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    tls: bool = False  # smtps: TLS from the first byte
    timeout: float = 30.0


def parse_smtp_url(url: str) -> SmtpTarget:
    """SmtpTarget of `smtp://[user:pass@]host[:port][?starttls=1]` or `smtps://…`; ValueError
    with a one-line reason when the URL is not one."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"GROUNDSWELL_SMTP_URL must start with smtp:// or smtps://, not {parts.scheme or '(nothing)'}://")
    if not parts.hostname:
        raise ValueError("GROUNDSWELL_SMTP_URL names no host (e.g. smtp://mail.example:587?starttls=1)")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("GROUNDSWELL_SMTP_URL has a port that is not a number from 1 to 65535") from None
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    flag = query.get("starttls", "0").lower()
    timeout = float(query.get("timeout", "30"))
    tls = parts.scheme == "smtps"
    return SmtpTarget(
        host=parts.hostname, port=port or (465 if tls else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        starttls=flag in ("1", "true", "yes", "on"), tls=tls, timeout=timeout)


def idna_domain(domain: str) -> str:
    """`domain` as ASCII (A-labels, "xn--…"): unchanged when already ASCII; else IDNA 2008 (RFC 5891)
    with the UTS #46 mapping by the `idna` package (IDNA 2003, RFC 3490, by Python's codec if the
    package is missing). ValueError (idna.IDNAError / UnicodeError) when it is not a valid name."""
    if domain.isascii():
        return domain
    if _idna is not None:
        return _idna.encode(domain, uts46=True).decode("ascii")
    return domain.encode("idna").decode("ascii")


def wire_address(address: str) -> tuple[str, bool]:
    """The address as it goes into the SMTP envelope and the To header, and whether it needs
    SMTPUTF8: (`local@A-label-domain`, local part is not ASCII). Raises PermanentFailure(bounced=True)
    when it is no address at all or its domain is not a valid internationalised name (it can never
    be delivered, so the address counts as bounced). See the module docstring."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        raise PermanentFailure(f"not an e-mail address: {address!r}", bounced=True)
    try:
        ascii_domain = idna_domain(domain)
    except (UnicodeError, ValueError) as exc:
        raise PermanentFailure(f"the domain of {address!r} is not a valid internationalised domain name "
                               f"({IDNA_STANDARD}): {exc}"[:300], bounced=True) from None
    return f"{local}@{ascii_domain}", not local.isascii()


def header_address(address: str) -> str:
    """The address for the To header: with an ASCII local part, the IDNA-encoded form (the header
    then stays ASCII, RFC 5322); with a non-ASCII local part, as stored (it only goes out with
    SMTPUTF8, whose UTF-8 headers RFC 6532 allows); unchanged when it is not a valid address (the
    transport refuses it with the reason)."""
    try:
        wire, utf8 = wire_address(address)
    except PermanentFailure:
        return address
    return address if utf8 else wire


def no_smtputf8(address: str, server: str) -> PermanentFailure:
    """The failure of an address with a non-ASCII local part at a server without SMTPUTF8."""
    return PermanentFailure(f"{address} has a non-ASCII local part, which needs SMTPUTF8 (RFC 6531), and {server} "
                            "does not offer it; not retried (use a server that offers SMTPUTF8, or ask the user "
                            "for an ASCII address)"[:300])


class SmtpTransport:
    """One SMTP transaction per message (a connection per batch would save a few round trips but
    make a failure's blast radius larger; volumes here are small)."""

    def __init__(self, target: SmtpTarget):
        self.target = target
        self.name = f"smtp://{target.host}:{target.port}"

    def deliver(self, message: EmailMessage, sender: str, recipient: str) -> None:
        """Send `message` from envelope `sender` to `recipient` (addresses as stored; the domains go
        out IDNA-encoded and a non-ASCII local part only with SMTPUTF8: wire_address). Returns on the
        server's 250; raises TemporaryFailure or PermanentFailure (module docstring)."""
        t = self.target
        rcpt, rcpt_utf8 = wire_address(recipient)
        try:
            mail_from, from_utf8 = wire_address(sender)
        except PermanentFailure as exc:  # our own address (GROUNDSWELL_EMAIL_FROM): not the recipient's bounce
            raise PermanentFailure(f"the sender address: {exc}") from None
        try:
            cls = smtplib.SMTP_SSL if t.tls else smtplib.SMTP
            kwargs = {"context": ssl.create_default_context()} if t.tls else {}
            with cls(t.host, t.port, timeout=t.timeout, **kwargs) as smtp:
                smtp.ehlo()
                if t.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if t.username:
                    smtp.login(t.username, t.password or "")
                if (rcpt_utf8 or from_utf8) and not smtp.has_extn("smtputf8"):
                    raise no_smtputf8(recipient if rcpt_utf8 else sender, self.name)
                # With a non-ASCII address smtplib adds SMTPUTF8 and BODY=8BITMIME to MAIL FROM and
                # writes the headers in UTF-8 (RFC 6531/6532); otherwise the headers stay ASCII.
                smtp.send_message(message, from_addr=mail_from, to_addrs=[rcpt])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise _classify(code, reply, bounced=True) from None
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, auth failed, 4xx
            raise _classify(exc.smtp_code, exc.smtp_error, bounced=False) from None
        except (smtplib.SMTPException, OSError, socket.timeout) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}"[:300]) from None


def _classify(code: int, reply: bytes | str, *, bounced: bool) -> Exception:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    line = f"{code} {text}"[:300]
    if 500 <= code < 600:
        return PermanentFailure(line, bounced=bounced)
    return TemporaryFailure(line)


class FolderTransport:
    """Without an SMTP URL (the demo): each message becomes `<outbox id>-<kind>.eml` in a folder,
    listed by the staff page /staff/mail."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.name = f"folder {self.folder}"

    def path_for(self, row_id: int, kind: str) -> Path:
        return self.folder / f"{row_id:08d}-{kind}.eml"

    def deliver(self, message: EmailMessage, sender: str, recipient: str, *, row_id: int = 0, kind: str = "mail") -> Path:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.path_for(row_id, kind)
            tmp = path.with_suffix(".tmp")
            utf8 = not all(str(message.get(h, "")).isascii() for h in ("To", "From"))
            tmp.write_bytes(message.as_bytes(policy=message.policy.clone(utf8=True)) if utf8 else bytes(message))
            tmp.replace(path)  # atomic: the staff page never lists half a file
            return path
        except OSError as exc:
            raise TemporaryFailure(f"cannot write to {self.folder}: {exc.strerror}") from None


def transport_for(settings) -> SmtpTransport | FolderTransport:
    """The transport the settings ask for (SMTP when GROUNDSWELL_SMTP_URL is set)."""
    if settings.smtp_url is not None and settings.smtp_url.get_secret_value().strip():
        return SmtpTransport(parse_smtp_url(settings.smtp_url.get_secret_value()))
    return FolderTransport(settings.email_dir)
