"""Every page of the forum in a real browser (Chromium through Playwright), signed out, as a
customer and as staff, at 1280×900 and at 390×844: no page is wider than the window
(document.documentElement.scrollWidth <= window.innerWidth) and axe-core finds no violation, with
each page's Content-Security-Policy in force (tests/web/conftest.py: PageChecker).

A new page goes into `pages()` below; the list follows the GET routes of app/web (and /docs)."""

from __future__ import annotations

import re

import pytest

from app.comments import service as comments_service
from app.escalation import metoo
from app.escalation import service as esc_service
from app.questions.schemas import CommentCreate
from tests.factories import make_answer, make_question, make_user

pytestmark = pytest.mark.browser

LONG_TITLE = ("Aero 14 will not wake from sleep after the BIOS 1.08 update when the Dock Pro is attached "
              "over Thunderbolt and the lid is closed")
# Long values without a single place to break a line (no spaces, no hyphens): every list, card,
# heading, breadcrumb and sidebar must wrap them inside the window rather than widen the page.
UNBROKEN_TITLE = "Overflow" + "W" * 142  # the longest title (TITLE_MAX 150)
UNBROKEN_TAG = "thunderbolt" + "x" * 24  # the longest tag (35)
UNBROKEN_PRODUCT = "Kestrel" + "Q" * 53
UNBROKEN_USER = "longname_" + "w" * 21  # the longest username (30)
UNBROKEN_VIEW = "View" + "V" * 56  # the longest saved-view name (60)


def _community(session, engine, settings) -> dict:
    """A small community with the long names and titles that break layouts: a solved question with
    a comment, an unanswered escalated one, a claimed escalation; returns the ids the pages need."""
    from app.answers import service as answers_service
    from app.products import service as products_service
    from app.products.schemas import ProductCreate

    admin = make_user(session, "root_admin", role="admin", display_name="Community Admin")
    lena = make_user(session, "lena_kestrel", role="staff", display_name="Lena Lindqvist-Haraldsen (Kestrel Support)")
    tomas = make_user(session, "tomas_kestrel", role="staff", display_name="Tomas (Kestrel Support)", reputation=273283)
    maya = make_user(session, "maya", display_name="Maya Fernández-Oyelaran", reputation=1500)
    raj = make_user(session, "raj_builds", display_name="Raj", reputation=120)
    product = products_service.create(session, actor=admin, data=ProductCreate(
        slug="aero-14", name="Kestrel Aero 14 Pro Creator Edition (2026)", description="A 14-inch laptop."))
    solved = make_question(session, author=maya, title="Wi-Fi drops every few minutes on battery",
                           tags=["wifi", "power-management"], product="aero-14")
    answer = make_answer(session, solved, author=raj,
                         body="Turn off *Allow the computer to turn off this device to save power* for the Wi-Fi adapter.")
    answers_service.accept(session, actor=maya, question_id=solved.id, answer_id=answer.id)
    comments_service.add(session, actor=lena, post_type="answer", post_id=answer.id,
                         data=CommentCreate(body="This is also in the Aero 14 manual, section 4.2."))
    open_q = make_question(session, author=raj, title=LONG_TITLE, tags=["sleep", "bios", "dock-pro"], product="aero-14")
    waiting = make_question(session, author=maya, title="Fan runs at full speed after every restart")
    claimed, _ = esc_service.escalate(session, actor=lena, question_id=open_q.id,
                                      reason="Several customers report the same after BIOS 1.08: looks like a defect.")
    esc_service.claim(session, actor=tomas, escalation_id=claimed.id)
    unclaimed, _ = esc_service.escalate(session, actor=lena, question_id=waiting.id, reason="Thermal complaint")
    from app.escalation import messages as private_messages

    private_messages.post(session, actor=lena, escalation_id=unclaimed.id, body="Could you send the **serial number**?")
    private_messages.post(session, actor=maya, escalation_id=unclaimed.id, body="Sure: `KST-2291-40518`.")
    metoo.add(session, actor=maya, question_id=open_q.id)
    # Staff pages with rows: an API key with long scopes and origins, a webhook endpoint, a flag
    # (it also puts an audit and a my-flags row in place), a mail in the outbox.
    from app.apikeys import service as apikeys_service
    from app.mail import accounts as mail_accounts
    from app.moderation import flags as flags_service
    from app.webhooks import service as webhooks_service

    apikeys_service.create(session, actor=admin, owner=lena, name="Kestrel help centre widget (production)",
                           scopes=["read", "write"], allowed_origins=["https://help.kestrel-computers.example"],
                           rate_limit=600)
    endpoint = webhooks_service.create_endpoint(session, actor=admin, url="https://tickets.kestrel-computers.example/hooks/groundswell",
                                                events=["question.created", "answer.created"], description="Ticketing")
    maya.reputation = max(maya.reputation, 1500)  # the accept above recounted it; flagging needs 15
    flags_service.raise_flag(session, actor=maya, post_type="answer", post_id=answer.id, reason="needs_improvement")
    mail_accounts.send_verification(session, raj)
    from sqlmodel import select

    from app.mail.models import EmailOutbox

    mail_id = session.exec(select(EmailOutbox.id)).first()
    from app.savedviews import service as saved_views
    from app.savedviews.schemas import ViewCreate

    view = saved_views.create(session, actor=lena, data=ViewCreate(
        name="Unresolved escalations on the Aero 14 Pro Creator Edition", shared=True,
        filters={"escalation_status": "active"}))
    saved_views.create(session, actor=lena, data=ViewCreate(name="Aero 14, unsolved",
                                                            filters={"product": "aero-14", "unsolved": True}))
    saved_views.create(session, actor=tomas, data=ViewCreate(name="Many have it too", shared=True,
                                                             filters={"has_me_too": True}))
    saved_views.create(session, actor=maya, data=ViewCreate(name="Wi-Fi", filters={"tag": "wifi"}))
    from app.badges import service as badges

    badges.sync(session)  # raj: Teacher and Solver; maya: Scholar (profiles, user cards, /badges/solver)
    # The internal space (docs/internal.md): a long internal question with an answer, linked from the
    # claimed escalation's thread; its page, /internal and the staff panel get checked.
    from app.internal import service as internal_service
    from app.questions import service as questions_service
    from app.questions.schemas import QuestionCreate

    internal_q = questions_service.ask(session, actor=lena, data=QuestionCreate(
        title="Known defect: " + LONG_TITLE[:120], body="Workaround under review: roll back BIOS 1.08.",
        tags=["sleep", "bios"], product="aero-14", visibility="internal"))
    make_answer(session, internal_q, author=tomas, body="Engineering confirmed; the fix ships in BIOS 1.09.")
    internal_service.link(session, actor=lena, question_id=open_q.id, internal_id=internal_q.id,
                          escalation_id=claimed.id)
    unbroken = _unbroken_values(session, admin, lena, maya)
    session.commit()
    from app.search import outbox
    from app.search import service as search_service

    outbox.drain(engine, encoder=search_service.encoder_for(settings))  # search results and facets to show
    return {"solved": solved, "answer": answer, "open": open_q, "claimed": claimed.id, "unclaimed": unclaimed.id,
            "product": product.slug, "endpoint": endpoint.id, "mail": mail_id, "waiting": waiting, "view": view.id,
            "internal": internal_q, "unbroken": unbroken}


def _unbroken_values(session, admin, lena, maya):
    """The UNBROKEN_* values in place: a product, a member (username and display name), a question
    by them with the tag, an answer by maya (a notification to them), a comment naming it, a shared
    saved view; returns the question."""
    from app.products import service as products_service
    from app.products.schemas import ProductCreate
    from app.savedviews import service as saved_views
    from app.savedviews.schemas import ViewCreate

    products_service.create(session, actor=admin, data=ProductCreate(slug="unbroken", name=UNBROKEN_PRODUCT))
    member = make_user(session, UNBROKEN_USER, display_name="Member" + "M" * 54, reputation=200)
    q = make_question(session, author=member, title=UNBROKEN_TITLE, tags=[UNBROKEN_TAG, "wifi"], product="unbroken",
                      body="The log shows " + "E" * 200 + " then the Wi-Fi drops (overflow).")
    make_answer(session, q, author=maya, body="Overflow here too: " + "A" * 120)
    saved_views.create(session, actor=lena, data=ViewCreate(name=UNBROKEN_VIEW, shared=True,
                                                            filters={"tag": UNBROKEN_TAG, "product": "unbroken"}))
    return q


def pages(ids: dict) -> dict[str, list[str | tuple[str, int]]]:
    """The pages to check, by who looks: (path) or (path, expected status)."""
    solved, open_q, answer = ids["solved"], ids["open"], ids["answer"]
    public = [
        "/", "/questions", "/questions?sort=unanswered", "/questions?sort=votes",
        f"/questions/{solved.id}/{solved.slug}", f"/questions/{open_q.id}/{open_q.slug}",
        f"/questions/{solved.id}/revisions", f"/answers/{answer.id}/revisions",
        "/products", f"/products/{ids['product']}", "/tags/wifi",
        "/users/maya", "/users/tomas_kestrel",
        "/search?q=wifi", "/search", "/search?q=zzzzqqq",
        "/help/reputation", "/docs", "/redoc", ("/questions/999999", 404),
        "/tags", "/users", "/users?sort=name",
        "/users/maya?tab=questions", "/users/maya?tab=answers", "/users/raj_builds?tab=answers",
        "/badges", "/badges/solver", "/badges/great-answer", ("/badges/no-such-badge", 404),
    ]
    staff = [
        "/staff/escalations", "/staff/escalations?status=all", "/staff/escalations/metrics",
        f"/staff/escalations/{ids['claimed']}", f"/staff/escalations/{ids['unclaimed']}",
        "/staff/service-levels", "/review/edits", "/products/new", f"/products/{ids['product']}/edit",
        f"/answers/{answer.id}/edit", "/staff/mail", f"/staff/mail/{ids['mail']}", "/staff/api-keys",
        "/staff/widget", "/moderation/flags", "/moderation/flags?status=all", "/moderation/review",
        "/moderation/audit-log", "/moderation/voting", "/users/raj_builds/moderate",
        "/following", "/settings/notifications", "/settings/account", "/notifications",
        "/views", "/views/new", f"/views/{ids['view']}", f"/views/{ids['view']}/edit",
        "/internal", "/internal?q=bios", f"/questions/{ids['internal'].id}/{ids['internal'].slug}",
        "/ask?visibility=internal",
    ]
    return {
        "signed out": public + ["/signin", "/signup", "/password-reset", ("/verify-email", 400)],
        "maya": public + [
            "/ask", "/settings", "/notifications", f"/questions/{solved.id}/edit",
            f"/answers/{answer.id}/suggest-edit", f"/questions/{open_q.id}/suggest-edit",
            "/following", "/settings/notifications", "/settings/account", "/moderation/my-flags",
            "/users/maya?tab=reputation", "/views", "/views/new",
            f"/escalations/{ids['unclaimed']}/messages", f"/questions/{ids['waiting'].id}/{ids['waiting'].slug}",
            (f"/questions/{ids['internal'].id}/{ids['internal'].slug}", 404), ("/internal", 404),
        ],
        "lena_kestrel": public + staff,
        "root_admin": staff + ["/staff/webhooks", f"/staff/webhooks/{ids['endpoint']}"],
    }


# Pages a script renders, and what shows that it has finished (including docs-a11y.js's fixes:
# ReDoc's content gets its id `reference` from redoc-init.js once it has rendered).
RENDERED_BY_SCRIPT = {"/docs": "#swagger-ui .opblock", "/redoc": "#reference"}


def _layout_and_axe_on_sqlite_only(engine) -> None:
    """Layout and accessibility are the templates' and the CSS's, the same on both databases; on
    PostgreSQL every page's rendering is checked by test_head.py (every GET route) and the page
    tests. These browser walks took 415 s of the suite's ~60 min on PostgreSQL alone (2 cores),
    against CI's 90-minute limit."""
    if engine.dialect.name != "sqlite":
        pytest.skip("layout and axe are checked once, on SQLite: the pages' HTML does not depend on the database")


def test_every_page_fits_both_sizes_and_passes_axe(page_checker, session, clean_engine, settings):
    _layout_and_axe_on_sqlite_only(clean_engine)
    ids = _community(session, clean_engine, settings)
    for who, paths in pages(ids).items():
        page = page_checker.person(None if who == "signed out" else who)
        for entry in paths:
            path, status = entry if isinstance(entry, tuple) else (entry, None)
            page_checker.check(page, path, who, expect_status=status, wait_for=RENDERED_BY_SCRIPT.get(path))
        page.context.close()
    # A 404 page (and /verify-email without a token, a 400) logs its own status in the console;
    # that is the page working as expected, not a problem.
    problems = [p for p in page_checker.problems if "status of 404" not in p and "status of 400" not in p]
    assert not problems, page_checker.report()
    assert len(page_checker.checked) >= 2 * sum(len(p) for p in pages(ids).values())


def test_unbroken_words_fit_both_sizes(page_checker, session, clean_engine, settings):
    """The lists, cards and headings where a title, tag, product name, username, display name or
    saved-view name shows, with the UNBROKEN_* values: no page wider than the window (a 150-letter
    title made the home page 2745 px wide at 390 px)."""
    _layout_and_axe_on_sqlite_only(clean_engine)
    ids = _community(session, clean_engine, settings)
    q = ids["unbroken"]
    public = ["/", "/questions", "/search?q=overflow", f"/users/{UNBROKEN_USER}", f"/users/{UNBROKEN_USER}?tab=questions",
              "/products", "/products/unbroken", f"/tags/{UNBROKEN_TAG}", "/tags", "/users", f"/questions/{q.id}/{q.slug}"]
    for who, paths in {"signed out": public,
                       "lena_kestrel": ["/views", "/views/new", "/staff/escalations", "/notifications",
                                        f"/users/{UNBROKEN_USER}/moderate", "/products/unbroken/edit"],
                       UNBROKEN_USER: ["/notifications", "/following", "/settings", "/views"]}.items():
        page = page_checker.person(None if who == "signed out" else who)
        for path in paths:
            page_checker.check(page, path, who)
        page.context.close()
    assert not page_checker.problems, page_checker.report()


def test_api_docs_in_use_pass_axe(page_checker, session):
    """/docs and /redoc as people use them, not only as they load: Swagger UI with an operation
    opened, tried and executed, a POST's request body open for editing and the Authorize dialog;
    ReDoc with a response opened and its search in use. Nothing is excluded from axe."""
    from tests.factories import make_question, make_user

    _layout_and_axe_on_sqlite_only(session.get_bind())
    make_question(session, author=make_user(session, "maya"), title="Wi-Fi drops every few minutes on battery")
    session.commit()
    page = page_checker.person(None)
    page.goto(f"{page_checker.base_url}/docs")

    def operation(method: str, path: str):
        return page.locator(f".opblock-{method}:has(.opblock-summary-path[data-path='{path}'])")

    listing = operation("get", "/api/v1/questions")
    listing.locator(".opblock-summary-control").click()
    listing.locator(".try-out__btn").click()
    listing.locator(".btn.execute").click()
    listing.locator(".live-responses-table .response-col_status", has_text="200").wait_for()
    assert "Wi-Fi drops" in listing.locator(".live-responses-table").inner_text()
    page_checker.check_current(page, "/docs (GET /api/v1/questions executed)")
    listing.locator(".opblock-summary-control").click()
    asking = operation("post", "/api/v1/questions")
    asking.locator(".opblock-summary-control").click()
    asking.locator(".try-out__btn").click()
    asking.locator("textarea.body-param__text").wait_for()
    page_checker.check_current(page, "/docs (POST /api/v1/questions tried)")
    asking.locator(".opblock-summary-control").click()
    page.locator(".btn.authorize").click()
    page.locator(".dialog-ux [role=dialog]").wait_for()
    page_checker.check_current(page, "/docs (Authorize dialog)")

    page.goto(f"{page_checker.base_url}/redoc")
    page.locator("#reference").wait_for()
    page.locator("[id='operation/list_questions_api_v1_questions_get'] button", has_text="422").first.click()
    page.locator("input.search-input").fill("deflect")
    page.locator("[role=navigation] [role=menuitem]", has_text="Deflect").first.wait_for()
    page_checker.check_current(page, "/redoc (a response open, searching)")
    page.context.close()
    assert not page_checker.problems, page_checker.report()


def test_pages_reached_by_posting_a_form_pass_axe(page_checker, session, clean_engine, settings):
    """The pages only a form POST shows, reached through the forms themselves in the browser and
    checked like every other page: the forms with
    their errors (sign-up, sign-in, ask, answer), the ask page's preview and its "Do any of these
    solve your problem?" step, the password-reset confirmation and the closing-as-a-duplicate
    confirmation."""
    ids = _community(session, clean_engine, settings)
    solved, open_q = ids["solved"], ids["open"]
    base = page_checker.base_url
    seen: list[str] = []

    def submit(button) -> None:
        with button.page.expect_navigation():
            button.click()

    def reached(page, label: str, who: str, expect_text: str) -> None:
        assert expect_text in page.content(), (label, page.url)
        seen.append(label)
        page_checker.check_current(page, label, who)

    def post(page, who: str, label: str, expect_text: str, url: str | None, fields: dict[str, str], button: str) -> None:
        """Fill the form (on `url`, or the page as it is) and post it with `button`; check the page it shows."""
        if url:
            page.goto(f"{base}{url}")
        for field_label, value in fields.items():
            page.get_by_label(field_label, exact=field_label == "Title").fill(value)  # "Title" is also in other labels
        submit(page.get_by_role("button", name=button, exact=True))
        reached(page, label, who, expect_text)

    page = page_checker.person(None)
    post(page, "signed out", "POST /signup (errors)", "aria-invalid", "/signup",
         {"Username": "x", "Email": "not-an-address", "Password": "short"}, "Create account")
    post(page, "signed out", "POST /signin (wrong password)", "signin", "/signin",
         {"Username": "maya", "Password": "not her password"}, "Sign in")
    post(page, "signed out", "POST /password-reset (sent)", "someone@example.com", "/password-reset",
         {"E-mail address": "someone@example.com"}, "Send me a link")
    page.context.close()

    page = page_checker.person("maya")
    post(page, "maya", "POST /ask (errors)", "aria-invalid", "/ask", {}, "Post your question")
    page.get_by_label("Title", exact=True).fill("Fan noise after the BIOS update")
    page.get_by_label("Describe the problem").fill("Since BIOS 1.08 the fan **never stops**:\n\n- on battery\n- on the Dock Pro\n\n`fanctl --status` says 100%.")
    # The Preview button is for browsers without scripts (with them the preview follows the typing
    # and the button is hidden): pressed as such a browser would.
    with page.expect_navigation():
        page.locator("[data-preview-button]").evaluate("b => b.form.requestSubmit(b)")
    reached(page, "POST /ask (preview)", "maya", "never stops</strong>")
    post(page, "maya", "POST /ask (do any of these solve your problem?)", "No, post my question", None,
         {"Title": "Wi-Fi drops every few minutes on battery power",
          "Describe the problem": "The Wi-Fi connection drops every few minutes when the laptop runs on battery."},
         "Post your question")
    page.goto(f"{base}/questions/{solved.id}/{solved.slug}")
    # The answer box is `required`: the browser would stop an empty answer before the server sees
    # it; the server's own message is the page checked here.
    page.locator("#your-answer form.post-form").evaluate("f => { f.noValidate = true; }")
    submit(page.get_by_role("button", name="Post your answer", exact=True))
    reached(page, "POST /questions/{id}/answers (errors)", "maya", "aria-invalid")
    page.context.close()

    page = page_checker.person("lena_kestrel")
    page.goto(f"{base}/questions/{open_q.id}/{open_q.slug}")
    page.locator("details.close-duplicate summary").click()
    page.get_by_label("Original question (its number or address)").fill(str(solved.id))
    submit(page.get_by_role("button", name="Close as duplicate…", exact=True))
    reached(page, "POST /questions/{id}/close-as-duplicate (confirm)", "lena_kestrel", "Yes, close as a duplicate")
    page.context.close()
    assert len(seen) == 8
    # A form answered with its errors has status 422 (sign-in: 400), which the browser logs; that
    # is the form working, not a problem.
    problems = [p for p in page_checker.problems if not re.search(r"console .*status of (422|400)", p)]
    assert not problems, page_checker.report()
