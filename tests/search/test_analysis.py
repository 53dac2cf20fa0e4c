"""The one text-analysis pipeline (app/search/analysis.py), kind by kind, and highlights placed by it
on the original text. No database: pure functions."""

from __future__ import annotations

import re

import pytest

from app.search import analysis
from app.search.embedded import highlight


def terms(text: str) -> set[str]:
    return set(analysis.index_terms(text))


@pytest.mark.parametrize("text, kept, not_kept", [
    ("SDK sample in C# throws", {"c#"}, {"c"}),
    ("crashes in C++ only", {"c++"}, {"c"}),
    ("Notepad++ and F# scripts", {"notepad++", "f#"}, {"notepad", "f"}),
    ("the .NET 8 runtime", {".net", "net", "8"}, set()),
    ("802.11ax only", {"802.11ax", "802", "11ax"}, {"802.11ac"}),
    ("USB-C port", {"usb-c", "usb", "c", "usbc"}, set()),
    ("error 0x80070005 again", {"0x80070005"}, {"0x8007000"}),
    ("Core i7-1165G7 fan", {"i7-1165g7", "i7", "1165g7"}, set()),
    ("since v1.3.4 it fails", {"v1.3.4", "3", "4"}, {"1.3.5"}),
    ("ERR_CONNECTION_REFUSED in Chrome", {"err_connection_refused", "err", "connect", "refus"}, set()),
    ("it won't boot", {"won't", "wont", "won"}, set()),
    ("end of a sentence. Next one", {"sentenc", "next"}, {"sentence.next", ".next"}),
    ("issue#42 and 3+ hours", {"issu", "42", "3"}, {"issue#42", "3+"}),
])
def test_technical_tokens_are_kept_whole_and_split(text, kept, not_kept):
    got = terms(text)
    assert kept <= got, got
    assert not (not_kept & got), got


@pytest.mark.parametrize("a, b", [
    ("Café", "cafe"), ("CAFÉ", "café"), ("Zürich", "zurich"), ("naïve", "NAIVE"), ("Ｃａｆｅ", "cafe"),
    ("Ελληνικά", "ελληνικα"), ("Ёлка", "елка"), ("résumé", "resume"), ("ﬁrmware", "firmware"),
])
def test_case_width_and_accents_fold_for_matching(a, b):
    assert analysis.index_terms(a) == analysis.index_terms(b)


def test_marks_that_carry_meaning_in_other_scripts_are_kept():
    # Thai vowel signs and Devanagari signs are combining marks, but not accents.
    assert analysis.normalize("กิน") != analysis.normalize("กน")
    assert analysis.normalize("हिंदी") != analysis.normalize("हद")


@pytest.mark.parametrize("text, word", [
    ("路由器固件升级失败以后设备无法重新启动", "固件"),
    ("路由器固件升级失败以后设备无法重新启动", "重新"),
    ("プリンターのドライバーがインストールできません", "ドラ"),
    ("เครื่องพิมพ์ไม่ทำงาน", "พิ"),
    ("블루투스 연결이 끊어집니다", "블루"),
])
def test_spaceless_scripts_are_indexed_as_bigrams(text, word):
    assert word in terms(text)
    # One overlapping bigram per position in each run (a run of n characters: n - 1 bigrams).
    assert len(analysis.stream(text)) == sum(len(run) - 1 for run in text.split())


def test_a_longer_word_in_a_spaceless_script_is_its_bigrams_in_a_row():
    clauses = analysis.parse_query("固件升级").clauses
    assert [c.alternatives[0].terms for c in clauses] == [("固件",), ("件升",), ("升级",)]
    assert analysis.stream("路由器固件升级失败")[3:6] == ["固件", "件升", "升级"]


@pytest.mark.parametrize("forms", [
    ("install", "installing", "installed", "installs"),
    ("crash", "crashes", "crashing", "crashed"),
    ("connect", "connection", "connecting", "connected"),
    ("battery", "batteries"),
])
def test_word_forms_share_a_snowball_stem(forms):
    assert len({analysis.key(f) for f in forms}) == 1


def test_technical_tokens_and_numbers_are_not_stemmed():
    assert analysis.index_terms("C#")[0] == "c#"
    assert analysis.key("1603") == "1603"
    assert analysis.key("wi-fi") == "wi-fi"  # key() is for simple words; compounds go through analyze


def clause_forms(q: str) -> list[set[tuple[str, ...]]]:
    return [{a.terms for a in c.alternatives} for c in analysis.parse_query(q).clauses]


@pytest.mark.parametrize("q, expected_alternatives", [
    ("wifi", {("wifi",), ("wi-fi",), ("wi", "fi"), ("wireless",), ("wlan",)}),
    ("wi-fi", {("wifi",), ("wi-fi",), ("wi", "fi"), ("wireless",)}),
    ("Wi Fi", {("wifi",), ("wi", "fi")}),
    ("log in", {("login",), ("log", "in"), ("sign", "in"), ("signin",)}),
    ("sign in", {("login",), ("log", "in")}),
    ("blue screen", {("bsod",), ("blue", "screen")}),
    ("two-factor", {("2fa",), ("mfa",), ("two", "factor")}),
])
def test_synonyms_with_several_words_match_both_ways_as_one_clause(q, expected_alternatives):
    clauses = clause_forms(q)
    assert len(clauses) == 1
    assert expected_alternatives <= clauses[0]


@pytest.mark.parametrize("q, required, texts", [
    ('"Kestrel Glance" widget', [True, False], ["Kestrel Glance", "widget"]),
    ("\u201cblue light\u201d", [True], ["blue light"]),
    ('filter "blue light', [False, True], ["filter", "blue light"]),  # unclosed: to the end
    ('"C#"', [True], ["C#"]),
])
def test_quoted_phrases_are_required_clauses(q, required, texts):
    clauses = analysis.parse_query(q).clauses
    assert [c.required for c in clauses] == required
    assert [c.text for c in clauses] == texts


def test_only_the_last_word_being_typed_is_a_prefix():
    assert [c.last for c in analysis.parse_query("fingerprint rea").clauses] == [False, True]
    assert [c.last for c in analysis.parse_query("fingerprint rea ").clauses] == [False, False]
    assert [c.last for c in analysis.parse_query('"fingerprint reader"').clauses] == [False]


@pytest.mark.parametrize("text, query, marked", [
    ("Café mode schedule not saved", "cafe", ["Café"]),
    ("How do I install the driver", "installing", ["install"]),
    ("路由器固件升级失败", "固件", ["固件"]),
    ("SDK sample in C# throws", "c#", ["C#"]),
    ("Charging over USB-C stops", "usb-c", ["USB-C"]),
    ("Charging over USB-C stops", "usb", ["USB"]),  # only the part that matched
    ("Wi-Fi keeps dropping", "wifi", ["Wi-Fi"]),
    ("A <b>bold</b> claim & more", "bold", ["bold"]),
])
def test_highlights_are_placed_on_the_original_text(text, query, marked):
    wanted = {t for c in analysis.parse_query(query + " ").clauses for a in c.alternatives for t in a.terms}
    out = highlight(text, wanted)
    assert re.findall(r"<mark>(.*?)</mark>", out) == marked
    assert "<b>" not in out  # escaped


def test_snippets_are_cropped_around_the_first_match():
    text = "log line ok. " * 400 + "then E_VSS_4711 snapshot lost"
    out = highlight(text, set(analysis.index_terms("E_VSS_4711")), crop=30)
    assert out.startswith("…") and "<mark>E_VSS_4711</mark>" in out and len(out) < 400


@pytest.mark.parametrize("betas, suffix", [(19, ""), (20, "…"), (60, "…")])
def test_a_cropped_snippet_reads_only_up_to_its_window(betas, suffix):
    # 50 words, the match, then `betas` words: the window is the 30 tokens from 10 before the match.
    text = "alpha " * 50 + "wifi " + "beta " * betas
    out = highlight(text.strip(), {"wifi"}, crop=30)
    assert out.startswith("…") and out.endswith(suffix or "beta")
    assert out.count("alpha") == 10 and out.count("<mark>wifi</mark>") == 1 and out.count("beta") == 19


@pytest.mark.parametrize("crop", [1, 0, -3])
def test_a_crop_below_one_token_shows_one(crop):
    assert highlight("alpha beta gamma", {"beta"}, crop=crop) == "…<mark>beta</mark>…"


def test_a_cropped_snippet_of_a_script_without_spaces():
    text = "路由器" * 40 + "固件升级失败" + "路由器" * 40
    out = highlight(text, {"固件"}, crop=12)
    assert re.findall(r"<mark>(.*?)</mark>", out) == ["固件"]
    assert out.startswith("…") and out.endswith("…") and len(out) < 40


@pytest.mark.parametrize("text", [
    "SDK sample in C# throws on connect (.NET 8, v1.3.4)", "usb-c won't charge; 802.11ax? i7-1165G7!",
    "end. .hidden file, a.b.c and __init__ or ERR_X_Y", "notepad++ c++ 3+ a#b #tag e-mail 'quoted'",
])
def test_the_ascii_fast_path_tokenises_as_the_unicode_one(text):
    assert [m.group() for m in analysis._TOKEN_RE.finditer(text)] == analysis._ASCII_WORD_RE.findall(text)
