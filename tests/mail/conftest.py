"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the e-mail tests, and helpers to read its mail."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from tests.conftest import make_settings


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    smtp_utf8: bool = False  # MAIL FROM carried SMTPUTF8 (RFC 6531)

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)

    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()

    def link(self, path: str) -> str:
        """The first link in the plain text starting with base URL + `path`."""
        found = re.search(r"http://testserver" + re.escape(path) + r"\S*", self.text())
        assert found, f"no link to {path} in:\n{self.text()}"
        return found.group(0)


@dataclass
class Handler:
    """Records every accepted message. `refuse_rcpt`: reply this to RCPT TO (e.g. "451 …", "550 …");
    `rcpt_replies`: the same per recipient address; `data_replies`: reply this to DATA when the
    message is for that recipient (refused after the envelope was taken). `hold`: when set, DATA is
    accepted only after this Event is set (the message is recorded first)."""

    messages: list[Received] = field(default_factory=list)
    refuse_rcpt: str | None = None
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_replies: dict[str, str] = field(default_factory=dict)
    hold: threading.Event | None = None
    data_started: threading.Event = field(default_factory=threading.Event)
    attempts: int = 0

    async def handle_RCPT(self, server, session, envelope: Envelope, address, rcpt_options):
        self.attempts += 1
        if self.refuse_rcpt:
            return self.refuse_rcpt
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope: Envelope):
        for rcpt in envelope.rcpt_tos:
            if rcpt in self.data_replies:
                return self.data_replies[rcpt]
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      envelope.original_content or envelope.content, envelope.smtp_utf8))
        self.data_started.set()
        if self.hold is not None:
            import asyncio

            while not self.hold.is_set():
                await asyncio.sleep(0.01)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(**options) -> Iterator[tuple[Handler, int]]:
    handler = Handler()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield handler, port
    finally:
        if handler.hold is not None:
            handler.hold.set()
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[tuple[Handler, int]]:
    """An SMTP server that offers SMTPUTF8 (RFC 6531), as aiosmtpd's Controller does by default."""
    yield from _serve()


@pytest.fixture
def smtp_ascii() -> Iterator[tuple[Handler, int]]:
    """An SMTP server that does not offer SMTPUTF8 in its EHLO reply."""
    yield from _serve(enable_SMTPUTF8=False)


@pytest.fixture
def smtp_settings(db_url, smtp):
    _, port = smtp
    return make_settings(db_url, smtp_url=f"smtp://127.0.0.1:{port}", base_url="http://testserver",
                         email_from="Kestrel Community <community@kestrel.example>")


@pytest.fixture
def settings(smtp_settings):
    return smtp_settings


from tests.api.conftest import login  # noqa: E402,F401  (bearer tokens for the API tests)
from tests.web.conftest import browsers  # noqa: E402,F401  (browser-like clients for the forum)
