"""Issue 10, items 3, 4, 5 and 11 (accounts): normalised rate-limit identities, password spraying,
revocable sessions and tokens, verbatim passwords with a policy, look-alike e-mails, reserved
names, no e-mail enumeration, trusted proxies, HSTS."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts import service as accounts_service
from app.accounts.models import AuthSession, User
from app.core import security
from tests.api.conftest import API, assert_problem
from tests.conftest import make_settings
from tests.factories import PASSWORD


@pytest.fixture
def limited(db_url, clean_engine):
    """limited(**settings) -> TestClient(peer address) for an app with the real rate limits on."""
    from app.main import create_app

    clients = []

    def _make(address: str = "203.0.113.7", app=None, **overrides):
        app = app or create_app(make_settings(db_url, rate_limits="on", **overrides), clean_engine)
        c = TestClient(app, client=(address, 40000))
        c.__enter__()
        clients.append(c)
        return c

    yield _make
    for c in clients:
        c.__exit__(None, None, None)


def _token(client, username, password=PASSWORD):
    return client.post(f"{API}/auth/token", data={"username": username, "password": password})


def _bearer(r) -> dict[str, str]:
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _users(engine) -> dict[str, User]:
    with Session(engine, expire_on_commit=False) as s:
        return {u.username: u for u in s.exec(select(User)).all()}


# --- item 3: every sign-in limit keys on the normalised identity -------------------------------------

@pytest.mark.parametrize("variant", ["alice" + " " * 40, "   alice", "ALICE", "\uff41\uff4c\uff49\uff43\uff45",
                                     "al\u200bice", "Alice@Example.com", " alice@example.com\t"])
def test_a_variant_of_a_limited_name_is_limited_too(limited, factory, session, variant):
    factory.user("alice")
    session.commit()
    client = limited()
    for _ in range(10):
        assert_problem(_token(client, "alice", "not the password!"), 401)
    r = _token(client, variant, PASSWORD)  # the right password, a decorated name
    assert_problem(r, 429)
    assert int(r.headers["retry-after"]) > 0


def test_the_limit_is_per_address_and_account(limited, factory, session, clean_engine):
    factory.user("alice")
    factory.user("bruno")
    session.commit()
    client = limited()
    for _ in range(10):
        _token(client, "alice@example.com", "not the password!")
    assert_problem(_token(client, "alice", PASSWORD), 429)
    assert _token(client, "bruno", PASSWORD).status_code == 200  # another account from the same address
    other = limited("198.51.100.20", app=client.app)
    assert _token(other, "alice", PASSWORD).status_code == 200  # alice herself, from elsewhere


def test_password_spraying_from_one_address_is_stopped(limited, factory, session):
    factory.user("victim")
    session.commit()
    client = limited()
    for i in range(20):  # one common password over many accounts, each tried once
        assert_problem(_token(client, f"someone{i}", "Summer2026!!"), 401)
    r = _token(client, "victim", PASSWORD)  # a 21st different account, even with the right password
    body = assert_problem(r, 429)
    assert "different accounts" in body["detail"]
    # the accounts already tried are not a new name: their own limit still applies, no more
    assert_problem(_token(client, "someone3", "Summer2026!!"), 401)
    # decorated variants of a tried name are the same name, not a new one
    assert_problem(_token(client, "  SOMEONE4 ", "Summer2026!!"), 401)
    # another address is not affected
    assert _token(limited("198.51.100.21", app=client.app), "victim", PASSWORD).status_code == 200


def test_successful_sign_ins_do_not_count_as_spraying(limited, factory, session):
    names = [f"member{i}" for i in range(25)]
    for name in names:
        factory.user(name)
    session.commit()
    client = limited()  # an office behind one address: 25 people sign in
    assert all(_token(client, name).status_code == 200 for name in names)


def test_the_forum_form_shares_the_api_allowance(limited, factory, session):
    from tests.web.conftest import Browser

    factory.user("alice")
    session.commit()
    client = limited()
    for _ in range(10):
        _token(client, "alice", "not the password!")
    browser = Browser(client)
    r = browser.submit("/signin", "/signin", {"username": "alice" + " " * 40, "password": PASSWORD},
                       headers={"Accept": "text/html"})
    assert r.status_code == 429 and "Too many sign-in attempts" in r.text


# --- item 4: signing out signs out ---------------------------------------------------------------------

def test_logout_revokes_this_token_only(client, factory, session):
    factory.user("dana")
    session.commit()
    first, second = _bearer(_token(client, "dana")), _bearer(_token(client, "dana"))
    assert client.post(f"{API}/auth/logout", headers=first).status_code == 204
    assert_problem(client.get(f"{API}/me", headers=first), 401)
    assert client.get(f"{API}/me", headers=second).status_code == 200
    assert_problem(client.post(f"{API}/auth/logout", headers=first), 401)  # already gone


def test_logout_all_revokes_every_token_and_forum_session(client, factory, session, clean_engine):
    from tests.web.conftest import Browser

    factory.user("dana")
    session.commit()
    tokens = [_bearer(_token(client, "dana")) for _ in range(3)]
    browser = Browser(TestClient(client.app, headers={"Accept": "text/html"}))
    browser.sign_in("dana")
    assert 'href="/users/dana"' in browser.get("/").text
    assert client.post(f"{API}/auth/logout-all", headers=tokens[0]).status_code == 204
    for headers in tokens:
        assert_problem(client.get(f"{API}/me", headers=headers), 401)
    assert 'href="/users/dana"' not in browser.get("/").text
    with Session(clean_engine) as s:
        assert s.exec(select(AuthSession)).all() == []
    assert client.get(f"{API}/me", headers=_bearer(_token(client, "dana"))).status_code == 200  # sign in again


def test_logout_needs_a_credential(client):
    assert_problem(client.post(f"{API}/auth/logout"), 401)
    assert_problem(client.post(f"{API}/auth/logout-all"), 401)


def test_a_token_outlives_nothing_when_its_session_row_is_gone(client, factory, session, clean_engine):
    """A correctly signed token whose session was deleted (or never existed) is refused."""
    user = factory.user("dana")
    session.commit()
    forged = security.issue_token(client.app.state.settings.secret, user.id, user.token_version, "no-such-session")
    assert_problem(client.get(f"{API}/me", headers={"Authorization": f"Bearer {forged}"}), 401)
    legacy = security.issue_token(client.app.state.settings.secret, user.id, user.token_version)  # before 0008
    assert_problem(client.get(f"{API}/me", headers={"Authorization": f"Bearer {legacy}"}), 401)


def test_expired_session_rows_are_refused_and_cleared(client, factory, session, clean_engine):
    from datetime import timedelta

    from app.core.db import utcnow

    user = factory.user("dana")
    session.commit()
    headers = _bearer(_token(client, "dana"))
    with Session(clean_engine) as s:
        for row in s.exec(select(AuthSession)).all():
            row.expires_at = utcnow() - timedelta(seconds=1)
            s.add(row)
        s.commit()
    assert_problem(client.get(f"{API}/me", headers=headers), 401)
    _token(client, "dana")  # a new sign-in clears the user's expired rows
    with Session(clean_engine) as s:
        rows = s.exec(select(AuthSession).where(AuthSession.user_id == user.id)).all()
    assert len(rows) == 1 and rows[0].expires_at > utcnow()


def test_changing_the_password_signs_out_everything_else(client, factory, session):
    factory.user("erin")
    session.commit()
    mine, other = _bearer(_token(client, "erin")), _bearer(_token(client, "erin"))
    new = "a brand new passphrase, unrelated"
    r = client.post(f"{API}/me/password", headers=mine, json={"current_password": PASSWORD, "new_password": new})
    assert r.status_code == 204, r.text
    assert client.get(f"{API}/me", headers=mine).status_code == 200  # the one that changed it stays
    assert_problem(client.get(f"{API}/me", headers=other), 401)
    assert_problem(_token(client, "erin", PASSWORD), 401)
    assert _token(client, "erin", new).status_code == 200


@pytest.mark.parametrize("current, new, field", [
    ("not my password at all", "a brand new passphrase, unrelated", "current_password"),
    (PASSWORD, "password1234", "new_password"),
    (PASSWORD, "qwertyuiopasdf", "new_password"),
    (PASSWORD, "erin-is-the-best-2026", "new_password"),
    (PASSWORD, "short", "new_password"),
    (PASSWORD, PASSWORD, "new_password"),
])
def test_password_change_mistakes_are_422_and_change_nothing(client, factory, session, current, new, field):
    factory.user("erin")
    session.commit()
    mine, other = _bearer(_token(client, "erin")), _bearer(_token(client, "erin"))
    body = assert_problem(client.post(f"{API}/me/password", headers=mine,
                                      json={"current_password": current, "new_password": new}), 422)
    assert [e["loc"][-1] for e in body["errors"]] == [field]
    assert client.get(f"{API}/me", headers=other).status_code == 200
    assert _token(client, "erin", PASSWORD).status_code == 200


# --- item 5: passwords are never altered, and checked -------------------------------------------------

@pytest.mark.parametrize("password", ["  spaces around my passphrase  ", "\ttabbed passphrase, kept\t",
                                      "trailing space matters here "])
def test_a_password_is_used_exactly_as_typed(client, password):
    r = client.post(f"{API}/auth/register", json={"username": "vera", "email": "vera@example.com",
                                                   "password": password})
    assert r.status_code == 201, r.text
    assert _token(client, "vera", password).status_code == 200
    if password.strip() != password:
        assert_problem(_token(client, "vera", password.strip()), 401)


def test_accounts_from_before_keep_signing_in_with_the_spaces_they_type(client, factory, session):
    """Before this change sign-up stored the trimmed password: the typed one (with spaces) still works."""
    user = factory.user("olga")
    user.password_hash = security.hash_password("old trimmed passphrase")
    session.commit()
    assert _token(client, "olga", "  old trimmed passphrase ").status_code == 200
    assert _token(client, "olga", "old trimmed passphrase").status_code == 200
    assert_problem(_token(client, "olga", "old trimmed passphrase!"), 401)


@pytest.mark.parametrize("password, says", [
    ("password1234", "common"),
    ("1234567890", "common"),
    ("qwertyuiop", "less common"),
    ("iloveyou2026", "less common"),
    ("maya_rivera!!", "username"),
    ("MAYA_RIVERA-2026", "username"),
    ("the mail maya.r@ is mine", "e-mail"),
    ("Kestrel Community", "name of this site"),
    ("aaaaaaaaaaaaaaa", "less common"),
    ("short", "at least 10"),
    ("x" * 1025, "at most 1"),
])
def test_weak_passwords_are_refused_with_a_reason(client, count, password, says):
    r = client.post(f"{API}/auth/register", json={"username": "maya_rivera", "email": "maya.r@example.com",
                                                   "password": password})
    body = assert_problem(r, 422)
    assert any(e["loc"][-1] == "password" for e in body["errors"]), body
    text = " ".join(e["msg"] for e in body["errors"]).lower()
    assert says.lower() in text or (says == "common" and "common" in text), text
    assert count(User) == 0


def test_long_passphrases_up_to_1024_characters_work(client):
    import secrets

    password = secrets.token_urlsafe(800)[:1024]
    assert client.post(f"{API}/auth/register", json={"username": "longpass", "email": "lp@example.com",
                                                      "password": password}).status_code == 201
    assert _token(client, "longpass", password).status_code == 200


# --- item 11: e-mail identity, enumeration, reserved names ---------------------------------------------

@pytest.mark.parametrize("lookalike", ["ali\u200bce@example.com", "\u0430lice@example.com",  # Cyrillic а
                                       "ALICE@EXAMPLE.COM", "alice@ex\u0430mple.com", "al\u00edce@example.com",
                                       "\ufeffalice@example.com", "\uff41lice@example.com"])
def test_a_lookalike_address_never_gets_a_second_owner(client, clean_engine, lookalike):
    first = client.post(f"{API}/auth/register", json={"username": "alice", "email": "alice@example.com",
                                                       "password": "first owner's passphrase"})
    assert first.status_code == 201
    r = client.post(f"{API}/auth/register", json={"username": "mallory", "email": lookalike,
                                                   "password": "newcomer's passphrase"})
    assert r.status_code == 201, r.text  # answered as for any address (no enumeration)
    users = _users(clean_engine)
    assert users["alice"].email_key == "alice@example.com" and users["mallory"].email_key is None
    # signing in by the look-alike address reaches the address's owner (once she has verified it:
    # app/mail/accounts.py may_sign_in_by_email), never the newcomer
    from sqlmodel import Session

    from app.mail.accounts import mark_verified

    with Session(clean_engine) as s:
        mark_verified(s, users["alice"])
        s.commit()
    assert_problem(_token(client, lookalike, "newcomer's passphrase"), 401)
    assert _token(client, lookalike, "first owner's passphrase").status_code == 200
    assert _token(client, "mallory", "newcomer's passphrase").status_code == 200


def test_the_stored_address_has_no_invisible_characters(client, clean_engine):
    r = client.post(f"{API}/auth/register", json={"username": "zoe", "email": "zo\u200de@Example.COM",
                                                   "password": "my own quiet passphrase"})
    assert r.status_code == 201
    assert _users(clean_engine)["zoe"].email == "zoe@example.com"


def test_sign_up_answers_alike_for_registered_and_free_addresses(client):
    """Status, headers that matter and body shape are the same; only the ids and names differ."""
    client.post(f"{API}/auth/register", json={"username": "owner", "email": "taken@example.com",
                                              "password": "the owner's passphrase"})
    taken = client.post(f"{API}/auth/register", json={"username": "probe1", "email": "taken@example.com",
                                                       "password": "probe passphrase one"})
    free = client.post(f"{API}/auth/register", json={"username": "probe2", "email": "free@example.com",
                                                      "password": "probe passphrase two"})
    assert taken.status_code == free.status_code == 201
    assert taken.headers["content-type"] == free.headers["content-type"]
    a, b = taken.json(), free.json()
    assert a.keys() == b.keys() and a["role"] == b["role"] and a["reputation"] == b["reputation"]
    assert a["username"] == "probe1" and b["username"] == "probe2"


@pytest.mark.parametrize("name", ["admin", "Admin_", "adm1n", "ADMINISTRATOR", "staff", "the-staff", "moderator",
                                  "mod", "support", "support-team", "kestrel_support", "groundswell",
                                  "gr0undswe11", "kestrel", "kestrelfan", "community", "sysop", "r00t"])
def test_names_that_imply_authority_are_reserved(client, count, name):
    body = assert_problem(client.post(f"{API}/auth/register", json={
        "username": name, "email": f"x{len(name)}@example.com", "password": "an ordinary passphrase"}), 422)
    assert any(e["loc"][-1] == "username" and "reserved" in e["msg"] for e in body["errors"]), body
    assert count(User) == 0


@pytest.mark.parametrize("name", ["badminton", "modem_fan", "maya_rivera", "raj_builds", "helper42"])
def test_ordinary_names_that_contain_a_short_reserved_word_are_free(client, name):
    r = client.post(f"{API}/auth/register", json={"username": name, "email": f"{name}@example.com",
                                                   "password": "an ordinary passphrase"})
    assert r.status_code == 201, r.text


def test_the_configured_site_name_is_reserved(db_url, clean_engine):
    from app.main import create_app

    app = create_app(make_settings(db_url, site_name="Pelican Support Hub"), clean_engine)
    with TestClient(app) as client:
        for name in ("pelican", "pelican_official", "hub"):
            body = assert_problem(client.post(f"{API}/auth/register", json={
                "username": name, "email": f"{name}@example.com", "password": "an ordinary passphrase"}), 422)
            assert "reserved" in body["errors"][0]["msg"]
        assert client.post(f"{API}/auth/register", json={
            "username": "kestrel_fan", "email": "k@example.com", "password": "an ordinary passphrase"}).status_code == 201


def test_staff_may_still_create_reserved_names(session):
    from app.accounts.models import Role
    from app.accounts.schemas import UserCreate

    user = accounts_service.register(session, UserCreate(username="support", email="support@kestrel.example",
                                                         password="an ordinary passphrase"), role=Role.staff)
    assert user.username == "support"


# --- item 11: trusted proxies and HSTS -------------------------------------------------------------------

def _exhaust_sign_in(client, xff: str | None, name: str = "alice") -> None:
    headers = {"X-Forwarded-For": xff} if xff else {}
    for _ in range(10):
        client.post(f"{API}/auth/token", data={"username": name, "password": "not the password!"}, headers=headers)


def _limited_now(client, xff: str | None, name: str = "alice") -> bool:
    headers = {"X-Forwarded-For": xff} if xff else {}
    return client.post(f"{API}/auth/token", data={"username": name, "password": PASSWORD},
                       headers=headers).status_code == 429


def test_forwarded_for_is_ignored_from_an_unlisted_peer(limited, factory, session):
    factory.user("alice")
    session.commit()
    client = limited("127.0.0.1")  # a local client, no proxies listed: X-Forwarded-For means nothing
    _exhaust_sign_in(client, "192.0.2.1")
    assert _limited_now(client, "192.0.2.99")  # a fresh header does not buy a fresh allowance


def test_forwarded_for_is_believed_from_a_listed_proxy(limited, factory, session):
    factory.user("alice")
    session.commit()
    proxy = limited("10.0.0.5", trusted_proxies="10.0.0.0/24, 192.168.1.1")
    _exhaust_sign_in(proxy, "192.0.2.1")
    assert _limited_now(proxy, "192.0.2.1")
    assert not _limited_now(proxy, "192.0.2.2")  # another real client behind the proxy
    # the chain is read from the right: a client cannot pick its address by prepending one
    _exhaust_sign_in(proxy, "192.0.2.50, 192.0.2.3")
    assert _limited_now(proxy, "198.51.100.1, 192.0.2.3")
    # trusted hops on the right are skipped
    assert _limited_now(proxy, "192.0.2.3, 10.0.0.9")
    # a peer that is not listed is itself the client, whatever it sends
    direct = limited("10.0.1.5", app=proxy.app)
    _exhaust_sign_in(direct, "192.0.2.7")
    assert _limited_now(direct, "192.0.2.8")


def test_a_malformed_trusted_proxy_setting_is_refused():
    from app.core.config import Settings, SettingsError

    with pytest.raises(SettingsError, match="GROUNDSWELL_TRUSTED_PROXIES"):
        Settings(env="test", trusted_proxies="10.0.0.1, proxy.internal")


def test_hsts_in_production_only(db_url, clean_engine):
    from app.main import create_app

    prod = create_app(make_settings(db_url, env="production"), clean_engine)
    with TestClient(prod) as client:
        for path in ("/healthz", f"{API}/questions", "/"):
            assert client.get(path).headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    dev = create_app(make_settings(db_url, env="development"), clean_engine)
    with TestClient(dev) as client:
        assert "strict-transport-security" not in client.get("/healthz").headers
