"""Markdown to safe HTML: markdown-it-py (CommonMark) renders, nh3 (ammonia) sanitises."""

from __future__ import annotations

import html as _html
import re

import nh3
from markdown_it import MarkdownIt

from app.core import quote_markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False}).enable(
    ["table", "strikethrough", "linkify"]
)
# Bare URLs become links (linkify-it-py, the detector markdown-it-py uses): only with a scheme we
# allow (http, https, mailto), so that `ASP.NET`, `setup.py` or `www.example` in prose stay text.
# Text in code spans and blocks is never linkified; balanced parentheses stay in the URL
# (https://en.wikipedia.org/wiki/Foo_(bar)), trailing punctuation does not.
_md.linkify.set({"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False})
_md.linkify.add("ftp:", None).add("//", None)

# Table column alignment as classes (styled in groundswell.css), not markdown-it's
# style="text-align:…": the site's Content-Security-Policy (style-src 'self') ignores style
# attributes, and allowing them would need 'unsafe-inline'.
ALIGN_CLASSES = {"left": "align-left", "center": "align-center", "right": "align-right"}
_STYLE_ALIGN = re.compile(r"^\s*text-align\s*:\s*(left|center|right)\s*;?\s*$", re.I)


def _alignment_classes(state) -> None:
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and token.attrs.get("style"):
            found = _STYLE_ALIGN.match(str(token.attrs.pop("style")))
            if found:
                token.attrs["class"] = ALIGN_CLASSES[found.group(1).lower()]


_md.core.ruler.push("alignment_classes", _alignment_classes)
quote_markup.install(_md)  # `[quote=answer:N]` … `[/quote]` blocks (app/core/quote_markup.py)

_ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "img", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
    "kbd", "sup", "sub",
}
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "th": {"class"},
    "td": {"class"},
    "ol": {"start"},
}
_CODE_CLASS = re.compile(r"^language-[\w+#.-]{1,30}$")


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if attr == "class":
        if tag == "code":
            return value if _CODE_CLASS.match(value) else None
        return value if tag in ("th", "td") and value in ALIGN_CLASSES.values() else None
    return value


# Imported HTML (Stack Exchange bodies) aligns cells with style="text-align:…" or align="…".
_CELL_ALIGN = re.compile(
    r"""(<t[hd]\b[^>]*?)\s(?:style\s*=\s*["']\s*text-align\s*:\s*(left|center|right)\s*;?\s*["']"""
    r"""|align\s*=\s*["']?(left|center|right)["']?)""", re.I)


def _cell_alignment_classes(html: str) -> str:
    return _CELL_ALIGN.sub(lambda m: f'{m.group(1)} class="{ALIGN_CLASSES[(m.group(2) or m.group(3)).lower()]}"', html)


def sanitize_html(html: str) -> str:
    return nh3.clean(
        _cell_alignment_classes(html),
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow ugc noopener noreferrer",
        attribute_filter=_attribute_filter,
    )


def render_markdown(text: str, credits: dict | None = None) -> str:
    """Render user Markdown; raw HTML in the source is shown as text, links are limited to safe schemes,
    bare http(s) and mailto URLs become links (with the same `rel` as every other link).

    Quote blocks (`[quote=answer:N]` … `[/quote]`, app/core/quote_markup.py) are blockquotes; those
    whose reference is a key of `credits` ({(post type, id): QuoteCredit}) get the credit line
    ("<author> wrote in <post>:"), added after sanitising from escaped values. Without `credits`
    (what is stored as body_html) no quote names or links anything."""
    env: dict = {}
    return quote_markup.apply_credits(sanitize_html(_md.render(text or "", env)), env, credits)


def quote_refs(text: str) -> list[tuple[str, int]]:
    """The posts Markdown `text` quotes ([(post type, id)], in order, once each; not in code)."""
    return quote_markup.rendered_refs(_md, text)


def render_body(text: str, body_format: str = "markdown") -> str:
    """A post body as safe HTML: Markdown is rendered; imported HTML is only sanitised."""
    return sanitize_html(text or "") if body_format == "html" else render_markdown(text)


def plain_text(markdown_text: str, limit: int = 200) -> str:
    """A short plain-text excerpt of Markdown source."""
    return excerpt(render_markdown(markdown_text), limit)


_WHITESPACE = re.compile(r"\s+")
_TEXT_ONLY = nh3.Cleaner(tags=set())  # built once: nh3.clean() builds its cleaner on every call (~10 µs)
_BLOCK_BOUNDARY = re.compile(
    r"<(?:/?(?:p|div|li|ul|ol|h[1-6]|blockquote|pre|table|thead|tbody|tr|td|th|dl|dt|dd|figure|figcaption)\b[^>]*"
    r"|br\s*/?|hr\s*/?)>", re.I)


_EXCERPT_WINDOW = 2  # HTML characters first read per character of excerpt (×4 each time it is not enough)
_EXCERPT_MARGIN = 40  # text characters past the excerpt that a cut tag or entity cannot reach into


def excerpt(html: str, limit: int = 200) -> str:
    """A short plain-text excerpt of rendered (safe) HTML, for lists, meta descriptions and JSON-LD:
    at most `limit` characters, ending in "…" when the text was longer.

    Block boundaries (paragraphs, list items, headings, table cells, line breaks) become spaces
    before the tags are dropped, so "<li>power brick</li><li>Connected…" reads "power brick Connected…".
    A body is read only as far as its first `limit` × 2 characters of HTML when those hold enough
    text (else 4 times as far, and so on): the cut can only spoil the last few characters (half a
    tag or entity), which lie past the excerpt. Markup-heavy HTML costs at most a third more than
    reading it whole. A list page of 30 questions with ~150-word bodies spent 2 of its 26 CPU ms
    here, reading whole bodies (issue 11; docs/performance.md). The result is the same as reading
    the whole body (tests/services/test_excerpt.py)."""
    html = html or ""
    window = limit * _EXCERPT_WINDOW
    while window < len(html):
        text = _plain_text(html[:window])
        if len(text) >= limit + _EXCERPT_MARGIN:
            return text[: limit - 1].rstrip() + "…"
        window *= 4
    text = _plain_text(html)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _plain_text(html: str) -> str:
    """Safe HTML as one line of text: block boundaries as spaces, tags dropped, whitespace
    collapsed, entities decoded."""
    text = _BLOCK_BOUNDARY.sub(" ", html)
    text = _TEXT_ONLY.clean(text)
    return _html.unescape(_WHITESPACE.sub(" ", text).strip())
