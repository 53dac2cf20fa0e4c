"""Staff manage the product catalog from the forum: add and edit products; everyone else is refused."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from app.accounts.models import Role
from app.products.models import Product
from tests.web.conftest import csrf_from, db_rows, text_of

NEW = {"slug": "aero-16", "name": "Kestrel Aero 16", "description": "The bigger laptop."}


def _products(session) -> list[tuple[str, str, str]]:
    return [(p.slug, p.name, p.description) for p in db_rows(session, select(Product).order_by(Product.slug))]


@pytest.mark.parametrize("role", [Role.staff, Role.admin])
def test_staff_add_a_product_and_see_it_listed(web, factory, session, role):
    factory.user("lena", role=role)
    session.commit()
    web.sign_in("lena")
    form = web.get("/products/new")
    assert form.status_code == 200
    assert '<label for="f-slug">' in form.text and 'aria-describedby="f-slug-hint"' in form.text

    r = web.submit("/products/new", "/products/new", NEW)
    assert r.status_code == 303 and r.headers["location"] == "/products/aero-16"
    page = web.follow(r)
    assert page.status_code == 200
    assert "Kestrel Aero 16 is added to the catalog." in text_of(page.text)
    assert _products(session) == [("aero-16", "Kestrel Aero 16", "The bigger laptop.")]

    listing = web.get("/products").text
    assert '<a href="/products/aero-16">Kestrel Aero 16</a>' in listing and "The bigger laptop." in listing


def test_staff_edit_name_and_description(web, factory, session):
    factory.product("aero-14", "Kestrel Aero 14")
    factory.user("lena", role=Role.staff)
    session.commit()
    web.sign_in("lena")
    form = web.get("/products/aero-14/edit")
    assert form.status_code == 200
    assert 'value="aero-14" readonly' in form.text  # the slug is shown, not editable
    assert 'value="Kestrel Aero 14"' in form.text and ">A laptop.</textarea>" in form.text

    r = web.submit("/products/aero-14/edit", "/products/aero-14/edit",
                   {"name": "Kestrel Aero 14 (2024)", "description": "Light, fast, 14 inches.", "slug": "hijack"})
    assert r.status_code == 303 and r.headers["location"] == "/products/aero-14"
    page = web.follow(r).text
    assert "Your changes to the product are saved." in page
    assert "Kestrel Aero 14 (2024)" in page and "Light, fast, 14 inches." in page
    assert _products(session) == [("aero-14", "Kestrel Aero 14 (2024)", "Light, fast, 14 inches.")]

    # the description may be cleared; the name may not
    r = web.submit("/products/aero-14/edit", "/products/aero-14/edit", {"name": "  ", "description": ""})
    assert r.status_code == 422
    assert 'id="f-name-error"' in r.text and 'href="#f-name"' in r.text
    assert 'value="  "' in r.text and 'aria-invalid="true"' in r.text
    assert _products(session) == [("aero-14", "Kestrel Aero 14 (2024)", "Light, fast, 14 inches.")]
    r = web.submit("/products/aero-14/edit", "/products/aero-14/edit", {"name": "Aero 14", "description": ""})
    assert r.status_code == 303
    assert _products(session) == [("aero-14", "Aero 14", "")]


def test_editing_an_unknown_product_is_not_found(web, factory, session):
    factory.user("lena", role=Role.staff)
    session.commit()
    web.sign_in("lena")
    assert web.get("/products/nope/edit").status_code == 404


def test_customers_are_refused_and_nothing_changes(web, factory, session):
    factory.product("aero-14", "Kestrel Aero 14")
    factory.user("maya")
    session.commit()
    web.sign_in("maya")
    for url in ("/products/new", "/products/aero-14/edit"):
        r = web.get(url)
        assert r.status_code == 403 and "Only staff manage the product catalog." in r.text
        assert r.headers["content-type"].startswith("text/html")
    token = csrf_from(web.get("/products").text)
    r = web.post("/products/new", {**NEW, "csrf_token": token})
    assert r.status_code == 403 and "Only staff manage the product catalog." in r.text
    r = web.post("/products/new", {"slug": "Bad Slug", "name": "", "csrf_token": token})  # no form, even to explain
    assert r.status_code == 403
    r = web.post("/products/aero-14/edit", {"name": "Hacked", "description": "", "csrf_token": token})
    assert r.status_code == 403
    assert _products(session) == [("aero-14", "Kestrel Aero 14", "A laptop.")]


def test_signed_out_visitors_are_sent_to_sign_in(web, factory, session):
    factory.product("aero-14", "Kestrel Aero 14")
    session.commit()
    for url in ("/products/new", "/products/aero-14/edit"):
        r = web.get(url)
        assert r.status_code == 303 and r.headers["location"] == f"/signin?next={url}"
    token = csrf_from(web.get("/signin").text)
    r = web.post("/products/new", {**NEW, "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=")
    r = web.post("/products/aero-14/edit", {"name": "Hacked", "description": "", "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=")
    assert _products(session) == [("aero-14", "Kestrel Aero 14", "A laptop.")]


def test_bad_and_duplicate_slugs_are_explained_and_write_nothing(web, factory, session):
    factory.product("aero-14", "Kestrel Aero 14")
    factory.user("lena", role=Role.staff)
    session.commit()
    web.sign_in("lena")

    r = web.submit("/products/new", "/products/new", {"slug": "Aero 16!", "name": "", "description": "Big."})
    assert r.status_code == 422
    page = r.text
    assert 'value="Aero 16!"' in page and ">Big.</textarea>" in page  # the input is kept
    assert re.search(r'id="f-slug-error"><span class="visually-hidden">Error: </span>Use lowercase letters', page)
    assert re.search(r'id="f-name-error"><span class="visually-hidden">Error: </span>Use at least 2 characters', page)
    assert 'aria-describedby="f-slug-hint f-slug-error"' in page and 'href="#f-slug"' in page

    r = web.submit("/products/new", "/products/new", {"slug": "aero-14", "name": "Another Aero", "description": ""})
    assert r.status_code == 409
    assert re.search(r'id="f-slug-error"><span class="visually-hidden">Error: </span>A product with the slug '
                     r"&#39;aero-14&#39; exists already", r.text)
    assert 'value="Another Aero"' in r.text
    assert _products(session) == [("aero-14", "Kestrel Aero 14", "A laptop.")]


def test_posts_without_the_csrf_token_are_refused(web, factory, session):
    factory.product("aero-14", "Kestrel Aero 14")
    factory.user("lena", role=Role.staff)
    session.commit()
    web.sign_in("lena")
    for token in (None, "forged-token"):
        extra = {"csrf_token": token} if token is not None else {}
        r = web.post("/products/new", {**NEW, **extra})
        assert r.status_code == 403 and "This form has expired" in r.text
        r = web.post("/products/aero-14/edit", {"name": "Changed", "description": "", **extra})
        assert r.status_code == 403 and "This form has expired" in r.text
    assert _products(session) == [("aero-14", "Kestrel Aero 14", "A laptop.")]


def test_manage_links_only_for_staff(browsers, factory, session):
    factory.product("aero-14", "Kestrel Aero 14")
    factory.user("lena", role=Role.staff)
    factory.user("ada", role=Role.admin)
    factory.user("maya")
    session.commit()

    def links(browser) -> tuple[bool, bool]:
        listing = browser.get("/products").text
        page = browser.get("/products/aero-14").text
        return 'href="/products/new"' in listing, 'href="/products/aero-14/edit"' in page

    assert links(browsers()) == (False, False)  # signed out
    for username, expected in (("maya", (False, False)), ("lena", (True, True)), ("ada", (True, True))):
        browser = browsers()
        browser.sign_in(username)
        assert links(browser) == expected, username


def test_new_is_not_taken_for_a_product_slug(web, factory, session):
    factory.user("lena", role=Role.staff)
    session.commit()
    web.sign_in("lena")
    assert "Add a product" in web.get("/products/new").text  # the form, not “there is no product 'new'”
    robots = web.get("/robots.txt").text
    assert "Disallow: /products/new" in robots and "Disallow: /products/*/edit" in robots
