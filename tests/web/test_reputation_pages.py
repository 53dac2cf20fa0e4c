"""Reputation in the forum: privilege flags on the question page, friendly vote refusals,
suggested edits and their review, the profile's reputation timeline and privileges, top
contributors, the help page, and the moderators' voting reports."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from app.answers import service as answers_service
from app.answers.models import Answer
from app.questions.models import Question, SuggestedEdit
from app.reputation import policy
from app.reputation.models import ReputationEvent, VotingReport
from app.votes import service as votes_service
from app.votes.models import Vote
from app.web.templating import signed
from tests.web.conftest import csrf_from, db_rows, text_of


def _url(q) -> str:
    return f"/questions/{q.id}/{q.slug}"


def _question_block(page: str) -> str:
    return page[page.index('id="question"'):page.index('id="answers"')]


def _answer_block(page: str, answer_id: int) -> str:
    start = page.index(f'id="answer-{answer_id}"')
    end = page.find("</article>", start)
    return page[start:end]


def _aside(page: str) -> str:
    return page[page.index('<aside class="layout-aside"'):]


def _thread(factory):
    maya, raj = factory.user("maya"), factory.user("raj")
    q = factory.question(author=maya, title="Dock Pro will not charge at 100 W", body="It charges at 60 W only.\nWhy?")
    a = factory.answer(q, author=raj, body="Use the 100 W cable that came in the box.")
    return maya, raj, q, a


# --- the question page respects the privilege flags -------------------------------------------------

def test_flags_hide_and_show_buttons_for_a_new_user_and_a_moderator(browsers, factory, session):
    maya, raj, q, a = _thread(factory)
    factory.user("nina")
    factory.user("omar", role="moderator")
    session.commit()
    nina, omar, asker = browsers(), browsers(), browsers()
    nina.sign_in("nina"), omar.sign_in("omar"), asker.sign_in("maya")

    page = nina.get(_url(q)).text
    for block in (_question_block(page), _answer_block(page, a.id)):
        assert "vote-up" in block  # upvoting is for everyone
        assert "vote-down" not in block  # no dead downvote button
        assert "/edit\"" not in block
    assert f'href="/questions/{q.id}/suggest-edit"' in page and f'href="/answers/{a.id}/suggest-edit"' in page
    assert f'href="/questions/{q.id}/edit"' not in page and f'href="/answers/{a.id}/edit"' not in page
    assert f'action="/questions/{q.id}/comments"' not in page and f'action="/answers/{a.id}/comments"' not in page
    aside = text_of(_aside(page))
    assert f"Voting down needs {policy.threshold('downvote')} reputation" in aside
    assert f"Commenting on others’ posts needs {policy.threshold('comment')} reputation" in aside
    assert 'href="/help/reputation#privilege-downvote"' in page

    page = omar.get(_url(q)).text
    for block in (_question_block(page), _answer_block(page, a.id)):
        assert "vote-up" in block and "vote-down" in block
    assert f'href="/questions/{q.id}/edit"' in page and f'href="/answers/{a.id}/edit"' in page
    assert "suggest-edit" not in page
    assert f'action="/questions/{q.id}/comments"' in page and f'action="/answers/{a.id}/comments"' in page
    assert "Your privileges" not in page and "needs 125 reputation" not in page

    # a new asker may comment on her own question and on its answers, and edit her own question
    page = asker.get(_url(q)).text
    assert f'action="/questions/{q.id}/comments"' in page and f'action="/answers/{a.id}/comments"' in page
    assert f'href="/questions/{q.id}/edit"' in page and f'href="/answers/{a.id}/suggest-edit"' in page

    # signed out: the upvote (leading to sign-in) only, no privilege hints
    page = browsers().get(_url(q)).text
    assert "vote-up" in page and "vote-down" not in page and "Your privileges" not in page
    assert "suggest-edit" not in page


def test_a_downvoter_with_enough_reputation_sees_the_button(web, factory, session):
    maya, raj, q, a = _thread(factory)
    factory.user("sam", reputation=policy.threshold("downvote"))
    session.commit()
    web.sign_in("sam")
    page = web.get(_url(q)).text
    assert "vote-down" in _answer_block(page, a.id)
    assert "Voting down needs" not in page
    r = web.submit(_url(q), f"/answers/{a.id}/vote", {"value": "-1"})
    assert r.status_code == 303
    assert db_rows(session, select(Answer.score).where(Answer.id == a.id)) == [-1]


# --- vote refusals come back as a message on the question page ----------------------------------------

def test_a_downvote_by_a_new_user_is_explained_not_an_error_page(web, factory, session):
    maya, raj, q, a = _thread(factory)
    factory.user("nina")
    session.commit()
    web.sign_in("nina")
    token = csrf_from(web.get(_url(q)).text)
    r = web.post(f"/answers/{a.id}/vote", {"value": "-1", "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == f"{_url(q)}#answer-{a.id}"
    page = web.follow(r).text
    flash = re.search(r'<p class="flash flash-error" role="alert">(.*?)</p>', page, re.S)
    assert flash, "no error message on the question page"
    assert "Voting down needs 125 reputation; you have 1." in flash.group(1)
    assert 'href="/help/reputation#privilege-downvote"' in flash.group(1)
    assert db_rows(session, select(Answer.score).where(Answer.id == a.id)) == [0]
    assert db_rows(session, select(Vote)) == []

    r = web.post(f"/questions/{q.id}/vote", {"value": "-1", "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == f"{_url(q)}#question"
    assert "Voting down needs" in web.follow(r).text
    assert db_rows(session, select(Question.score).where(Question.id == q.id)) == [0]


def test_a_locked_vote_and_the_daily_limit_are_explained(web, factory, session, monkeypatch):
    maya, raj, q, a = _thread(factory)
    nina = factory.user("nina")
    votes_service.cast(session, actor=nina, post_type="answer", post_id=a.id, value=1,
                       now=datetime.now(UTC) - policy.VOTE_LOCK - timedelta(minutes=1))
    session.commit()
    web.sign_in("nina")
    r = web.submit(_url(q), f"/answers/{a.id}/vote", {"value": "0"})
    assert r.status_code == 303 and r.headers["location"] == f"{_url(q)}#answer-{a.id}"
    assert "Your vote is locked in" in text_of(web.follow(r).text)
    assert db_rows(session, select(Vote.value)) == [1]
    assert db_rows(session, select(Answer.score).where(Answer.id == a.id)) == [1]

    monkeypatch.setattr(policy, "VOTES_PER_DAY", 1)  # today's vote above already used the allowance
    r = web.submit(_url(q), f"/questions/{q.id}/vote", {"value": "1"})
    assert r.status_code == 303
    assert "You have used your 1 votes for today" in text_of(web.follow(r).text)
    assert db_rows(session, select(Question.score).where(Question.id == q.id)) == [0]


def test_vote_script_shows_the_problem_detail():
    from app.core.paths import static_dir

    script = (static_dir() / "groundswell.js").read_text()
    assert "problem.detail" in script and "data-vote-problem" in script
    assert re.search(r"status === 403 \|\| status === 409 \|\| status === 429", script)


# --- suggested edits ----------------------------------------------------------------------------------

def test_suggest_review_approve_and_reject(browsers, factory, session):
    maya, raj, q, a = _thread(factory)
    factory.user("nina")
    factory.user("omar", role="moderator")
    factory.user("sam")
    session.commit()
    nina, omar, sam = browsers(), browsers(), browsers()
    nina.sign_in("nina"), omar.sign_in("omar"), sam.sign_in("sam")

    # nina suggests an edit to raj's answer
    form = nina.get(f"/answers/{a.id}/suggest-edit")
    assert form.status_code == 200 and ">Use the 100 W cable that came in the box.</textarea>" in form.text
    r = nina.submit(f"/answers/{a.id}/suggest-edit", f"/answers/{a.id}/suggest-edit", {
        "body": "Use the 100 W cable that came in the box.\nThe 60 W cable limits charging.", "comment": "explain why"})
    assert r.status_code == 303 and r.headers["location"] == f"{_url(q)}#answer-{a.id}"
    assert "Your edit was sent for review" in nina.follow(r).text
    assert db_rows(session, select(Answer.body).where(Answer.id == a.id)) == ["Use the 100 W cable that came in the box."]
    # one pending suggestion per post: the form says so
    assert "already has a suggested edit waiting" in nina.get(f"/answers/{a.id}/suggest-edit").text
    # the author edits directly
    raj_browser = browsers()
    raj_browser.sign_in("raj")
    assert raj_browser.get(f"/answers/{a.id}/suggest-edit").headers["location"] == f"/answers/{a.id}/edit"

    # a customer without the privilege: friendly 403, no header link
    refused = sam.get("/review/edits")
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert "Reviewing suggested edits takes 1,000 reputation" in refused.text
    assert 'href="/review/edits"' not in sam.get("/").text
    edit = db_rows(session, select(SuggestedEdit))[0]
    r = sam.post(f"/review/edits/{edit.id}/approve", {"csrf_token": csrf_from(sam.get("/").text)})
    assert r.status_code == 403

    # the moderator sees "Review (1)" and the queue with the diff
    home = omar.get("/").text
    assert re.search(r'<a href="/review/edits">Review <span class="nav-count">\(1\)</span>', home)
    queue = omar.get("/review/edits").text
    item = queue[queue.index(f'id="suggestion-{edit.id}"'):]
    assert f'href="{_url(q)}#answer-{a.id}">Answer to “Dock Pro will not charge at 100 W”</a>' in item
    assert 'href="/users/nina"' in item and "“explain why”" in item
    assert re.search(r'<ins class="diff-line">.*?Added: </span>The 60 W cable limits charging\.</ins>', item)
    assert re.search(r'<span class="diff-line diff-equal">.*?Use the 100 W cable that came in the box\.</span>', item)
    r = omar.post(f"/review/edits/{edit.id}/approve", {"csrf_token": csrf_from(queue), "note": "thanks"})
    assert r.status_code == 303 and r.headers["location"] == "/review/edits"
    after = omar.follow(r).text
    assert "Approved" in after and "Nothing to review" in after and 'href="/review/edits"' not in after
    assert db_rows(session, select(Answer.body).where(Answer.id == a.id)) == [
        "Use the 100 W cable that came in the box.\nThe 60 W cable limits charging."]
    revisions = omar.get(f"/answers/{a.id}/revisions").text
    newest = revisions[revisions.index('id="revision-2"'):revisions.index('id="revision-1"')]
    assert 'href="/users/nina"' in newest and "explain why (approved by omar)" in newest

    # a suggestion to the question, rejected: nothing changes
    r = nina.submit(f"/questions/{q.id}/suggest-edit", f"/questions/{q.id}/suggest-edit", {
        "title": "Dock Pro charges only at 60 W, not 100 W", "body": "It charges at 60 W only.\nWhy?",
        "tags": "dock charging", "comment": "clearer title"})
    assert r.status_code == 303 and r.headers["location"] == _url(q)
    edit2 = db_rows(session, select(SuggestedEdit).where(SuggestedEdit.post_type == "question"))[0]
    queue = omar.get("/review/edits").text
    item = queue[queue.index(f'id="suggestion-{edit2.id}"'):]
    assert f'<a href="{_url(q)}">Dock Pro will not charge at 100 W</a>' in item
    assert "Added: </span>Dock Pro charges only at 60 W, not 100 W" in item
    assert re.search(r"<del>wifi</del>.*<ins>dock, charging</ins>", item, re.S)
    r = omar.post(f"/review/edits/{edit2.id}/reject", {"csrf_token": csrf_from(queue), "note": "title was fine"})
    assert r.status_code == 303 and "Rejected" in omar.follow(r).text
    assert db_rows(session, select(Question.title).where(Question.id == q.id)) == ["Dock Pro will not charge at 100 W"]
    assert db_rows(session, select(SuggestedEdit.status, SuggestedEdit.review_note).where(
        SuggestedEdit.id == edit2.id)) == [("rejected", "title was fine")]
    # reviewing twice is explained, not an error page
    r = omar.post(f"/review/edits/{edit2.id}/approve", {"csrf_token": csrf_from(queue)})
    assert r.status_code == 303 and "already" in omar.follow(r).text
    assert db_rows(session, select(Question.title).where(Question.id == q.id)) == ["Dock Pro will not charge at 100 W"]


def test_a_suggestion_that_changes_nothing_or_is_invalid_is_explained(web, factory, session):
    maya, raj, q, a = _thread(factory)
    factory.user("nina")
    session.commit()
    web.sign_in("nina")
    r = web.submit(f"/answers/{a.id}/suggest-edit", f"/answers/{a.id}/suggest-edit",
                   {"body": "Use the 100 W cable that came in the box.", "comment": ""})
    assert r.status_code == 422 and "The suggestion changes nothing." in r.text
    r = web.submit(f"/questions/{q.id}/suggest-edit", f"/questions/{q.id}/suggest-edit",
                   {"title": "Short", "body": "It charges at 60 W only.\nWhy?", "tags": "", "comment": ""})
    assert r.status_code == 422 and 'id="f-title-error"' in r.text and 'value="Short"' in r.text
    assert db_rows(session, select(SuggestedEdit)) == []


# --- the profile: reputation timeline and privileges ---------------------------------------------------

def test_profile_timeline_after_votes_accept_and_a_retraction(web, factory, session, monkeypatch):
    maya, raj, q, a = _thread(factory)
    nina, sam = factory.user("nina"), factory.user("sam")
    votes_service.cast(session, actor=nina, post_type="answer", post_id=a.id, value=1)
    answers_service.accept(session, actor=maya, question_id=q.id, answer_id=a.id)
    votes_service.cast(session, actor=sam, post_type="answer", post_id=a.id, value=1)
    votes_service.cast(session, actor=sam, post_type="answer", post_id=a.id, value=0)  # retracted
    session.commit()

    page = web.get("/users/raj").text
    assert re.search(r'<dt>Reputation</dt><dd><a href="/users/raj\?tab=reputation">26<', page)  # 1 + 10 + 15
    # Issue 14 item 7: grouped per post: one row for the answer, with its causes
    rows = re.findall(r'<li class="profile-post rep-post-row">(.*?)</li>', page, re.S)
    assert len(rows) == 1
    row = text_of(rows[0])
    answer_link = f'href="{_url(q)}#answer-{a.id}"'
    assert answer_link in rows[0]
    assert row.startswith(signed(policy.POINTS["answer_accepted"] + policy.POINTS["answer_upvoted"]))
    assert "Answer to “Dock Pro will not charge at 100 W”" in row
    assert f"Answer accepted ({signed(policy.POINTS['answer_accepted'])})" in row
    assert f"Answer upvoted ({signed(policy.POINTS['answer_upvoted'])})" in row and "1 reversed" in row

    # the asker's +2 for accepting links to the answer too
    maya_page = web.get("/users/maya?tab=reputation").text
    assert "Accepted an answer" in maya_page and answer_link in maya_page


def test_profile_lists_privileges_earned_and_next(web, factory, session):
    factory.user("raj", reputation=130)
    factory.user("omar", role="moderator")
    session.commit()
    page = web.get("/users/raj").text
    privileges = page[page.index('id="privileges"'):]
    earned = re.findall(r'<li class="privilege is-earned" id="privilege-(\w+)">', privileges)
    assert earned == ["upvote", "flag", "comment", "downvote"]
    assert re.search(r'<li class="privilege is-next" id="privilege-close">', privileges)
    close, edit = policy.threshold("close"), policy.threshold("edit")
    assert f"Next: Close and mark duplicates at {close}, {close - 130} points to go." in text_of(privileges)
    assert f"{edit:,} reputation · {edit - 130:,} more" in text_of(privileges)
    moderator = web.get("/users/omar").text
    assert "Every privilege is earned." in moderator
    assert len(re.findall(r'class="privilege is-earned"', moderator)) == len(policy.PRIVILEGES)


# --- top contributors ----------------------------------------------------------------------------------

def _top_rows(page: str) -> list[tuple[str, int]]:
    panel = page[page.index('id="top-title"'):]
    panel = panel[:panel.index("</section>")]
    return [(name, int(points)) for name, points in
            re.findall(r'href="/users/(\w+)">.*?</a></span> <span class="count">(\d+)<', panel)]


def test_top_contributors_last_30_days_and_all_time(web, factory, session):
    aero = factory.product("aero-14", "Kestrel Aero 14")
    factory.product("dock-pro", "Dock Pro")
    maya, raj, lena, nina = (factory.user(n) for n in ("maya", "raj", "lena", "nina"))
    q1 = factory.question(author=maya, product="aero-14")
    a_raj = factory.answer(q1, author=raj)
    a_lena = factory.answer(q1, author=lena)
    q2 = factory.question(author=maya, product="dock-pro")
    a_nina = factory.answer(q2, author=nina)
    votes_service.cast(session, actor=maya, post_type="answer", post_id=a_raj.id, value=1)  # raj +10 (aero)
    answers_service.accept(session, actor=maya, question_id=q1.id, answer_id=a_lena.id)  # lena +15, maya +2 (aero)
    votes_service.cast(session, actor=maya, post_type="answer", post_id=a_nina.id, value=1)  # nina +10 (dock)
    session.flush()
    old = datetime(2020, 1, 15, tzinfo=UTC)
    for e in session.exec(select(ReputationEvent).where(ReputationEvent.kind == "answer_accepted")).all():
        e.occurred_at = old  # lena's points were earned long ago
    session.commit()

    home = web.get("/").text
    assert _top_rows(home) == [("raj", 10), ("nina", 10), ("maya", 2)]  # ties: the earlier member first
    assert re.search(r'<a href="/\?top=all#top-title">All time</a>', home)
    assert re.search(r'<a href="/#top-title" aria-current="page">Last 30 days</a>', home)
    all_time = web.get("/?top=all").text
    assert _top_rows(all_time)[0] == ("lena", 15) and {n for n, _ in _top_rows(all_time)} == {"lena", "raj", "nina", "maya"}
    assert re.search(r'<a href="/\?top=all#top-title" aria-current="page">All time</a>', all_time)

    product = web.get("/products/aero-14").text
    assert _top_rows(product) == [("raj", 10), ("maya", 2)]  # no dock-pro points, no old ones
    product_all = web.get("/products/aero-14?top=all&sort=votes").text
    assert _top_rows(product_all) == [("lena", 15), ("raj", 10), ("maya", 2)]
    assert 'href="/products/aero-14?sort=votes#top-title">Last 30 days</a>' in product_all
    assert _top_rows(web.get("/products/dock-pro").text) == [("nina", 10)]
    assert aero.slug == "aero-14"
    # nobody earned anything on a product yet: the panel says so
    factory.product("hub-3", "Hub 3")
    session.commit()
    assert "Nobody has earned reputation here in the last 30 days." in web.get("/products/hub-3").text
    # the window rolls: points from 31 days ago are out of it, from 29 days ago in it (issue 18)
    for days, e in zip((31, 29), session.exec(select(ReputationEvent).where(
            ReputationEvent.kind == "answer_upvoted").order_by(ReputationEvent.id)).all(), strict=False):
        e.occurred_at = datetime.now(UTC) - timedelta(days=days)
    session.commit()

    def top_30d(slug):  # the same query as the panel, without the page cache's refresh interval
        r = web.client.get(f"/api/v1/products/{slug}/top-contributors", params={"period": "30d"})
        return [(i["user"]["username"], i["points"]) for i in r.json()["items"]]

    assert top_30d("aero-14") == [("maya", 2)]
    assert top_30d("dock-pro") == [("nina", 10)]


# --- the help page ------------------------------------------------------------------------------------

def test_help_page_numbers_come_from_the_policy(web, monkeypatch):
    def check():
        page = web.get("/help/reputation")
        assert page.status_code == 200
        html = page.text
        rows = dict(re.findall(r'<tr data-kind="(\w+)">.*?<td class="num" data-points>(.*?)</td>', html, re.S))
        assert rows == {k: signed(v) for k, v in policy.POINTS.items()}
        for kind, label in policy.KIND_LABELS.items():
            assert re.search(rf'<tr data-kind="{kind}">\s*<th scope="row">{re.escape(label)}', html)
        thresholds = dict(re.findall(r'data-privilege="(\w+)">\s*<td class="num" data-threshold>([\d,]+)</td>', html))
        assert thresholds == {p.key: f"{p.reputation:,}" for p in policy.PRIVILEGES}
        assert f"<strong data-daily-cap>{policy.DAILY_VOTE_CAP}</strong>" in html
        assert f"<strong data-minimum>{policy.MINIMUM_REPUTATION}</strong>" in html
        assert f"<strong data-vote-lock>{int(policy.VOTE_LOCK.total_seconds() // 60)}</strong>" in html
        assert f"<strong data-votes-per-day>{policy.VOTES_PER_DAY}</strong>" in html
        assert f"<strong data-serial-min>{policy.SERIAL_MIN_VOTES}</strong>" in html
        text = text_of(html)
        for word in ("retracts", "switches", "un-accepts", "deleted", "Staff are badged, never boosted"):
            assert word in text
        return html

    html = check()
    assert 'href="/help/reputation"' in html  # the footer links here

    # change the policy: the page follows (nothing is hard-coded)
    from app.reputation.policy import Privilege

    monkeypatch.setattr(policy, "POINTS", {**policy.POINTS, "answer_upvoted": 7})
    monkeypatch.setattr(policy, "DAILY_VOTE_CAP", 321)
    monkeypatch.setattr(policy, "VOTES_PER_DAY", 33)
    monkeypatch.setattr(policy, "PRIVILEGES", (*policy.PRIVILEGES[:-1], Privilege("edit", 2500, "Edit", "Edit.")))
    html = check()
    assert ">+7</td>" in html and ">2,500</td>" in html


# --- moderators: voting reports ------------------------------------------------------------------------

def test_moderation_page_access_detect_and_resolve(browsers, factory, session):
    raj, sam = factory.user("raj"), factory.user("sam")
    factory.user("omar", role="moderator")
    factory.user("nina")
    answers = []
    for _ in range(policy.SERIAL_MIN_VOTES):
        q = factory.question()
        answers.append(factory.answer(q, author=raj))
    for a in answers:
        votes_service.cast(session, actor=sam, post_type="answer", post_id=a.id, value=1)
    session.commit()
    assert db_rows(session, select(Answer.score)) == [1] * policy.SERIAL_MIN_VOTES

    nina, omar = browsers(), browsers()
    nina.sign_in("nina"), omar.sign_in("omar")
    refused = nina.get("/moderation/voting")
    assert refused.status_code == 403 and "Only moderators and staff" in refused.text
    assert nina.post("/moderation/voting/detect", {"csrf_token": csrf_from(nina.get("/").text)}).status_code == 403
    assert 'href="/moderation/voting"' not in nina.get("/").text
    assert db_rows(session, select(Vote.id)) != []

    home = omar.get("/").text
    assert '<a href="/moderation/voting">Voting reports</a>' in home
    page = omar.get("/moderation/voting").text
    assert "No open reports." in page
    r = omar.submit("/moderation/voting", "/moderation/voting/detect")
    assert r.status_code == 303 and r.headers["location"] == "/moderation/voting"
    page = omar.follow(r).text
    n = policy.SERIAL_MIN_VOTES
    assert f"1 pattern found, {n} votes reversed" in text_of(page)
    assert db_rows(session, select(Vote)) == []
    assert db_rows(session, select(Answer.score)) == [0] * n
    report = db_rows(session, select(VotingReport))[0]
    row = page[page.index(f'id="report-{report.id}"'):]
    row = row[:row.index("</tr>")]
    assert 'href="/users/sam"' in row and 'href="/users/raj"' in row and "Serial voting" in row
    assert f"{n} upvotes for one author" in row
    assert db_rows(session, select(ReputationEvent.reversal_reason).distinct()) == ["serial voting"]

    # a second check finds nothing new
    r = omar.submit("/moderation/voting", "/moderation/voting/detect")
    assert "no patterns found" in omar.follow(r).text

    r = omar.submit("/moderation/voting", f"/moderation/voting/{report.id}/resolve")
    assert r.status_code == 303
    page = omar.follow(r).text
    assert f'id="report-{report.id}"' not in page and "No open reports." in page
    assert db_rows(session, select(VotingReport.resolved_at))[0] is not None
    assert nina.post(f"/moderation/voting/{report.id}/resolve",
                     {"csrf_token": csrf_from(nina.get("/").text)}).status_code == 403
