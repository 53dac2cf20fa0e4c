"""The demo's mail: without an SMTP URL the web process writes the outbox to the .eml folder itself.

Like the embedded search index (GROUNDSWELL_SEARCH_APPLY_IN_PROCESS), so that `groundswell demo`
shows real messages on /staff/mail with no worker running. Only the folder transport is drained
here: with GROUNDSWELL_SMTP_URL the worker alone talks to the SMTP server. The thread looks for due
rows every POLL_SECONDS with a plain read, and takes the write lock only when there are some.

In the same circumstances (no SMTP URL, in-process work on: the demo) the thread also sends due
webhook deliveries (app/webhooks/service.py: deliver_due), so `groundswell demo` delivers them with
no worker. With an SMTP URL (production) `groundswell worker` sends both. A worker running as well
is harmless: deliveries are claimed with a lease, so each attempt is made once.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import exists, select
from sqlalchemy.engine import Engine

from app.core.db import utcnow

log = logging.getLogger("groundswell.mail")
POLL_SECONDS = 2.0


class FolderDrainer:
    def __init__(self, engine: Engine, settings):
        self.engine, self.settings = engine, settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mail-folder", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _due(self) -> bool:
        from app.mail.models import EmailOutbox

        with self.engine.connect() as conn:
            return bool(conn.execute(select(exists().where(EmailOutbox.status == "pending",
                                                           EmailOutbox.next_attempt_at <= utcnow()))).scalar())

    def _hooks_due(self) -> bool:
        from app.webhooks.models import WebhookDelivery

        with self.engine.connect() as conn:
            return bool(conn.execute(select(exists().where(WebhookDelivery.status == "pending",
                                                           WebhookDelivery.next_attempt_at <= utcnow()))).scalar())

    def _run(self) -> None:
        from app.mail import sender
        from app.webhooks import service as webhooks_service

        while not self._stop.wait(POLL_SECONDS):
            try:
                if self._due():
                    sender.run(self.engine, self.settings)
            except Exception:  # noqa: BLE001 - mail trouble never stops the site
                log.exception("mail: writing the outbox to the folder failed")
            try:
                if self._hooks_due():
                    webhooks_service.deliver_due(self.engine)
            except Exception:  # noqa: BLE001 - a webhook receiver's trouble never stops the site
                log.exception("webhooks: in-process delivery failed")


def start(settings, engine: Engine) -> FolderDrainer | None:
    """Start the drainer when mail goes to a folder and in-process work is on (not in tests)."""
    if settings.smtp_url is not None and settings.smtp_url.get_secret_value().strip():
        return None
    if not settings.search_apply_in_process:
        return None
    drainer = FolderDrainer(engine, settings)
    drainer.start()
    return drainer


def stop(drainer: FolderDrainer | None) -> None:
    if drainer is not None:
        drainer.stop()
