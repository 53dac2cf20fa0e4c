"""One text-analysis pipeline for search: indexing, queries, highlighting and the keyword side of
similar questions all go through here, so a word is matched the same way everywhere.

What a text becomes (`analyze`):

- **Unicode**: each token is NFKC-normalised and case-folded (`Ｃａｆé` → `café`); for matching,
  diacritics of Latin, Greek and Cyrillic letters are folded (NFKD, combining marks dropped:
  `café` → `cafe`), while the original text is kept for display and highlights map back to it.
  Marks of other scripts (Thai vowels, Devanagari signs) carry meaning and are kept.
- **Technical tokens kept whole**: letters followed by `#`, `+` or `++` (`c#`, `f#`, `c++`,
  `notepad++`); a leading `.` before letters (`.net`); identifiers joined by `.`, `-`, `_` or an
  apostrophe (`802.11ax`, `usb-c`, `i7-1165g7`, `1.3.4`, `err_connection_refused`, `won't`) are
  indexed whole *and* split into their parts, and hyphen/apostrophe compounds also catenated
  (`wi-fi` → `wi-fi`, `wi`, `fi`, `wifi`), as Lucene's word_delimiter_graph filter does with
  preserve_original and catenate_words; hex error codes (`0x80070005`) are one token anyway.
- **Scripts written without spaces** (Han, Hiragana, Katakana, Hangul, Thai, Lao, Khmer,
  Myanmar): overlapping character bigrams (`固件升级` → `固件`, `件升`, `升级`), as Lucene's
  CJKAnalyzer and Elasticsearch's `cjk_bigram` do, so any word of two or more characters
  inside a run matches; a lone character is its own token.
- **English stemming** with the Snowball English (Porter2) stemmer of PyStemmer (the Snowball
  project's C implementation) for plain alphabetic words: `installing`, `installed`,
  `installs` → `instal`. Technical tokens and words with digits are not stemmed.

Each token has a position; parts of a compound take consecutive positions and the whole and
catenated forms share the first part's position, so phrases (`"wi-fi router"`) and proximity
are checked on the parts, like Lucene's position graph flattened.

Queries (`parse_query`) become *clauses*: a clause is matched when any of its alternatives is
(an alternative is one term or a phrase of adjacent terms). Synonyms from
`app.search.synonyms` (multi-word ones too) become alternatives in both directions. A quoted
phrase is one required clause.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import Stemmer  # PyStemmer: the Snowball project's C stemmers

from app.search.synonyms import SYNONYM_GROUPS

_STEMMER = Stemmer.Stemmer("english")

# Scripts without spaces between words: bigrams. Han (+ext A, compatibility), Hiragana,
# Katakana (+phonetic ext., half-width), Hangul (syllables, jamo), Thai, Lao, Khmer, Myanmar.
_NOSPACE = ("\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
            "\uff66-\uff9f\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"
            "\u0e00-\u0e7f\u0e80-\u0eff\u1780-\u17ff\u1000-\u109f")
_NOSPACE_RUN = f"[{_NOSPACE}]+"
_LETTERS = f"[^\\W_{_NOSPACE}]"  # a letter or digit of a spaced script
_JOINERS = ".\\-_'\u2019"
# A spaced-script token: optional leading "." before a letter (.net), runs of letters/digits joined
# by single joiners (802.11ax, usb-c, 1.3.4, won't), optional "#" / "+" / "++" after a letter.
_WORD = (f"(?:(?<![\\w.])\\.(?=[^\\W\\d_]))?{_LETTERS}+(?:[{_JOINERS}]{_LETTERS}+)*"
         f"(?:(?<=[^\\W\\d_])(?:\\#|\\+\\+|\\+)(?![\\w#+]))?")
_TOKEN_RE = re.compile(f"(?P<run>{_NOSPACE_RUN})|(?P<word>{_WORD})")
# The same token shape for ASCII text (most posts): twice as fast as the Unicode classes.
_ASCII_WORD_RE = re.compile(r"(?:(?<![\w.])\.(?=[A-Za-z]))?[A-Za-z0-9]+(?:[._\-'][A-Za-z0-9]+)*"
                            r"(?:(?<=[A-Za-z])(?:\#|\+\+|\+)(?![\w#+]))?", re.ASCII)
_CATENATE_JOINERS = frozenset("-'\u2019")
_PIECE_RE = re.compile(f"[^{_JOINERS}#+]+")
# Scripts whose combining marks are accents to fold away (Latin incl. extended, Greek, Cyrillic).
_FOLDABLE_BASE = ((0x0000, 0x024F), (0x0370, 0x052F), (0x1E00, 0x1FFF))
QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
                         "\uff02": '"'})


def _foldable(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _FOLDABLE_BASE)


@lru_cache(maxsize=262_144)
def normalize(raw: str) -> str:
    """NFKC + case folding + diacritic folding (Latin/Greek/Cyrillic only): the matching form."""
    text = unicodedata.normalize("NFKC", raw).casefold()
    if text.isascii():
        return text
    out: list[str] = []
    base_foldable = False
    for ch in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(ch):
            if base_foldable:
                continue
        else:
            base_foldable = _foldable(ch)
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


@lru_cache(maxsize=262_144)
def stem(word: str) -> str:
    """Snowball English stem of a normalised plain alphabetic word; anything else is returned as is."""
    if word.isalpha() and word.isascii():
        return _STEMMER.stemWord(word)
    return word


def key(raw: str) -> str:
    """The index term of one simple word (no joiners): normalised, then stemmed."""
    return stem(normalize(raw))


class Token(NamedTuple):
    """One matchable unit of the original text.

    `start`/`end` are offsets in the original string (for highlights); `pos` is the position in
    the token stream; `terms` are every index term the unit yields (whole, parts, catenation);
    `parts` are the per-position terms (for phrases and proximity), one per position from `pos`.
    """

    start: int
    end: int
    pos: int
    terms: tuple[str, ...]
    parts: tuple[str, ...]
    technical: bool = False  # kept whole: no stemming, typo tolerance or prefix completion
    whole: str = ""  # the normalised whole form of a compound or technical token
    spans: tuple[tuple[int, int], ...] = ()  # offsets of each part, relative to `start`

    @property
    def part_spans(self) -> tuple[tuple[int, int], ...]:
        """Original offsets of each part."""
        return tuple((self.start + a, self.start + b) for a, b in self.spans)


@lru_cache(maxsize=131_072)
def _word(raw: str) -> tuple[tuple[str, ...], tuple[str, ...], bool, str, tuple[tuple[int, int], ...]]:
    """(terms, parts, technical, whole, part offsets relative to raw) for one spaced-script token."""
    norm = normalize(raw)
    suffix = norm.endswith(("#", "+"))
    leading_dot = norm.startswith(".")
    pieces = [(m.start(), m.end()) for m in _PIECE_RE.finditer(raw)]
    joined = len(pieces) > 1
    if not suffix and not leading_dot and not joined:
        term = stem(norm)
        return (term,), (term,), False, norm, ((0, len(raw)),)
    parts = tuple(key(raw[a:b]) for a, b in pieces) if (joined or leading_dot) else (norm,)
    terms = [norm]
    if suffix:  # c#, c++: the symbol is the meaning; no split, no stem
        return (norm,), (norm,), True, norm, ((0, len(raw)),)
    if leading_dot and not joined:  # .net: whole, and the bare word as its part
        return (norm, *parts), parts, True, norm, tuple(pieces)
    for p in parts:
        if p not in terms:
            terms.append(p)
    if any(c in _CATENATE_JOINERS for c in raw):
        catenated = stem("".join(normalize(raw[a:b]) for a, b in pieces))
        if catenated not in terms:
            terms.append(catenated)
    return tuple(terms), parts, True, norm, tuple(pieces)


def _run_text(m: re.Match) -> str:
    run = unicodedata.normalize("NFKC", m.group()).casefold()
    if len(run) != m.end() - m.start():  # NFKC changed the length: keep offsets per character
        run = m.group().casefold()
    return run


def analyze(text: str) -> list[Token]:
    """The tokens of a text, in order, with original offsets and stream positions."""
    return list(iter_tokens(text))


def iter_tokens(text: str) -> Iterator[Token]:
    """`analyze`, one token at a time: a reader that needs only the first tokens stops early."""
    if not text:
        return
    pos = 0
    for m in (_ASCII_WORD_RE if text.isascii() else _TOKEN_RE).finditer(text):
        start = m.start()
        if m.lastgroup == "run":
            run = _run_text(m)
            if len(run) == 1:
                yield Token(start, m.end(), pos, (run,), (run,))
                pos += 1
                continue
            for i in range(len(run) - 1):
                gram = run[i:i + 2]
                yield Token(start + i, start + i + 2, pos, (gram,), (gram,))
                pos += 1
            continue
        terms, parts, technical, whole, spans = _word(m.group())
        yield Token(start, m.end(), pos, terms, parts, technical, whole, spans)
        pos += len(parts)


def index_text(text: str) -> tuple[list[str], list[str]]:
    """(every index term, the per-position terms) of a text: what `analyze` gives, without the
    offsets (the indexing fast path)."""
    terms: list[str] = []
    parts: list[str] = []
    if not text:
        return terms, parts
    if text.isascii():
        for raw in _ASCII_WORD_RE.findall(text):
            t, p, *_ = _word(raw)
            terms += t
            parts += p
        return terms, parts
    for m in _TOKEN_RE.finditer(text):
        if m.lastgroup == "run":
            run = _run_text(m)
            grams = [run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)]
            terms.extend(grams)
            parts.extend(grams)
            continue
        t, p, *_ = _word(m.group())
        terms.extend(t)
        parts.extend(p)
    return terms, parts


def index_terms(text: str) -> list[str]:
    """Every index term of a text, repeated as often as it occurs (for term frequencies)."""
    return index_text(text)[0]


def stream(text: str) -> list[str]:
    """The per-position terms of a text (what phrases and proximity are checked against)."""
    return index_text(text)[1]


# === queries ======================================================================================

@dataclass(frozen=True)
class Alternative:
    """One way to satisfy a clause: a single term, or a phrase of terms at adjacent positions."""

    terms: tuple[str, ...]
    weight: float = 1.0


@dataclass
class Clause:
    """A unit of the query: a word, a synonym span, or a quoted phrase (`required`)."""

    text: str  # what the customer typed for it
    alternatives: list[Alternative]
    required: bool = False
    expandable: bool = True  # typo tolerance and prefix completion may add alternatives
    last: bool = False  # the last word typed (prefix completion)

    def add(self, terms: tuple[str, ...], weight: float) -> None:
        for i, alt in enumerate(self.alternatives):
            if alt.terms == terms:
                if weight > alt.weight:
                    self.alternatives[i] = Alternative(terms, weight)
                return
        self.alternatives.append(Alternative(terms, weight))


@dataclass
class Query:
    clauses: list[Clause] = field(default_factory=list)


SYNONYM_WEIGHT = 0.8
PART_WEIGHT = 0.9  # a compound matched through its parts or catenation rather than whole
BARE_WEIGHT = 0.5  # .net matched by the bare word "net"


def _token_alternatives(tok: Token) -> list[Alternative]:
    if not tok.technical:
        return [Alternative(tok.parts)]
    alts = [Alternative((tok.whole,))]
    if tok.whole.startswith(".") and len(tok.parts) == 1:
        alts.append(Alternative(tok.parts, BARE_WEIGHT))
        return alts
    if len(tok.parts) > 1:
        alts.append(Alternative(tok.parts, PART_WEIGHT))
    for t in tok.terms:
        if t != tok.whole and t not in tok.parts:
            alts.append(Alternative((t,), PART_WEIGHT))
    return alts


@lru_cache(maxsize=1)
def synonym_index() -> tuple[dict[tuple[str, ...], int], list[list[Token]], int]:
    """(stream of an entry -> group number, the groups' entries analysed, longest entry in positions)."""
    lookup: dict[tuple[str, ...], int] = {}
    groups: list[list[Token]] = []
    longest = 1
    for g, group in enumerate(SYNONYM_GROUPS):
        entries = []
        for entry in group:
            toks = analyze(entry)
            entries.append(toks)
            seq = tuple(p for t in toks for p in t.parts)
            lookup.setdefault(seq, g)
            longest = max(longest, len(seq))
            # A one-word compound entry (wi-fi) is also found through its whole/catenated forms.
            if len(toks) == 1:
                for term in toks[0].terms:
                    lookup.setdefault((term,), g)
        groups.append(entries)
    return lookup, groups, longest


def _entry_alternatives(toks: list[Token], weight: float) -> list[Alternative]:
    if len(toks) == 1:
        return [Alternative(a.terms, a.weight * weight) for a in _token_alternatives(toks[0])]
    return [Alternative(tuple(p for t in toks for p in t.parts), weight)]


MAX_PHRASE_FORMS = 16  # written forms of one quoted phrase tried at most (synonyms multiply them)


def _phrase_alternatives(toks: list[Token], lookup: dict, groups: list[list[Token]]) -> list[Alternative]:
    """The forms a quoted phrase may be written in: the words as typed, then each word (or
    compound) replaced by the other single-word entries of its synonym group and by its
    catenation, so that `"wifi drops"` finds "Wi-Fi drops" and `"e-mail address"` "email address".
    At most MAX_PHRASE_FORMS, the typed form first; a replaced form weighs SYNONYM_WEIGHT."""
    options: list[list[tuple[tuple[str, ...], float]]] = []
    for tok in toks:
        forms = [(tok.parts, 1.0)]

        def add(seq: tuple[str, ...], weight: float) -> None:
            if seq and all(seq != known for known, _ in forms):
                forms.append((seq, weight))

        if len(tok.parts) > 1:
            for term in tok.terms:
                if term not in tok.parts and term != tok.whole:
                    add((term,), PART_WEIGHT)
        group = lookup.get(tok.parts)
        if group is None:
            group = next((lookup[(t,)] for t in tok.terms if (t,) in lookup), None)
        if group is not None:
            for entry in groups[group]:
                if len(entry) == 1:  # multi-word entries inside a phrase would change its length
                    add(entry[0].parts, SYNONYM_WEIGHT)
        options.append(forms)
    out: list[Alternative] = []
    for combo in itertools.product(*options):
        out.append(Alternative(tuple(p for seq, _ in combo for p in seq), min(w for _, w in combo)))
        if len(out) >= MAX_PHRASE_FORMS:
            break
    return out


def _segments(q: str) -> list[tuple[str, bool]]:
    """(text, quoted) pieces; an unclosed quote runs to the end, as in Meilisearch."""
    out: list[tuple[str, bool]] = []
    quoted = False
    for i, piece in enumerate(q.translate(QUOTES).split('"')):
        quoted = i % 2 == 1
        if piece.strip():
            out.append((piece, quoted))
    return out


def parse_query(q: str, *, typing: bool = True) -> Query:
    """Clauses of a customer's query.

    Unquoted words are one clause each (a run of a spaceless script: one clause per bigram);
    a span that is a synonym entry ("log in", "wi-fi", "blue screen") becomes one clause whose
    alternatives are every entry of its group; a quoted phrase is one required clause. `typing`:
    the query does not end with a space, so its last word may be a prefix.
    """
    query = Query()
    lookup, groups, longest = synonym_index()
    for text, quoted in _segments(q or ""):
        toks = analyze(text)
        if not toks:
            continue
        if quoted:
            if len(toks) == 1 and toks[0].technical:  # "c#", "usb-c": the token's own forms
                alts = _token_alternatives(toks[0])
            else:
                alts = _phrase_alternatives(toks, lookup, groups)
            query.clauses.append(Clause(text.strip(), alts, required=True, expandable=False))
            continue
        i = 0
        while i < len(toks):
            matched = None
            # Longest synonym entry starting here, by the tokens' per-position parts.
            for n in range(min(longest, len(toks) - i), 0, -1):
                span = toks[i:i + n]
                seq = tuple(p for t in span for p in t.parts)
                group = lookup.get(seq)
                if group is None and n == 1:
                    group = next((lookup[(t,)] for t in span[0].terms if (t,) in lookup), None)
                if group is not None:
                    matched = (n, group)
                    break
            if matched:
                n, group = matched
                span = toks[i:i + n]
                clause = Clause(text[span[0].start:span[-1].end], [], expandable=False)
                for a in (_token_alternatives(span[0]) if n == 1 else
                          [Alternative(tuple(p for t in span for p in t.parts))]):
                    clause.add(a.terms, a.weight)
                for entry in groups[group]:
                    for a in _entry_alternatives(entry, SYNONYM_WEIGHT):
                        clause.add(a.terms, a.weight)
                query.clauses.append(clause)
                i += n
            else:
                tok = toks[i]
                clause = Clause(text[tok.start:tok.end], _token_alternatives(tok),
                                expandable=not tok.technical and tok.parts[0].isalpha())
                query.clauses.append(clause)
                i += 1
    if query.clauses and typing and not (q or "").endswith((" ", '"')):
        last = query.clauses[-1]
        last.last = not last.required
    return query


# For Meilisearch's settings (app.search.meili): the symbols that end a technical token and must
# not separate words there, and the surface forms a synonym entry is written in.
NON_SEPARATORS = ("#", "+")


def surface_forms(entry: str) -> list[str]:
    """An entry as customers write it: itself, and for a hyphenated one also catenated and spaced
    (`wi-fi` -> `wi-fi`, `wifi`, `wi fi`), lower-cased: what this analysis treats as the same."""
    entry = unicodedata.normalize("NFKC", entry).casefold()
    forms = [entry]
    pieces = [p for p in re.split("[" + re.escape("".join(sorted(_CATENATE_JOINERS))) + "]", entry) if p]
    if len(pieces) > 1:
        for form in ("".join(pieces), " ".join(pieces)):
            if form not in forms:
                forms.append(form)
    return forms


__all__ = ["NON_SEPARATORS", "Alternative", "Clause", "Query", "Token", "analyze", "index_terms", "key",
           "normalize", "parse_query", "stem", "stream", "surface_forms"]
