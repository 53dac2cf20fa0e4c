"""Factories that build rows through the real services (flush only; tests decide when to commit)."""

from __future__ import annotations

import itertools

import pytest
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import Role, User
from app.accounts.schemas import UserCreate
from app.answers import service as answers_service
from app.products import service as products_service
from app.products.schemas import ProductCreate
from app.questions import service as questions_service
from app.questions.schemas import AnswerCreate, QuestionCreate

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


def make_user(session: Session, username: str | None = None, role: Role | str = Role.customer, **kw) -> User:
    n = next(_seq)
    username = username or f"user{n}"
    user = accounts_service.register(
        session, UserCreate(username=username, email=kw.pop("email", f"{username}@example.com"), password=PASSWORD),
        role=Role(role),
    )
    for k, v in kw.items():
        setattr(user, k, v)
    session.flush()
    return user


def make_product(session: Session, slug: str = "aero-14", name: str = "Kestrel Aero 14") -> object:
    staff = make_user(session, role=Role.staff)
    return products_service.create(session, actor=staff, data=ProductCreate(slug=slug, name=name, description="A laptop."))


def make_question(session: Session, author: User | None = None, title: str | None = None, **kw):
    author = author or make_user(session)
    data = QuestionCreate(
        title=title or f"Wi-Fi drops every few minutes #{next(_seq)}",
        body=kw.pop("body", "After the latest update my Wi-Fi keeps dropping. What can I try?"),
        tags=kw.pop("tags", ["wifi"]),
        product=kw.pop("product", None),
    )
    return questions_service.ask(session, actor=author, data=data)


def make_answer(session: Session, question, author: User | None = None, body: str | None = None):
    author = author or make_user(session)
    return answers_service.post(session, actor=author, question_id=question.id,
                                data=AnswerCreate(body=body or "Roll back the driver from Device Manager and reboot."))


@pytest.fixture
def factory(session):
    class F:
        user = staticmethod(lambda *a, **k: make_user(session, *a, **k))
        product = staticmethod(lambda *a, **k: make_product(session, *a, **k))
        question = staticmethod(lambda *a, **k: make_question(session, *a, **k))
        answer = staticmethod(lambda *a, **k: make_answer(session, *a, **k))

    return F


def token_headers(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
