"""The quote markup (app/core/quote_markup.py) rendered through the real Markdown pipeline."""

from __future__ import annotations

from app.core.markdown import excerpt, quote_refs, render_markdown
from app.core.quote_markup import QuoteCredit, source_refs

CREDIT = QuoteCredit("Alice Lin", "/users/alice", "/questions/7/dock#answer-12", "an answer to “Dock”")


def test_a_quote_block_is_a_blockquote_with_markdown_inside():
    html = render_markdown("Before\n[quote=answer:12]\nHold **power**.\n\n- a\n- b\n[/quote]\nAfter")
    assert html == ("<p>Before</p>\n<blockquote>\n<p>Hold <strong>power</strong>.</p>\n<ul>\n<li>a</li>\n<li>b</li>\n"
                    "</ul>\n</blockquote>\n<p>After</p>\n")
    assert quote_refs("[QUOTE = \"answer: 12\"]\nx\n[/quote]") == [("answer", 12)]


def test_credit_goes_only_to_resolved_references():
    src = "[quote=answer:12]\none\n[/quote]\n\n[quote=question:3]\ntwo\n[/quote]\n\n[quote]\nthree\n[/quote]"
    html = render_markdown(src, {("answer", 12): CREDIT})
    assert html.count("quote-credit") == 1 and html.count("<blockquote>") == 3
    assert ('<p class="quote-credit"><a href="/users/alice" class="quote-author">Alice Lin</a> wrote in '
            '<a href="/questions/7/dock#answer-12" class="quote-source">an answer to “Dock”</a>:</p>\n<p>one</p>') in html
    unlinked = render_markdown(src, {("answer", 12): QuoteCredit("deleted user", None, "/q", "x")})
    assert '<span class="quote-author">deleted user</span>' in unlinked


def test_not_a_quote_unclosed_in_code_or_out_of_range():
    assert render_markdown("[quote=answer:1]\nno end") == "<p>[quote=answer:1]\nno end</p>\n"
    assert "<blockquote>" not in render_markdown("```\n[quote=answer:1]\nx\n[/quote]\n```")
    assert "<blockquote>" not in render_markdown("    [quote=answer:1]\n    x\n    [/quote]")
    assert quote_refs("```\n[quote=answer:1]\nx\n[/quote]\n```") == []
    assert source_refs("```\n[quote=answer:1]\nx\n[/quote]\n```") == [("answer", 1)]  # the cheap superset
    assert quote_refs("[quote=answer:99999999999]\nx\n[/quote]") == []
    assert quote_refs("[quote=comment:1]\nx\n[/quote]") == []


def test_nested_quotes_and_hostile_text():
    html = render_markdown("[quote=answer:12]\nouter\n[quote=answer:12]\ninner <script>x</script>\n[/quote]\n[/quote]",
                           {("answer", 12): QuoteCredit('<img src=x onerror=alert(1)>', "/users/a\"b",
                                                        "/q/1#a\" onclick=\"x", "“<b>”")})
    assert html.count("quote-credit") == 2 and html.count("<blockquote>") == 2
    assert "<script" not in html and "<img" not in html and '" onclick' not in html and "<b>" not in html
    forged = render_markdown("[quote=answer:12]\ngsquote-00-0\n[/quote]", {("answer", 12): CREDIT})
    assert forged.count("quote-credit") == 1 and "gsquote-00-0" in forged


def test_stored_html_and_excerpts_name_nobody():
    html = render_markdown("[quote=answer:12]\nHold power.\n[/quote]\nThanks")
    assert "gsquote" not in html and "quote-credit" not in html
    assert excerpt(html) == "Hold power. Thanks"


def test_finding_closing_lines_costs_linear_time_whatever_the_body_holds():
    """3,700 unclosed `[quote]` lines used to scan to the end each (quadratic: 3.5 s a render). One
    render now visits at most SCAN_LINES_PER_LINE lines per line of the body (+ a spare), and
    real quotes, even nested and after thousands of lines, still render."""
    from app.core import markdown as markdown_module
    from app.core.quote_markup import SCAN_LINES_PER_LINE, SCAN_LINES_SPARE

    for openings in (2_000, 8_000):
        src = "[quote=answer:5]\nreal\n[/quote]\n\n" + "[quote]\n" * openings
        env: dict = {}
        html = markdown_module._md.render(src, env)
        lines = src.count("\n") + 1
        assert env["quote_lines_scanned"] <= SCAN_LINES_PER_LINE * lines + SCAN_LINES_SPARE
        assert html.startswith("<blockquote>") and html.count("<blockquote>") == 1  # the real one only
        assert "[quote]" in html  # the unclosed openings stay text
    nested = "word\n\n" * 3_000 + "[quote=answer:1]\nouter\n[quote=question:2]\ninner\n[/quote]\n[/quote]"
    env = {}
    html = markdown_module._md.render(nested, env)
    assert html.count("<blockquote>") == 2 and env["quote_lines_scanned"] < 20
