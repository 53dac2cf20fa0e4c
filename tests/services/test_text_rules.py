"""Issue 12's rules as tables (no database): tags in every script, tag URLs, visible characters in
minimum lengths, bare URLs as links."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from pydantic import ValidationError

from app.core.errors import InvalidInput
from app.core.markdown import render_markdown
from app.core.text import visible_length
from app.escalation.schemas import EscalateIn
from app.questions.schemas import AnswerCreate, CommentCreate, QuestionCreate, QuestionUpdate
from app.questions.tags import normalise_tags, tag_path

# --- tags ---------------------------------------------------------------------------------------

KEPT = [
    # (typed, stored): letters of every script survive; NFKC + casefold only
    ("größe", "grösse"),            # casefold: ß is ss (Unicode's caseless form)
    ("GRÖSSE", "grösse"),
    ("þýðingar", "þýðingar"),
    ("Þýðingar", "þýðingar"),
    ("роутер", "роутер"),
    ("Роутер", "роутер"),
    ("路由器", "路由器"),
    ("ルーター", "ルーター"),
    ("ﾙｰﾀｰ", "ルーター"),             # half-width katakana: NFKC
    ("라우터", "라우터"),
    ("नमस्ते", "नमस्ते"),                 # combining marks (virama, vowel signs) kept
    ("ไวไฟ", "ไวไฟ"),
    ("واي-فاي", "واي-فاي"),
    ("می\u200cخواهم", "می\u200cخواهم"),  # Persian needs the zero-width non-joiner between letters
    ("e\u0301cran", "écran"),        # decomposed é: NFKC composes it
    # Stack Exchange's own characters, where they belong
    (".net", ".net"),
    (".NET", ".net"),
    ("c#", "c#"),
    ("C#", "c#"),
    ("ｃ＃", "c#"),                   # full-width: NFKC
    ("f#", "f#"),
    ("c++", "c++"),
    ("c++11", "c++11"),
    ("usb-c", "usb-c"),
    ("USB C", "usb-c"),              # inner space becomes a hyphen, as on Stack Exchange
    ("wi\u2010fi", "wi-fi"),          # any dash is the hyphen
    ("asp.net-core", "asp.net-core"),
    ("node.js", "node.js"),
    ("c#-4.0", "c#-4.0"),
    ("vb-.net", "vb-.net"),
    ("3d", "3d"),
    ("x" * 35, "x" * 35),
]

REFUSED = [
    # (typed, words the message must contain)
    ("!!!", "U+0021"),
    ("c/c++", "U+002F"),
    ("wi fi?", "U+003F"),
    ("\u200b\u200b\u200b", "U+200B"),           # a tag of zero-width spaces
    ("wi\u200bfi", "U+200B"),
    ("😀", "U+1F600"),
    ("--weird--", "start with a letter or digit"),
    ("-wifi", "start with a letter or digit"),
    ("wifi-", "between two parts"),
    ("a..b", "between two parts"),
    ("net.", "between two parts"),
    (".", "start with a letter or digit"),
    ("#c", "start with a letter or digit"),
    ("+1", "start with a letter or digit"),
    ("\u0301a", "start with a letter or digit"),  # a combining mark cannot start a tag
    ("x" * 36, "longer than 35"),
    ("\u200cab", "joiner"),
]


@pytest.mark.parametrize("typed, stored", KEPT)
def test_tags_in_every_script_are_kept(typed, stored):
    assert normalise_tags([typed]) == [stored]


@pytest.mark.parametrize("typed, words", REFUSED)
def test_a_tag_that_cannot_be_kept_is_refused_by_name(typed, words):
    with pytest.raises(InvalidInput) as exc:
        normalise_tags(["wifi", typed])
    error = exc.value.errors[0]
    assert error["loc"] == ["body", "tags"]
    assert typed.strip()[:60] in error["msg"], error["msg"]
    assert words in error["msg"], error["msg"]


def test_distinct_tags_stay_distinct():
    # the old rule made `.net` into `net`, `größe` into `groe`, and dropped `路由器`
    assert normalise_tags([".net", "net", "größe", "groe", "路由器"]) == [".net", "net", "grösse", "groe", "路由器"]
    assert normalise_tags(["Größe", "GRÖSSE", "grösse"]) == ["grösse"]


@pytest.mark.parametrize("typed, tags", [
    ("路由器，重启、网络", ["路由器", "重启", "网络"]),
    (["路由器，重启", "Dock Pro"], ["路由器", "重启", "dock-pro"]),
    ("واي-فاي، راوتر", ["واي-فاي", "راوتر"]),
    ("c#\u3000.net", ["c#", ".net"]),
])
def test_commas_and_spaces_of_other_scripts_separate_tags(typed, tags):
    assert normalise_tags(typed) == tags


@pytest.mark.parametrize("name, path", [
    ("c#", "/tags/c%23"),
    ("c++", "/tags/c%2B%2B"),
    (".net", "/tags/.net"),
    ("usb-c", "/tags/usb-c"),
    ("роутер", "/tags/%D1%80%D0%BE%D1%83%D1%82%D0%B5%D1%80"),
    ("路由器", "/tags/%E8%B7%AF%E7%94%B1%E5%99%A8"),
])
def test_tag_urls_are_percent_encoded(name, path):
    assert tag_path(name) == path
    assert re.fullmatch(r"/tags/[A-Za-z0-9%._~-]+", path)
    assert unquote(path.removeprefix("/tags/")) == name


# --- visible characters -------------------------------------------------------------------------

@pytest.mark.parametrize("text, visible", [
    ("Wi-Fi drops", 11),                      # the space between two words counts once
    ("  Wi-Fi \t\n  drops\u3000 ", 11),       # runs of whitespace, and at the ends: not counted
    ("Wi-Fi \u200b drops", 11),
    ("a" + " " * 30 + "b", 3),
    ("\u200b" * 20, 0),                       # zero-width space (Cf)
    ("\u200c\u200d\u2060\ufeff\u00ad", 0),    # joiners, word joiner, BOM, soft hyphen (Cf)
    ("\u202e\u2066\u2069", 0),                # direction controls (Cf)
    ("\u3000\u00a0\u2003 \t\n", 0),           # ideographic, no-break, em space, ASCII whitespace
    ("\u3164\u115f\uffa0\u2800", 0),          # Hangul fillers, Braille blank
    ("a\ufe0f\U000e0100", 1),                 # variation selectors
    ("\U000e0041\U000e0042", 0),              # tag characters (Cf)
    ("路由器", 3),
    ("नमस्ते", 6),                             # combining marks show on their letter: counted
    ("e\u0301te\u0301", 5),                    # decomposed accents on their letters: counted
    ("\u0301" * 20, 0),                       # combining marks with nothing to sit on
    ("\u20dd\u0489" * 10, 0),                 # enclosing marks (Me) alone
    (" \u0301 \u0301 \u0308 ", 0),           # marks after spaces sit on nothing
    ("\u200b\u0301ok", 2),                    # nor after an invisible character
])
def test_visible_length(text, visible):
    assert visible_length(text) == visible


INVISIBLE_TITLES = [
    "\u200b" * 20,
    "\u2060" * 30,
    "\u3164" * 20,
    "\u00a0\u200b" * 10,
    "\ufeff" * 15 + "\u200d" * 15,
    "\u0301" * 20,
    " \u0308" * 15,
]


@pytest.mark.parametrize("title", INVISIBLE_TITLES)
def test_an_invisible_title_is_refused_with_a_clear_message(title):
    with pytest.raises(ValidationError) as exc:
        QuestionCreate(title=title, body="The dock charges at 60 W only, never more.")
    [error] = exc.value.errors()
    assert error["loc"] == ("title",)
    assert "no visible characters" in error["msg"]


@pytest.mark.parametrize("make, field, short", [
    (lambda v: QuestionCreate(title=v, body="The dock charges at 60 W only."), "title", "Dock" + "\u200b" * 20),
    (lambda v: QuestionCreate(title="Dock charges at 60 W only", body=v), "body", "Why?" + "\u200b" * 30),
    (lambda v: QuestionUpdate(title=v), "title", "Dock \u2060\u2060\u2060\u2060 " * 3),
    (lambda v: QuestionUpdate(title=v), "title", "Wi-Fi" + " " * 10 + "drops"),  # padded with spaces: 11
    (lambda v: QuestionUpdate(body=v), "body", "\u00ad".join("short text here")),
    (lambda v: AnswerCreate(body=v), "body", "Update it." + "\u200b" * 20),
    (lambda v: CommentCreate(body=v), "body", "a\u200b\u200b"),
    (lambda v: EscalateIn(reason=v), "reason", "\u200b" * 10),
])
def test_minimum_lengths_count_visible_characters(make, field, short):
    assert len(short.strip()) >= 2  # long enough by code points: only the visible count refuses it
    with pytest.raises(ValidationError) as exc:
        make(short)
    assert [e["loc"] for e in exc.value.errors()] == [(field,)]
    assert "visible characters" in exc.value.errors()[0]["msg"]


def test_text_with_enough_visible_characters_passes():
    q = QuestionCreate(title="路由器重启后无法连接网络怎么办呢", body="更新固件之后，路由器每隔五分钟就会断线一次，怎么办？")
    assert q.title.startswith("路由器")
    assert CommentCreate(body="ok").body == "ok"


# --- bare URLs become links -------------------------------------------------------------------

REL = 'rel="nofollow ugc noopener noreferrer"'


@pytest.mark.parametrize("source, href, after", [
    ("See https://example.com/docs for more", "https://example.com/docs", " for more"),
    ("Read https://en.wikipedia.org/wiki/Foo_(bar) first", "https://en.wikipedia.org/wiki/Foo_(bar)", " first"),
    ("(see https://example.com/a_(b)_c).", "https://example.com/a_(b)_c", ")."),
    ("Done: https://example.com/x.", "https://example.com/x", "."),
    ("Is it https://example.com/faq?", "https://example.com/faq", "?"),
    ("Try http://192.168.1.1/admin, then reboot", "http://192.168.1.1/admin", ", then reboot"),
    ("Mail mailto:help@example.com today", "mailto:help@example.com", " today"),
    ("Query https://example.com/s?q=a&b=c ok", "https://example.com/s?q=a&amp;b=c", " ok"),
])
def test_bare_urls_become_links(source, href, after):
    html = render_markdown(source)
    match = re.search(r'<a href="([^"]*)" ([^>]*)>([^<]*)</a>([^<]*)', html)
    assert match, html
    assert match.group(1) == href
    assert match.group(2) == REL
    assert match.group(4) == after


@pytest.mark.parametrize("source", [
    "`https://example.com/in-code`",
    "```\ncurl https://example.com/in-block\n```",
    "    wget https://example.com/indented",
    "ASP.NET and node.js and setup.py",
    "www.example.com without a scheme",
    "javascript:alert(1)",
    "ftp://files.example.com/driver.zip",
    "user@example.com",
])
def test_no_link_where_none_belongs(source):
    assert "<a " not in render_markdown(source)


def test_linkified_urls_are_sanitised_like_other_links():
    html = render_markdown('https://example.com/"onmouseover="alert(1) and https://example.com/<script>x</script>')
    tags = re.findall(r"<a [^>]*>", html)
    assert len(tags) == 2 and not any(re.search(r"\son\w+=", t) for t in tags), html  # no event attribute
    assert 'href="https://example.com/%22onmouseover=%22alert(1)"' in tags[0]  # the quote stays in the URL, encoded
    assert "<script" not in html
    assert html.count(REL) == 2
