def test_health(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["database"] == "ok"


def test_ask_answer_vote_accept_flow(client, factory, session):
    from tests.factories import token_headers

    asker, helper, voter = factory.user("asker"), factory.user("helper"), factory.user("voter")
    session.commit()
    h_asker, h_helper, h_voter = (token_headers(client, u) for u in ("asker", "helper", "voter"))
    q = client.post("/api/v1/questions", json={"title": "Dock Pro will not charge at 100 W", "body": "It charges at 60 W only, why?", "tags": ["Dock", "charging"]}, headers=h_asker)
    assert q.status_code == 201, q.text
    qid = q.json()["id"]
    a = client.post(f"/api/v1/questions/{qid}/answers", json={"body": "Use the 100 W cable that came in the box."}, headers=h_helper)
    assert a.status_code == 201, a.text
    v = client.post(f"/api/v1/answers/{a.json()['id']}/vote", json={"value": 1}, headers=h_voter)
    assert v.json() == {"score": 1, "my_vote": 1}
    acc = client.post(f"/api/v1/questions/{qid}/accept", json={"answer_id": a.json()["id"]}, headers=h_asker)
    assert acc.status_code == 200 and acc.json()["has_accepted_answer"] is True
    assert acc.json()["tags"] == ["dock", "charging"]
