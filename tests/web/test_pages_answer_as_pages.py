"""A forum page answers a browser with a page, whoever asks: a visitor who is not signed in is
sent to sign in, a customer who may not see a staff page gets the forum's own error page. Never
problem+json (that is the API's answer), which a browser shows as raw text, and never a bare
401 page where the sign-in form is one redirect away.

The walk reads the app's own routes: every GET route that gives a signed-in admin an HTML page
is requested anonymously and as a customer. A page added later is covered too."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.test_head import _fill, community, get_paths  # noqa: F401 - `community` is a fixture
from tests.web.conftest import Browser

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _is_html(response) -> bool:
    return response.headers.get("content-type", "").startswith("text/html")


def test_every_page_answers_visitors_and_customers_with_a_page(app, community, factory, session):
    factory.user("omar_admin", role="admin")
    factory.user("kim")  # a customer with no posts
    session.commit()
    admin = Browser(TestClient(app, headers=HTML))
    customer = Browser(TestClient(app, headers=HTML))
    anonymous = TestClient(app, headers=HTML)
    pages, wrong = [], []
    with admin.client, customer.client, anonymous:
        admin.sign_in("omar_admin")
        customer.sign_in("kim")
        for template in get_paths(app):
            if template.startswith(("/api/", "/static", "/docs", "/redoc", "/openapi")):
                continue
            path = _fill(template, community)
            if not _is_html(admin.client.get(path)):
                continue  # not a page (feeds, sitemap, scripts, health, fragments for scripts)
            pages.append(path)
            seen = anonymous.get(path, follow_redirects=False)
            if seen.status_code in (301, 302, 303, 307, 308):
                anonymous.get("/")  # spends the "Sign in to continue." flash
            elif seen.status_code == 401:  # a page that needs a signed-in viewer sends them to sign in
                wrong.append(("anonymous", path, 401, "not sent to /signin"))
            elif not _is_html(seen):
                wrong.append(("anonymous", path, seen.status_code, seen.headers.get("content-type")))
            seen = customer.client.get(path, follow_redirects=False)
            if seen.status_code not in (301, 302, 303, 307, 308) and not _is_html(seen):
                wrong.append(("customer", path, seen.status_code, seen.headers.get("content-type")))
    assert len(pages) > 30, pages  # the walk reached the forum's pages
    assert "/moderation/flags" in pages and "/staff/escalations" in pages
    assert wrong == []
