"""excerpt() reads only the start of a long body: its result must be the whole body's."""

import html
import random
import re

import nh3
import pytest

from app.core.markdown import _BLOCK_BOUNDARY, excerpt, render_markdown


def whole_body_excerpt(body_html: str, limit: int) -> str:
    """The reference: every character of the body read (excerpt's behaviour before issue 11)."""
    text = _BLOCK_BOUNDARY.sub(" ", body_html)
    text = html.unescape(re.sub(r"\s+", " ", nh3.clean(text, tags=set())).strip())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


WORDS = ["router", "firmware", "reset", "Wi-Fi", "5 GHz", "R&D", "<none>", "naïve", "ﬁle", "日本語", "🙂",
         "a&b", "x<y", "\"quoted\"", "it's", "C:\\Users", "1 < 2 > 0"]


def body(rng: random.Random) -> str:
    """Markdown of the shapes a support question has: paragraphs, lists, code, links, entities."""
    parts = []
    for _ in range(rng.randint(1, 12)):
        kind = rng.random()
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 40)))
        if kind < 0.3:
            parts.append(words)
        elif kind < 0.5:
            parts.append("\n".join(f"- {rng.choice(WORDS)} [{w}](https://example.com/{'p' * rng.randint(1, 300)}?a=1&b=2)"
                                   for w in words.split()[:6]))
        elif kind < 0.7:
            parts.append("```\n" + words.replace(" ", "\n    ") + "\n```")
        elif kind < 0.85:
            parts.append(f"## {words[:40]}\n\n> {words}")
        else:
            parts.append("| a | b |\n|---|---|\n" + "\n".join(f"| {w} | `{w}` |" for w in words.split()[:8]))
    return "\n\n".join(parts)


@pytest.mark.parametrize("seed", range(40))
def test_an_excerpt_of_the_start_equals_the_whole_bodys(seed):
    rng = random.Random(seed)
    body_html = render_markdown(body(rng))
    for limit in (1, 2, 10, 37, 80, 180, 200, 333):
        assert excerpt(body_html, limit) == whole_body_excerpt(body_html, limit), (seed, limit)


def test_cuts_inside_tags_and_entities():
    # The window's end lands on every character of markup-heavy HTML in turn: inside a tag, an
    # attribute, an entity, between a block's tags.
    unit = '<p>a&amp;b &lt;c&gt; &#x1F642; <a href="https://example.com/x?y=1&amp;z=2" rel="nofollow">link</a></p><ul><li>one</li><li>two</li></ul>'
    for pad in range(len(unit)):
        body_html = "<p>" + "x" * pad + "</p>" + unit * 60
        for limit in (20, 60):
            assert excerpt(body_html, limit) == whole_body_excerpt(body_html, limit), (pad, limit)


def test_mostly_markup_is_read_whole():
    # Text too sparse for the window (long link targets): the whole body is read.
    body_html = "".join(f'<p><a href="https://example.com/{"p" * 2000}">w{i}</a></p>' for i in range(50))
    assert excerpt(body_html, 100) == whole_body_excerpt(body_html, 100)
    assert excerpt(body_html, 100).startswith("w0 w1 w2")


def test_empty_and_short():
    assert excerpt("", 10) == "" and excerpt(None, 10) == ""
    assert excerpt("<p>short</p>", 200) == "short"


def test_text_barely_longer_than_the_excerpt_within_the_window():
    # Markup so dense that the window holds about as much text as the excerpt: a tag or entity
    # cut at the window's end then sits right after the excerpt's last character. (Without the
    # margin, 12 of these 4,000 cases differ.)
    pieces = ["<em>x</em>", "<strong>y</strong>", "&#x1F642;", "&#128578;", "&amp;", "<code>c</code>"]
    rng = random.Random(1)
    for _ in range(4000):
        weights = [rng.random() for _ in pieces]
        body_html = "<p>" + "".join(rng.choices(pieces, weights=weights, k=rng.randint(50, 600))) + "</p>"
        limit = rng.randint(5, 60)
        assert excerpt(body_html, limit) == whole_body_excerpt(body_html, limit), (body_html, limit)
