"""An unknown `?product=` filter is one answer everywhere (a newcomer's trial found four: 404 on
/questions, 422 located in the body on /search and /questions/similar, an empty 200 on the
escalation queue): 422 problem+json at ["query", "product"]. A known product, in any case and
with stray spaces, filters as before."""

from __future__ import annotations

import pytest

from tests.api.conftest import API, assert_problem

FILTERED = ["/questions", "/search?q=dock", "/questions/similar?title=dock%20flickers", "/escalations",
            "/escalations/metrics"]


@pytest.fixture
def staff(factory, session, login):
    factory.user("lena", role="staff")
    factory.product("aero-14", "Kestrel Aero 14")
    session.commit()
    return login("lena")


@pytest.mark.parametrize("path", FILTERED)
def test_an_unknown_product_is_a_422_at_the_query_parameter(client, staff, path):
    sep = "&" if "?" in path else "?"
    r = client.get(f"{API}{path}{sep}product=toaster-3000", headers=staff)
    body = assert_problem(r, 422)
    assert body["errors"] == [{"loc": ["query", "product"], "type": "value_error",
                               "msg": "There is no product 'toaster-3000'; pick one from the list or leave it empty."}]


@pytest.mark.parametrize("path", FILTERED)
def test_a_known_product_in_any_case_filters(client, staff, path):
    sep = "&" if "?" in path else "?"
    r = client.get(f"{API}{path}{sep}product=%20AERO-14%20", headers=staff)
    assert r.status_code == 200, r.text


def test_the_filter_still_narrows_the_list(client, factory, session):
    factory.product("aero-14", "Kestrel Aero 14")
    factory.product("dock-pro", "Kestrel Dock Pro")
    mine = factory.question(title="Aero fan is loud under light load", product="aero-14")
    factory.question(title="Dock flickers when a second monitor wakes up", product="dock-pro")
    session.commit()
    items = client.get(f"{API}/questions?product=Aero-14").json()["items"]
    assert [i["id"] for i in items] == [mine.id]


def test_the_schema_documents_the_refusal(app):
    spec = app.openapi()
    for path in ("/questions", "/search", "/questions/similar", "/escalations", "/escalations/metrics"):
        params = {p["name"]: p for p in spec["paths"][f"{API}{path}"]["get"]["parameters"]}
        assert "unknown one is a 422" in params["product"]["description"], path
