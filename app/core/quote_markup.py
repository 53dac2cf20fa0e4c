"""Quote blocks in post Markdown: `[quote=answer:123]` … `[/quote]` (docs/quoting.md).

The markup follows Discourse's `[quote="username, post:N, topic:M"] … [/quote]`: a block the
author sees and can edit, naming the post it quotes, whose credit is worked out when the page is
rendered, from the quoted post's *current* state. Here the reference is the post's type and id
only (`answer:123` or `question:45`; the name shown comes from the database, never from the text):

    [quote=answer:123]
    Hold the power button for ten seconds.
    [/quote]

* The opening and closing lines stand alone (spaces around them are ignored, the name is
  case-insensitive); the lines between are Markdown, so a quote can hold lists, code and nested
  quotes. A block with no closing line is not a quote: it stays text. `[quote]` without a
  reference is a plain quotation.
* Inside code spans and code blocks the markup is text, as everything else there.
* Finding the closing lines costs at most a few visits per line of the body (SCAN_LINES_PER_LINE):
  a body made of unclosed openings renders in linear time; what is past the budget stays text.
* Rendered, a quote is a `<blockquote>`. Before sanitising, the renderer puts a marker paragraph
  at its top holding a random per-render nonce (so no body can forge one); after sanitising
  (app/core/markdown.py), each marker becomes the credit line for a resolved reference, built
  here from escaped database values, or disappears. The sanitiser's allow-list is untouched: the
  only HTML added after it is the credit line below.
"""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote as url_quote

from app.core.limits import MAX_ID

POST_TYPES = ("answer", "question")
_OPEN = re.compile(r"^\[quote(?:\s*=\s*\"?\s*(answer|question)\s*[:#]\s*(\d{1,12})\s*\"?\s*)?\]\s*$", re.I)
_CLOSE = re.compile(r"^\[/quote\]\s*$", re.I)
# Any reference in a body's source (a superset of the rendered ones: code is not skipped), for
# loading every quoted post of a page in one statement before rendering.
_ANY_REF = re.compile(r"^[ \t]*\[quote\s*=\s*\"?\s*(answer|question)\s*[:#]\s*(\d{1,12})", re.I | re.M)
_MARKER = "gsquote"
# Looking for a block's closing line visits the lines after its opening. Every opening line of a
# body that never closes would scan to the end (3,700 `[quote]` lines took 3.5 s to render): one
# render may visit at most SCAN_LINES_PER_LINE × the body's lines + SCAN_LINES_SPARE lines in all,
# which a real post never reaches (each line is visited once per quote around it); past it, the
# remaining openings stay text. Linear in the body's size whatever it holds.
SCAN_LINES_PER_LINE = 4
SCAN_LINES_SPARE = 1000


@dataclass(frozen=True)
class QuoteCredit:
    """Who wrote a quoted post and where it is, for the credit line: `author_url` is None for a
    deleted account (shown unlinked); `post_label` is plain text ("an answer to “Title”")."""

    author_name: str
    author_url: str | None
    post_url: str
    post_label: str


def _ref(kind: str | None, number: str | None) -> tuple[str, int] | None:
    if not kind or not number:
        return None
    post_id = int(number)
    return (kind.lower(), post_id) if 1 <= post_id <= MAX_ID else None


def source_refs(text: str | None) -> list[tuple[str, int]]:
    """Every `[quote=type:id]` opening line in Markdown source, in order, without duplicates
    (code is not skipped: a cheap superset for batch loading; `rendered_refs` is exact)."""
    out: list[tuple[str, int]] = []
    for m in _ANY_REF.finditer(text or ""):
        ref = _ref(m.group(1), m.group(2))
        if ref and ref not in out:
            out.append(ref)
    return out


def _quote_block(state, start_line: int, end_line: int, silent: bool) -> bool:
    """markdown-it block rule: `[quote…]` line, Markdown lines, `[/quote]` line."""
    if state.is_code_block(start_line):
        return False
    pos = state.bMarks[start_line] + state.tShift[start_line]
    opening = _OPEN.match(state.src[pos:state.eMarks[start_line]])
    if not opening:
        return False
    env = state.env
    if "quote_scan_budget" not in env:
        env["quote_scan_budget"] = SCAN_LINES_PER_LINE * (state.src.count("\n") + 1) + SCAN_LINES_SPARE
        env["quote_lines_scanned"] = 0
    depth, line, closed = 1, start_line, False
    while True:
        line += 1
        if line >= end_line:
            break
        if env["quote_lines_scanned"] >= env["quote_scan_budget"]:
            return False  # the render's budget is spent: this opening stays text
        env["quote_lines_scanned"] += 1
        begin, end = state.bMarks[line] + state.tShift[line], state.eMarks[line]
        if begin < end and state.sCount[line] < state.blkIndent:
            break  # the enclosing list item or quote ended
        text = state.src[begin:end]
        if _OPEN.match(text):
            depth += 1
        elif _CLOSE.match(text):
            depth -= 1
            if depth == 0:
                closed = True
                break
    if not closed:
        return False
    if silent:
        return True
    old_parent, old_max = state.parentType, state.lineMax
    state.parentType, state.lineMax = "blockquote", line
    token = state.push("gs_quote_open", "blockquote", 1)
    token.markup, token.block, token.map = "[quote]", True, [start_line, line]
    token.meta = {"ref": _ref(opening.group(1), opening.group(2))}
    state.md.block.tokenize(state, start_line + 1, line)
    token = state.push("gs_quote_close", "blockquote", -1)
    token.markup, token.block = "[/quote]", True
    state.parentType, state.lineMax = old_parent, old_max
    state.line = line + 1
    return True


def _render_open(self, tokens, idx, options, env) -> str:
    ref = tokens[idx].meta.get("ref")
    if ref is None:
        return "<blockquote>\n"
    nonce = env.setdefault("quote_nonce", secrets.token_hex(12))
    refs = env.setdefault("quote_refs", [])
    refs.append(ref)
    return f"<blockquote>\n<p>{_MARKER}-{nonce}-{len(refs) - 1}</p>\n"


def _render_close(self, tokens, idx, options, env) -> str:
    return "</blockquote>\n"


def install(md) -> None:
    """Add the quote block to a MarkdownIt instance (before the blockquote rule; it may interrupt
    a paragraph, as a fenced code block may)."""
    md.block.ruler.before("blockquote", "gs_quote", _quote_block,
                          {"alt": ["paragraph", "reference", "blockquote", "list"]})
    md.add_render_rule("gs_quote_open", _render_open)
    md.add_render_rule("gs_quote_close", _render_close)


def rendered_refs(md, text: str | None) -> list[tuple[str, int]]:
    """The references of the quote blocks Markdown `text` really has (not those in code), in
    order, without duplicates."""
    out: list[tuple[str, int]] = []
    for token in md.parse(text or ""):
        ref = token.meta.get("ref") if token.type == "gs_quote_open" else None
        if ref and ref not in out:
            out.append(ref)
    return out


def credit_html(credit: QuoteCredit) -> str:
    """The credit line: "<author> wrote in <post>:", every value escaped here."""
    name = html.escape(credit.author_name)
    who = (f'<a href="{html.escape(credit.author_url)}" class="quote-author">{name}</a>'
           if credit.author_url else f'<span class="quote-author">{name}</span>')
    return (f'<p class="quote-credit">{who} wrote in '
            f'<a href="{html.escape(credit.post_url)}" class="quote-source">{html.escape(credit.post_label)}</a>:</p>')


def apply_credits(safe_html: str, env: dict, credits: dict[tuple[str, int], QuoteCredit] | None) -> str:
    """Replace the markers of sanitised HTML: a credit line where `credits` resolves the
    reference, nothing otherwise (the quote then shows only what the quoting author wrote)."""
    nonce, refs = env.get("quote_nonce"), env.get("quote_refs") or []
    if not nonce:
        return safe_html
    credits = credits or {}

    def replace(m: re.Match) -> str:
        index = int(m.group(1))
        credit = credits.get(refs[index]) if index < len(refs) else None
        return credit_html(credit) + "\n" if credit else ""

    return re.sub(rf"<p>{_MARKER}-{re.escape(nonce)}-(\d+)</p>\n?", replace, safe_html)


def user_url(username: str) -> str:
    """A member's profile address."""
    return "/users/" + url_quote(username, safe="")
