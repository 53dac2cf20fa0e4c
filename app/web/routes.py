"""The server-rendered forum: every page works without JavaScript; every form posts and redirects."""

from __future__ import annotations

from fastapi import APIRouter

from app.core.routing import include_flat
from app.web import accounts, badges, catalog, directory, escalation, mail, moderation, questions, reputation, search
from app.web import savedviews, sites

router = APIRouter(include_in_schema=False)
include_flat(router, accounts.router)
include_flat(router, mail.router)  # e-mail, following, account self-service
include_flat(router, catalog.router)
include_flat(router, directory.router)
include_flat(router, badges.router)
# Before questions: /questions/{id}/suggest-edit must not be taken for a slug.
include_flat(router, reputation.router)
include_flat(router, search.router)
include_flat(router, escalation.router)
include_flat(router, sites.router)
include_flat(router, moderation.router)
include_flat(router, savedviews.router)  # saved views as columns (issue 18)
from app.web import internal as _internal  # noqa: E402  (issue 18: the staff-only space)

include_flat(router, _internal.router)  # before questions: /questions/{id}/internal-links is not a slug
include_flat(router, questions.router)
