"""Helpers for the escalation tests: a controllable clock (services take now=) and ready-made
escalations in each state, built through the real services."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core.db import utcnow
from app.escalation import service as esc_service


class Clock:
    """Time as the tests decide it: starts now, moves only when told."""

    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **kw):
        self.now += timedelta(**kw)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(session, factory, clock):
    """Two agents (lena, omar), an admin, a customer asker, and a way to make escalations."""

    class Desk:
        lena = factory.user("lena", role="staff")
        omar = factory.user("omar", role="staff")
        admin = factory.user("sam_admin", role="admin")
        maya = factory.user("maya")

        @staticmethod
        def escalation(status: str = "open", question=None, by=None):
            q = question or factory.question(author=Desk.maya)
            esc, created = esc_service.escalate(session, actor=Desk.lena, question_id=q.id,
                                                reason="Customer stuck", now=clock())
            assert created
            if status in ("claimed", "waiting", "resolved_claimed"):
                esc_service.claim(session, actor=by or Desk.lena, escalation_id=esc.id, now=clock())
            if status == "waiting":
                esc_service.wait_on_customer(session, actor=by or Desk.lena, escalation_id=esc.id, now=clock())
            if status == "handed_off":
                esc_service.hand_off(session, actor=Desk.lena, escalation_id=esc.id, ticket="JIRA-1", now=clock())
            if status == "resolved":
                esc_service.resolve(session, actor=Desk.lena, escalation_id=esc.id, resolution="Fixed",
                                    answer_body="Install firmware 1.2.3, then restart the dock.", now=clock())
            return esc

    return Desk
