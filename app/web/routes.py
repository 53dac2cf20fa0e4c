"""The server-rendered forum: every page works without JavaScript; every form posts and redirects."""

from __future__ import annotations

from fastapi import APIRouter

from app.web import accounts, badges, catalog, directory, escalation, mail, moderation, questions, reputation, search
from app.web import savedviews, sites

router = APIRouter(include_in_schema=False)
router.include_router(accounts.router)
router.include_router(mail.router)  # e-mail, following, account self-service
router.include_router(catalog.router)
router.include_router(directory.router)
router.include_router(badges.router)
# Before questions: /questions/{id}/suggest-edit must not be taken for a slug.
router.include_router(reputation.router)
router.include_router(search.router)
router.include_router(escalation.router)
router.include_router(sites.router)
router.include_router(moderation.router)
router.include_router(savedviews.router)  # saved views as columns (issue 18)
from app.web import internal as _internal  # noqa: E402  (issue 18: the staff-only space)

router.include_router(_internal.router)  # before questions: /questions/{id}/internal-links is not a slug
router.include_router(questions.router)
