"""Staff pages for product sites (issue 16): API keys (create shows the secret once, a mistake
keeps the typed text, revoke), the widget page (snippet per product, live preview), webhooks
(admins only, register, delivery log, redeliver), and /widget.js itself. Both databases."""

from __future__ import annotations

import gzip
import html
import re

from app.accounts.models import ApiKey
from app.webhooks.models import WebhookEndpoint
from tests.api.conftest import fetch  # noqa: F401  (fixture: the row as the database holds it now)
from tests.web.conftest import text_of


def test_api_keys_page(web, factory, session, fetch):
    factory.user("sam_staff", role="admin")  # only admins create keys owned by another account
    factory.user("kestrel_site")
    session.commit()
    web.sign_in("sam_staff")
    r = web.submit("/staff/api-keys", "/staff/api-keys", {"name": "www.kestrel.example", "owner": "kestrel_site",
                                                           "scope_read": "1", "scope_deflect": "1",
                                                           "allowed_origins": "https://www.kestrel.example"})
    assert r.status_code == 200
    secret = re.search(r'value="(gsk_[^"]+)" data-new-secret', r.text).group(1)
    assert "Copy the secret now" in r.text
    key = fetch(ApiKey, 1)
    assert key.scopes == "deflect read" and key.prefix == secret[:12]
    again = web.get("/staff/api-keys")
    assert secret not in again.text and secret[:12] in again.text
    # A mistake: the form comes back with the message and what was typed.
    r = web.submit("/staff/api-keys", "/staff/api-keys", {"name": "shop two", "owner": "kestrel_site",
                                                           "allowed_origins": "https://shop.example"})
    assert r.status_code == 422
    assert "Give the key at least one scope" in text_of(r.text) and 'value="shop two"' in r.text
    r = web.submit("/staff/api-keys", "/staff/api-keys", {"name": "shop three", "owner": "ghost", "scope_read": "1"})
    assert r.status_code == 422 and "ghost" in html.unescape(r.text)
    r = web.submit("/staff/api-keys", f"/staff/api-keys/{key.id}/revoke")
    assert r.status_code == 303
    assert fetch(ApiKey, key.id).revoked_at is not None


def test_customers_do_not_see_staff_pages(web, factory, session):
    factory.user("cara")
    session.commit()
    web.sign_in("cara")
    for url in ("/staff/api-keys", "/staff/widget", "/staff/webhooks"):
        assert web.get(url).status_code == 403, url


def test_widget_page_and_script(web, factory, session):
    factory.user("sam_staff", role="staff")
    factory.product("aero-14", "Kestrel Aero 14")
    session.commit()
    web.sign_in("sam_staff")
    page = web.get("/staff/widget").text
    assert 'data-product="aero-14" async&gt;&lt;/script&gt;' in page and "/widget.js" in page
    assert '<script src="/widget.js" data-product="aero-14" async></script>' in page  # the live preview
    js = web.get("/widget.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert js.headers["cache-control"] == "public, max-age=3600" and "set-cookie" not in js.headers
    assert "attachShadow" in js.text and 'credentials: "omit"' in js.text and "document.cookie" not in js.text
    assert len(gzip.compress(js.content, 9)) < 4096  # docs/product-sites.md states the size
    assert web.get("/widget.js", headers={"If-None-Match": js.headers["etag"]}).status_code == 304


def test_webhooks_pages(web, browsers, factory, session, fetch):
    factory.user("ada_admin", role="admin")
    factory.user("sam_staff", role="staff")
    session.commit()
    staff = browsers()
    staff.sign_in("sam_staff")
    assert staff.get("/staff/webhooks").status_code == 403
    web.sign_in("ada_admin")
    r = web.submit("/staff/webhooks", "/staff/webhooks", {"url": "not a url", "event_question.created": "1"})
    assert r.status_code == 422 and 'value="not a url"' in r.text
    r = web.submit("/staff/webhooks", "/staff/webhooks", {"url": "https://tickets.example/hook",
                                                         "event_escalation.handed_off": "1"})
    assert r.status_code == 303
    page = web.follow(r).text
    ep = fetch(WebhookEndpoint, 1)
    assert ep.secret in page and ep.events == "escalation.handed_off"
    r = web.submit(f"/staff/webhooks/{ep.id}", f"/staff/webhooks/{ep.id}/active", {"active": "0"})
    assert r.status_code == 303 and not fetch(WebhookEndpoint, ep.id).is_active
