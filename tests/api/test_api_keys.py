"""API keys (issue 16 item 1): scopes on every route, the secret shown once and stored hashed,
rotate/revoke, allowed origins, the key's own rate limit, staff/admin management and the CLI.
Both databases, the real app."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from app.accounts.models import ApiKey
from app.apikeys import service as apikeys_service
from app.apikeys.scopes import SCOPES, required_scope
from tests.api.conftest import API, assert_problem
from tests.conftest import make_settings
from tests.factories import token_headers
from tests.web.conftest import browsers  # noqa: F401  (fixture)

ALL = list(SCOPES)


def _key(session, owner, scopes, **kw) -> str:
    _, plain = apikeys_service.create(session, actor=None, owner=owner, name="kestrel.example", scopes=scopes, **kw)
    session.commit()
    return plain


def _api_routes(app):
    """(method, path template) of every /api/v1 route, included routers walked (as tests/test_head.py)."""
    found = []
    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):  # an included router (FastAPI ≥ 0.16x)
            contexts = [(c.path, getattr(c.original_route, "methods", None)) for c in route.effective_route_contexts()]
        else:
            contexts = [(route.path, getattr(route, "methods", None))]
        found += [(m, p) for p, methods in contexts if p.startswith(API) for m in sorted(methods or ())]
    assert len(found) > 60, found
    return found


def _fill(path: str) -> str:
    out = path
    for name in ("question_id", "answer_id", "comment_id", "escalation_id", "edit_id", "report_id", "key_id",
                 "endpoint_id", "delivery_id"):
        out = out.replace("{" + name + "}", "1")
    return out.replace("{username}", "nobody").replace("{slug}", "aero-14")


def test_every_route_needs_its_scope(app, client, factory, session):
    """Walk every /api/v1 route: a key holding every scope but the one the route needs gets a 403
    problem naming that scope; routes no key may call (keys, auth) refuse even a key with all."""
    admin = factory.user("root_admin", role="admin")
    keys = {s: _key(session, admin, [o for o in ALL if o != s]) for s in ALL}
    everything = _key(session, admin, ALL)
    seen = set()
    for method, path in _api_routes(app):
        needed = required_scope(method, path)
        url = _fill(path)
        if needed is None:
            if path in {f"{API}/auth/{p}" for p in ("register", "token", "password-reset", "password-reset/confirm",
                                                     "verify-email", "email-change/confirm")}:
                continue  # these ignore credentials (sign-up, sign-in, and links from e-mail carrying a token)
            r = client.request(method, url, headers={"X-API-Key": everything}, json={})
            body = assert_problem(r, 403)
            assert body["type"] == "/problems/missing-scope", (method, path, body)
            continue
        seen.add(needed)
        r = client.request(method, url, headers={"X-API-Key": keys[needed]}, json={})
        body = assert_problem(r, 403)
        assert body["required_scope"] == needed, (method, path, body)
        assert needed in body["detail"]
        # With the scope, whatever happens next is not a scope refusal.
        r = client.request(method, url, headers={"X-API-Key": everything}, json={})
        assert r.status_code >= 200 and (r.status_code != 403 or r.json().get("type") != "/problems/missing-scope")
    assert {"read", "ask", "deflect", "escalations:read", "escalations:write", "moderation", "write"} <= seen


def test_read_only_key_reads_but_cannot_ask(client, factory, session):
    owner = factory.user("kestrel_site")
    q = factory.question(title="Wi-Fi drops after sleep on the Aero 14")
    plain = _key(session, owner, ["read"])
    assert client.get(f"{API}/questions/{q.id}", headers={"X-API-Key": plain}).status_code == 200
    r = client.post(f"{API}/questions", headers={"X-API-Key": plain},
                    json={"title": "Battery drains overnight when closed", "body": "Lid closed, 40% lost by morning.",
                          "tags": []})
    assert assert_problem(r, 403)["required_scope"] == "ask"


def test_a_read_key_does_not_open_the_moderators_tools(client, factory, session):
    """The audit log and the queues name members and reasons: a moderator's `read` key gets 403
    missing-scope there; with `moderation` it works; a customer's `moderation` key is still refused
    by the service (the owner's role applies): one made while its owner moderated, who no longer does."""
    omar = factory.user("omar_mod", role="moderator")
    kim = factory.user("kim", role="moderator")
    factory.question(author=kim, title="Dock flickers when a second monitor wakes up")
    read = _key(session, omar, ["read"])
    mod = _key(session, omar, ["read", "moderation"])
    customers = _key(session, kim, ["read", "moderation"])
    kim.role = "customer"
    session.add(kim)
    session.commit()
    for path in ("/moderation/audit-log", "/moderation/flags", "/moderation/review", "/voting-reports"):
        assert assert_problem(client.get(f"{API}{path}", headers={"X-API-Key": read}), 403)["required_scope"] == "moderation"
        assert client.get(f"{API}{path}", headers={"X-API-Key": mod}).status_code == 200, path
        r = client.get(f"{API}{path}", headers={"X-API-Key": customers})
        assert r.status_code == 403 and r.json().get("type") != "/problems/missing-scope", path
    suspend = client.post(f"{API}/users/kim/suspend", headers={"X-API-Key": read}, json={"days": 1, "reason": "spam"})
    assert assert_problem(suspend, 403)["required_scope"] == "moderation"
    assert client.get(f"{API}/me/flags", headers={"X-API-Key": read}).status_code == 200  # one's own flags stay "read"
    # Running the serial-voting check or resolving a report is a moderator's action, not "write".
    write = _key(session, omar, ["read", "write"])
    detect = client.post(f"{API}/voting-reports/detect", headers={"X-API-Key": write})
    assert assert_problem(detect, 403)["required_scope"] == "moderation"
    assert client.post(f"{API}/voting-reports/detect", headers={"X-API-Key": mod}).status_code == 200


# Routes tagged "moderation" that any member may use: flagging a post, reading one's own flags,
# voting to close (a reputation privilege, docs/reputation.md).
MEMBER_MODERATION_ROUTES = {("POST", "/api/v1/questions/{question_id}/flags"), ("POST", "/api/v1/answers/{answer_id}/flags"),
                            ("POST", "/api/v1/comments/{comment_id}/flags"), ("GET", "/api/v1/me/flags"),
                            ("POST", "/api/v1/questions/{question_id}/close")}


def test_every_moderators_route_needs_the_moderation_scope(app):
    """The kind behind /voting-reports once needing only read/write: every route in the API's
    "moderation" group needs the `moderation` scope, but for the few any member may use."""
    from fastapi.routing import APIRoute

    from app.apikeys.scopes import required_scope

    seen = 0
    for route in app.routes:
        if isinstance(route, APIRoute) and "moderation" in route.tags:
            for method in route.methods:
                if (method, route.path) in MEMBER_MODERATION_ROUTES:
                    assert required_scope(method, route.path) in ("read", "write"), route.path
                else:
                    seen += 1
                    assert required_scope(method, route.path) == "moderation", (method, route.path)
    assert seen >= 15


def test_admin_create_secret_once_hashed_rotate_revoke(client, factory, session, login, fetch):
    staff = factory.user("ada_admin", role="admin")
    site = factory.user("kestrel_site")
    session.commit()
    h = login(staff)
    r = client.post(f"{API}/api-keys", headers=h, json={"name": "www.kestrel.example", "owner": "kestrel_site",
                                                         "scopes": ["read", "deflect"], "rate_limit": 120})
    assert r.status_code == 201, r.text
    body = r.json()
    plain = body["key"]
    assert plain.startswith("gsk_") and body["prefix"] == plain[:12] and body["owner"]["username"] == "kestrel_site"
    row = fetch(ApiKey, body["id"])
    assert row.key_hash == hashlib.sha256(plain.encode()).hexdigest() and plain not in (row.prefix, row.name)
    listed = client.get(f"{API}/api-keys", headers=h).json()["items"]
    assert [k["id"] for k in listed] == [body["id"]] and "key" not in listed[0]
    assert plain not in client.get(f"{API}/api-keys", headers=h).text
    # Use it: last_used_at is set.
    assert client.get(f"{API}/questions", headers={"X-API-Key": plain}).status_code == 200
    assert fetch(ApiKey, body["id"]).last_used_at is not None
    # Rotate: the old secret dies at once, the new one works.
    new = client.post(f"{API}/api-keys/{body['id']}/rotate", headers=h).json()["key"]
    assert_problem(client.get(f"{API}/questions", headers={"X-API-Key": plain}), 401)
    assert client.get(f"{API}/questions", headers={"X-API-Key": new}).status_code == 200
    # Names: no direction controls, no stacked marks, on create and on change.
    for bad in ("\u202eelpmaxe.lertsek", "kestrel" + "\u0301" * 5):
        r = client.post(f"{API}/api-keys", headers=h, json={"name": bad, "owner": "kestrel_site", "scopes": ["read"]})
        assert assert_problem(r, 422)["errors"][0]["loc"][-1] == "name"
        r = client.patch(f"{API}/api-keys/{body['id']}", headers=h, json={"name": bad})
        assert assert_problem(r, 422)["errors"][0]["loc"][-1] == "name"
    # Scopes change.
    r = client.patch(f"{API}/api-keys/{body['id']}", headers=h, json={"scopes": ["read", "bogus"]})
    assert assert_problem(r, 422)["errors"][0]["loc"][-1] == "scopes"
    # Revoke.
    assert client.delete(f"{API}/api-keys/{body['id']}", headers=h).status_code == 204
    assert_problem(client.get(f"{API}/questions", headers={"X-API-Key": new}), 401)
    assert client.get(f"{API}/api-keys/{body['id']}", headers=h).json()["revoked_at"] is not None


def test_who_may_manage_keys(client, factory, session, login):
    customer = factory.user("cara")
    staff = factory.user("sam_staff", role="staff")
    other_staff = factory.user("sue_staff", role="staff")
    admin = factory.user("ada_admin", role="admin")
    session.commit()
    new = {"name": "x", "scopes": ["read"]}
    assert_problem(client.post(f"{API}/api-keys", headers=login(customer), json=new), 403)
    assert client.get(f"{API}/api-keys", headers=login(customer)).json()["items"] == []  # owns none
    assert_problem(client.post(f"{API}/api-keys", headers=login(staff), json={**new, "owner": "sue_staff"}), 403)
    # Staff may not create a key that acts as a customer either (only admins and the CLI may).
    assert_problem(client.post(f"{API}/api-keys", headers=login(staff), json={**new, "owner": "cara"}), 403)
    assert client.post(f"{API}/api-keys", headers=login(staff), json=new).status_code == 201  # their own
    assert client.post(f"{API}/api-keys", headers=login(admin), json={**new, "owner": "sue_staff"}).status_code == 201
    # Staff do not see the admin's key for another staff member (only their own).
    assert [k["owner"]["username"] for k in client.get(f"{API}/api-keys", headers=login(staff)).json()["items"]] \
        == ["sam_staff"]
    assert len(client.get(f"{API}/api-keys", headers=login(other_staff)).json()["items"]) == 1
    r = client.post(f"{API}/api-keys", headers=login(admin), json={**new, "allowed_origins": ["ftp://x/y"]})
    assert_problem(r, 422)
    # A key cannot manage keys, even with every scope.
    plain = _key(session, admin, ALL)
    assert assert_problem(client.get(f"{API}/api-keys", headers={"X-API-Key": plain}), 403)["type"] == "/problems/missing-scope"


def test_allowed_origins(client, factory, session):
    owner = factory.user("kestrel_site")
    plain = _key(session, owner, ["read"], allowed_origins=["https://www.kestrel.example"])
    ok = client.get(f"{API}/questions", headers={"X-API-Key": plain, "Origin": "https://www.kestrel.example"})
    assert ok.status_code == 200
    assert_problem(client.get(f"{API}/questions", headers={"X-API-Key": plain, "Origin": "https://evil.example"}), 403)
    assert client.get(f"{API}/questions", headers={"X-API-Key": plain}).status_code == 200  # server-side use


def test_suspended_or_deactivated_owner_key_stops_but_sign_out_everywhere_keeps_it(client, factory, session, login):
    owner = factory.user("kestrel_site")
    plain = _key(session, owner, ["read"])
    h = login(owner)
    assert client.post(f"{API}/auth/logout-all", headers=h).status_code == 204
    assert client.get(f"{API}/me", headers={"X-API-Key": plain}).status_code == 200  # documented: keys stay
    owner.is_active = False
    session.add(owner)
    session.commit()
    assert_problem(client.get(f"{API}/me", headers={"X-API-Key": plain}), 401)


def test_key_own_rate_limit_and_headers(clean_engine, db_url, factory, session):
    from app.main import create_app

    owner = factory.user("kestrel_site")
    plain = _key(session, owner, ["read"], rate_limit=3)
    app = create_app(make_settings(db_url, rate_limits="on"), clean_engine)
    with TestClient(app) as c:
        seen = []
        for _ in range(3):
            r = c.get(f"{API}/products", headers={"X-API-Key": plain})
            assert r.status_code == 200
            seen.append(int(r.headers["ratelimit-remaining"]))
            assert r.headers["ratelimit-limit"] == "3" and r.headers["ratelimit-policy"] == "3;w=60"
            assert 0 <= int(r.headers["ratelimit-reset"]) <= 60
        assert seen == [2, 1, 0]
        r = c.get(f"{API}/products", headers={"X-API-Key": plain})
        body = assert_problem(r, 429)
        assert int(r.headers["retry-after"]) >= 1 and r.headers["ratelimit-remaining"] == "0"
        assert "API requests with this key" in body["detail"]
        # Anonymous callers have their own budget (per address), with the same headers.
        r = c.get(f"{API}/products")
        assert r.status_code == 200 and r.headers["ratelimit-limit"] == "300"


def test_cli_create_list_revoke(db_url, clean_engine, factory, session, tmp_path):
    factory.user("kestrel_site")
    session.commit()
    env = {**os.environ, "GROUNDSWELL_DATABASE_URL": db_url, "GROUNDSWELL_SECRET_KEY": "x" * 40,
           "GROUNDSWELL_ENV": "test"}
    cli = [sys.executable, "-m", "app.cli", "api-key"]
    r = subprocess.run([*cli, "create", "www.kestrel.example", "--owner", "kestrel_site", "--scope", "read",
                        "--scope", "deflect"], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    plain = r.stdout.strip().splitlines()[-1]
    assert plain.startswith("gsk_")
    listed = subprocess.run([*cli, "list"], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert listed.returncode == 0 and plain[:12] in listed.stdout and plain not in listed.stdout
    assert "deflect read" in listed.stdout
    key_id = listed.stdout.split("\t")[0]
    bad = subprocess.run([*cli, "create", "x", "--owner", "kestrel_site", "--scope", "root"], env=env,
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert bad.returncode == 1 and "Unknown scope 'root'" in bad.stderr and "Traceback" not in bad.stderr
    nobody = subprocess.run([*cli, "create", "x", "--owner", "ghost", "--scope", "read"], env=env,
                            capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert nobody.returncode == 1 and "ghost" in nobody.stderr
    r = subprocess.run([*cli, "revoke", key_id], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    session.expire_all()
    assert session.get(ApiKey, int(key_id)).revoked_at is not None


def test_key_actions_are_written_to_the_audit_log(client, factory, session, login):
    """Creating, changing, rotating and revoking a key each leave one audit-log entry naming the
    key, newest first (app/moderation/audit.py; docs/product-sites.md)."""
    admin = factory.user("root_admin", role="admin")
    factory.user("kestrel_site")
    session.commit()
    h = login(admin)
    created = client.post(f"{API}/api-keys", headers=h, json={"name": "shop", "owner": "kestrel_site",
                                                               "scopes": ["read"]}).json()
    kid = created["id"]
    assert client.patch(f"{API}/api-keys/{kid}", headers=h, json={"name": "shop front"}).status_code == 200
    rotated = client.post(f"{API}/api-keys/{kid}/rotate", headers=h)
    assert rotated.status_code == 200
    assert client.delete(f"{API}/api-keys/{kid}", headers=h).status_code == 204
    items = client.get(f"{API}/moderation/audit-log", headers=h, params={"target_type": "api_key"}).json()["items"]
    assert [(e["action"], e["target_id"], e["actor"]["username"]) for e in items] == [
        ("api_key.revoke", str(kid), "root_admin"), ("api_key.rotate", str(kid), "root_admin"),
        ("api_key.update", str(kid), "root_admin"), ("api_key.create", str(kid), "root_admin")]
    # The secrets never reach the log (the prefix that names a key in lists does).
    assert created["key"] not in str(items) and rotated.json()["key"] not in str(items)


def test_owner_is_told_and_can_list_and_revoke_a_key_made_for_them(client, factory, session, login, browsers):
    """A key that acts as someone else notifies its owner (kind api_key_created), who sees it in
    GET /api/v1/api-keys and on /settings/account and can revoke it; they cannot rotate or change it."""
    admin = factory.user("ada_admin", role="admin")
    raj = factory.user("raj_builds")
    factory.user("other_member")
    session.commit()
    made = client.post(f"{API}/api-keys", headers=login(admin), json={"name": "raj bot", "owner": "raj_builds",
                                                                       "scopes": ["read", "write"]}).json()
    h = login(raj)
    notes = [n for n in client.get(f"{API}/notifications", headers=h).json()["items"] if n["kind"] == "api_key_created"]
    assert len(notes) == 1 and "raj bot" in notes[0]["text"] and "@ada_admin" in notes[0]["text"]
    listed = client.get(f"{API}/api-keys", headers=h).json()["items"]
    assert [k["id"] for k in listed] == [made["id"]]
    assert client.get(f"{API}/api-keys/{made['id']}", headers=h).status_code == 200
    assert_problem(client.post(f"{API}/api-keys/{made['id']}/rotate", headers=h), 403)
    assert_problem(client.patch(f"{API}/api-keys/{made['id']}", headers=h, json={"name": "y"}), 403)
    # Someone else learns nothing of it.
    other_user = factory.user("other_2")
    session.commit()
    other = login(other_user)
    assert_problem(client.delete(f"{API}/api-keys/{made['id']}", headers=other), 403)
    assert client.get(f"{API}/api-keys", headers=other).json()["items"] == []
    # The web settings page lists it with a revoke button that works.
    me = browsers()
    me.sign_in("raj_builds")
    page = me.get("/settings/account")
    assert "raj bot" in page.text and made["prefix"] in page.text
    from tests.web.conftest import csrf_from

    r = me.post(f"/settings/api-keys/{made['id']}/revoke", {"csrf_token": csrf_from(page.text)})
    assert r.status_code == 303
    assert client.get(f"{API}/api-keys/{made['id']}", headers=h).json()["revoked_at"] is not None
    assert_problem(client.get(f"{API}/questions", headers={"X-API-Key": made["key"]}), 401)


@pytest.mark.parametrize(("role", "scope", "allowed"), [
    ("customer", "moderation", False), ("customer", "internal", False), ("customer", "escalations:read", False),
    ("customer", "escalations:write", False), ("customer", "webhooks:manage", False), ("customer", "write", True),
    ("moderator", "moderation", True), ("moderator", "internal", True), ("moderator", "escalations:read", False),
    ("moderator", "webhooks:manage", False), ("staff", "escalations:write", True), ("staff", "internal", True),
    ("staff", "webhooks:manage", False), ("admin", "webhooks:manage", True), ("admin", "escalations:read", True),
])
def test_a_key_gets_only_scopes_its_owner_may_use(client, factory, session, role, scope, allowed):
    """A scope whose routes the owner's role may never use is refused when the key is made or
    changed (422 naming the scope and who may own it), by the CLI's path and the API's alike:
    such a key would only ever be refused at use."""
    owner = factory.user("owner_x", role=role)
    admin = factory.user("root_x", role="admin")
    session.commit()
    if allowed:
        _key(session, owner, ["read", scope])
        return
    from app.core.errors import InvalidInput

    with pytest.raises(InvalidInput, match=f"The {scope} scope needs an owner who is"):
        apikeys_service.create(session, actor=None, owner=owner, name="shop", scopes=["read", scope])
    session.rollback()
    r = client.post(f"{API}/api-keys", headers=token_headers(client, "root_x"),
                    json={"name": "shop", "scopes": ["read", scope], "owner": "owner_x"})
    problem = assert_problem(r, 422)
    assert scope in r.text and "owner_x" in r.text, problem
    key, _ = apikeys_service.create(session, actor=admin, owner=owner, name="shop", scopes=["read"])
    session.commit()
    r = client.patch(f"{API}/api-keys/{key.id}", headers=token_headers(client, "root_x"), json={"scopes": ["read", scope]})
    assert_problem(r, 422)
