"""Pure functions: tags, Markdown, cursors, permissions, ranking (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from app.accounts import permissions
from app.answers.ranking import Evidence, order
from app.core.errors import InvalidInput
from app.core.markdown import plain_text, render_markdown, sanitize_html
from app.core.pagination import clamp_limit, decode_cursor, encode_cursor
from app.questions.tags import normalise_tag, normalise_tags, slugify


# --- tags -------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, tag", [
    ("WiFi", "wifi"),
    ("  Dock Pro  ", "dock-pro"),
    ("dock   pro", "dock-pro"),
    ("dock_pro", "dock-pro"),
    ("C#", "c#"),
    ("c++", "c++"),
    (".net", ".net"),
    ("Café", "café"),
])
def test_normalise_tag(raw, tag):
    assert normalise_tag(raw) == tag


def test_normalise_tags_dedupes_and_keeps_order():
    assert normalise_tags(["Wi Fi", "wi-fi", "Battery", "WI_FI", "", "  "]) == ["wi-fi", "battery"]
    assert normalise_tags("dock, Charging  usb-c") == ["dock", "charging", "usb-c"]
    assert normalise_tags(None) == []
    assert normalise_tags(["a,b", "c"]) == ["a", "b", "c"]


def test_at_most_five_tags_after_deduplication():
    assert normalise_tags(["a", "A", "b", "c", "d", "e", "E "]) == ["a", "b", "c", "d", "e"]
    with pytest.raises(InvalidInput) as exc:
        normalise_tags(["a", "b", "c", "d", "e", "f"])
    assert exc.value.errors[0]["loc"] == ["body", "tags"]


def test_tag_too_long():
    assert normalise_tags(["x" * 35]) == ["x" * 35]
    with pytest.raises(InvalidInput):
        normalise_tags(["x" * 36])


def test_slugify():
    assert slugify("Wi-Fi drops: every 5 minutes!") == "wi-fi-drops-every-5-minutes"
    assert slugify("???") == "question"
    assert len(slugify("word " * 40)) <= 80


# --- markdown ---------------------------------------------------------------------------------

@pytest.mark.parametrize("html", [
    "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href=" JAVASCRIPT:alert(1)">x</a>',
    '<img src="x" onerror="alert(1)">',
    '<p onclick="alert(1)">x</p>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<iframe src="https://evil.example"></iframe>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
])
def test_sanitize_html_removes_dangerous_markup(html):
    out = sanitize_html(html).lower()
    assert "<script" not in out and "<iframe" not in out
    assert "onerror" not in out and "onclick" not in out
    assert "javascript:" not in out and "data:" not in out
    assert "style=" not in out


def test_sanitize_keeps_safe_markup():
    out = sanitize_html('<p><a href="https://example.com">ok</a> <code class="language-py">x</code>'
                        ' <code class="evil">y</code></p>')
    assert 'href="https://example.com"' in out and 'rel="nofollow ugc noopener noreferrer"' in out
    assert 'class="language-py"' in out and "evil" not in out


def test_render_markdown():
    html = render_markdown("# Title\n\n* a\n* b\n\n```python\nprint(1)\n```\n\n| h |\n|---|\n| c |\n\n~~old~~")
    assert "<h1>Title</h1>" in html and "<li>a</li>" in html
    assert '<code class="language-python">print(1)\n</code>' in html
    assert "<table>" in html and ("<del>old</del>" in html or "<s>old</s>" in html)
    assert render_markdown("") == ""
    assert "&lt;script&gt;" in render_markdown("<script>alert(1)</script>")


def test_plain_text_excerpt():
    assert plain_text("**Bold** and `code` & <b>tags</b>") == "Bold and code & <b>tags</b>"
    long = plain_text("word " * 100, limit=50)
    assert len(long) <= 50 and long.endswith("…")


# --- cursors ----------------------------------------------------------------------------------

def test_cursor_round_trip_and_errors():
    c = encode_cursor(["2024-05-01T10:00:00+00:00", 42])
    assert decode_cursor(c, 2) == ["2024-05-01T10:00:00+00:00", 42]
    assert "=" not in c
    assert decode_cursor(None, 2) is None and decode_cursor("", 2) is None
    for bad in ("***", encode_cursor([1, 2, 3]), encode_cursor({"a": 1})):
        with pytest.raises(InvalidInput) as exc:
            decode_cursor(bad, 2)
        assert exc.value.errors[0]["loc"] == ["query", "cursor"]


def test_clamp_limit():
    assert clamp_limit(None) == 20 and clamp_limit(1) == 1 and clamp_limit(100) == 100
    for bad in (0, 101, -5):
        with pytest.raises(InvalidInput):
            clamp_limit(bad)


# --- permissions ------------------------------------------------------------------------------

def _user(uid, role="customer", active=True):
    from app.accounts.models import User

    return User(id=uid, username=f"u{uid}", email=f"u{uid}@example.com", role=role, is_active=active)


def test_can_accept_policy():
    asker, staff, admin, mod, other = _user(1), _user(2, "staff"), _user(3, "admin"), _user(4, "moderator"), _user(5)
    young, old = timedelta(days=13, hours=23), timedelta(days=14)
    assert permissions.can_accept(asker, 1, young)
    assert not permissions.can_accept(staff, 1, young)
    assert permissions.can_accept(staff, 1, old) and permissions.can_accept(admin, 1, old)
    assert not permissions.can_accept(mod, 1, old)  # moderators are not staff
    assert not permissions.can_accept(other, 1, timedelta(days=400))
    assert not permissions.can_accept(None, 1, old)
    assert not permissions.can_accept(_user(1, active=False), 1, young)


def test_edit_vote_product_permissions():
    author, mod, other = _user(1), _user(2, "moderator"), _user(3)
    assert permissions.can_edit_post(author, 1) and permissions.can_edit_post(mod, 1)
    assert not permissions.can_edit_post(other, 1) and not permissions.can_edit_post(None, 1)
    assert permissions.can_vote(other, 1) and not permissions.can_vote(author, 1)
    assert permissions.can_manage_products(_user(4, "staff")) and permissions.can_manage_products(_user(5, "admin"))
    assert not permissions.can_manage_products(mod) and not permissions.can_manage_products(other)


# --- ranking ----------------------------------------------------------------------------------

def test_answer_order_by_evidence_and_by_date():
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    a = lambda i, minutes: SimpleNamespace(id=i, created_at=t0 + timedelta(minutes=minutes))  # noqa: E731
    answers = [a(1, 0), a(2, 1), a(3, 2), a(4, 3), a(5, 0.5)]
    ups = lambda n: Evidence(upvoter_reputations=[10] * n)  # noqa: E731
    evidence = {1: Evidence(), 2: ups(5), 3: ups(5), 4: Evidence(downvoter_reputations=[10] * 3), 5: ups(5)}
    assert [x.id for x in order(answers, evidence)] == [5, 2, 3, 1, 4]
    evidence[4] = Evidence(downvoter_reputations=[10] * 3, accepted=True)
    assert [x.id for x in order(answers, evidence)][:3] == [5, 2, 3]  # acceptance is strong, not a pin
    assert [x.id for x in order(answers, evidence, "newest")] == [4, 3, 2, 5, 1]
    assert [x.id for x in order(answers, evidence, "oldest")] == [1, 5, 2, 3, 4]


def test_table_alignment_is_rendered_as_classes_the_csp_allows():
    """Issue 10 item 11: no style attributes (the CSP's style-src 'self' ignores them)."""
    from app.core.markdown import render_body, render_markdown

    html = render_markdown("| a | b | c | d |\n|:--|:-:|--:|---|\n| 1 | 2 | 3 | 4 |")
    assert "style=" not in html
    assert html.count('class="align-left"') == 2 and html.count('class="align-center"') == 2
    assert html.count('class="align-right"') == 2 and "<td>4</td>" in html
    imported = render_body('<table><tr><th align="right">W</th><td style="text-align: center;">x</td>'
                           '<td style="color:red">y</td><td class="align-right evil">z</td>'
                           '<td class="align-left">ok</td></tr></table>', "html")
    assert 'class="align-right">W' in imported and 'class="align-center">x' in imported
    assert "<td>y</td>" in imported and "<td>z</td>" in imported and 'class="align-left">ok' in imported
    assert "style=" not in imported and "evil" not in imported
