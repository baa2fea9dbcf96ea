"""A style check for reader-facing prose (commentary, headlines, alt text, notes).

:func:`check` returns one :class:`Problem` per broken rule. The rules are the
ones a researcher quoting the text would trip over:

``leading-numeral``
    an English sentence starts with a digit (or ``¥`` and a digit);
``internal-id``
    snake_case names or data-note / table ids shown to readers;
``doubled-qualifier``
    a qualifier said twice ("约…（推算值）", "约…左右", "about … (derived)");
``half-width-punctuation``
    ``, ; : ( ) ? !`` beside Chinese characters, or a Chinese text not ending in "。";
``list-join``
    "A, B, C" without "and"/"or" in English, "A，B和C" in Chinese (use 、);
``label-case``
    a sentence-case category label capitalised mid-sentence ("led by Artificial intelligence").

Nothing here imports pandas or matplotlib.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

RULES = ("leading-numeral", "internal-id", "doubled-qualifier", "half-width-punctuation", "list-join", "label-case")

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
_ITEM = r"[A-Za-z][\w&'’\-–]*(?: [\w&'’\-–()]+){0,3}"
_BARE_LIST = re.compile(
    r"(?:^|[:;(]\s*|\b(?:as|by|in|of|to|are|is|were|was|with|from|for|include|includes|"
    rf"including)\s)((?:{_ITEM}, ){{2,}}{_ITEM})(?=[.;)]|$)"
)
_ZH_LIST = re.compile(
    rf"(?:^|(?<=[：:（为是括有]))([{_CJK}]{{1,10}})，([{_CJK}]{{1,10}})和([{_CJK}]{{1,10}})(?=[。；，）的等]|$)"
)


@dataclass(frozen=True)
class Problem:
    """One broken rule: which, where, and the offending words."""

    rule: str
    text: str
    where: str = ""

    def __str__(self) -> str:
        where = f"{self.where}: " if self.where else ""
        return f"{where}{self.rule}: {self.text!r}"


def sentences(text: str, lang: str) -> list[str]:
    """Split prose into sentences (on . ! ? in English, 。！？ in Chinese); markdown bullets are sentences."""
    out = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*]|\d+\.)\s+", "", line).strip()
        if not line:
            continue
        if lang == "zh":
            out += [s for s in re.split(r"(?<=[。！？])", line) if s.strip()]
        else:
            # Do not split after "No.", "e.g.", "i.e." or inside a number like 3.5.
            parts = re.split(r"(?<!\bNo\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<=[.!?])\s+(?=[^a-z\s])", line)
            out += [p.strip() for p in parts if p.strip()]
    return out


def _leading_numeral(text: str, lang: str) -> list[Problem]:
    if lang != "en":
        return []
    return [Problem("leading-numeral", s[:40]) for s in sentences(text, lang) if re.match(r"[\"'“‘(]?¥?\d", s)]


def _internal_ids(text: str, ids: Iterable[str]) -> list[Problem]:
    out = [Problem("internal-id", m.group(0)) for m in _SNAKE.finditer(text)]
    for i in ids:
        # Only ids that cannot be ordinary words: with an underscore or at least two hyphens.
        readable = "_" not in i and i.count("-") < 2
        if (
            not readable
            and i in text  # a cheap test first: a package has ~800 ids, more than re's pattern cache holds
            and not any(p.text == i for p in out)
            and re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text)
        ):
            out.append(Problem("internal-id", i))
    return out


#: A number as Chinese prints it before a trailing qualifier: digits, then a myriad prefix.
_ZH_NUMBER = r"\d[\d,.]*[万亿千百]*"
#: A counted unit between a number and 以上 (100家以上, 80%以上).
_ZH_UNIT = r"(?:%|[元人件项个家次名位户份篇所款年月日天台套批场发例]{1,2})"


def _doubled_qualifier(text: str, lang: str) -> list[Problem]:
    out = []
    if lang == "zh":
        # 约/近/超 are qualifiers only right before a number (not in 超级, 最近, 约束), and 余/多/以上 only
        # right after one (a myriad prefix and a counted unit may come between: 超1万余项, 超100家以上).
        for pattern in (
            r"约(?=为?\d)[^，。；]*?(?:推算|估算|左右)",
            r"(?:推算|估算)[^，。；（]*?约(?=为?\d)",
            rf"(?:近|超过|超|突破){_ZH_NUMBER}(?:余|多|{_ZH_UNIT}?以上)(?!\d)",
        ):
            out += [Problem("doubled-qualifier", m.group(0)) for m in re.finditer(pattern, text)]
    else:
        for pattern in (
            r"\b(?:about|approximately|around|nearly)\b(?:[^.;,]|[.,](?=\d))*?\((?:derived|estimated|approx\.?)\)",
            r"\babout (?:approximately|around)\b",
            r"\bmore than over\b|\bover more than\b",
        ):
            out += [Problem("doubled-qualifier", m.group(0)) for m in re.finditer(pattern, text, flags=re.IGNORECASE)]
    return out


def _half_width(text: str, lang: str) -> list[Problem]:
    if lang != "zh":
        return []
    # A quotation of the report (“…”) keeps the report's own punctuation, half-width or not.
    unquoted = re.sub(r"“[^”]*”", "“”", text)
    out = [
        Problem("half-width-punctuation", m.group(0))
        for m in re.finditer(rf"[{_CJK}][,;:?!()]|[,;:?!()][{_CJK}]|[{_CJK}]\.(?!\d)", unquoted)
    ]
    for para in (p.strip() for p in text.split("\n\n")):
        last = para.splitlines()[-1].strip() if para else ""
        if last and re.search(f"[{_CJK}]", last) and last[-1] not in "。！？）”…":
            out.append(Problem("half-width-punctuation", f"…{last[-12:]} (no closing 。)"))
    return out


def _list_join(text: str, lang: str) -> list[Problem]:
    if lang == "zh":
        return [Problem("list-join", m.group(0)) for m in _ZH_LIST.finditer(text)]
    out = []
    for s in sentences(text, lang):
        for m in _BARE_LIST.finditer(s):
            items = m.group(1).split(", ")
            if not re.match(r"(?:and|or|&) ", items[-1]) and " and " not in items[-1] and " or " not in items[-1]:
                out.append(Problem("list-join", m.group(1)))
    return out


def _label_case(text: str, lang: str, labels: Iterable[str]) -> list[Problem]:
    if lang != "en":
        return []
    out = []
    for label in labels:
        if not label or not label[0].isupper() or len(label) < 2:
            continue
        for m in re.finditer(rf"(?<![\w-]){re.escape(label)}(?![\w-])", text):
            before = text[: m.start()].rstrip()
            at_start = not before or before[-1] in ".!?:\n" or before.endswith(("**", "- "))
            if not at_start:
                out.append(Problem("label-case", label))
                break
    return out


def check(
    text: str, lang: str, *, ids: Iterable[str] = (), labels: Iterable[str] = (), where: str = ""
) -> list[Problem]:
    """Every style problem in ``text``.

    Parameters
    ----------
    text : str
        Reader-facing prose (markdown allowed).
    lang : {"en", "zh"}
    ids : iterable of str
        Internal names that must not reach readers (note, table, indicator ids).
    labels : iterable of str
        Category labels printed in capitals in the data that should read in
        sentence case mid-sentence (the ``shdata:case: sentence`` fields).
    where : str
        Prefix for the problems' messages (figure id, field, language).
    """
    found = (
        _leading_numeral(text, lang)
        + _internal_ids(text, ids)
        + _doubled_qualifier(text, lang)
        + _half_width(text, lang)
        + _list_join(text, lang)
        + _label_case(text, lang, labels)
    )
    return [Problem(p.rule, p.text, where) for p in found]


def package_vocabulary(pkg) -> tuple[set[str], set[str]]:
    """Internal ids (notes, tables, indicators) and sentence-case labels of a data package, for :func:`check`."""
    ids: set[str] = set()
    labels: set[str] = set()
    for res in pkg.descriptor["resources"]:
        ids.add(res["name"])
        ids.update(n["id"] for n in res.get("notes", []))
        fields = res["schema"]["fields"]
        sentence_fields = [f["name"] for f in fields if f.get("shdata:case") == "sentence"]
        names = {f["name"] for f in fields}
        if not sentence_fields and "indicator" not in names:
            continue
        from .text import sentence_case

        for row in pkg.parsed(res["name"]).raw:
            if "indicator" in row and "_" in row["indicator"]:
                ids.add(row["indicator"])
            for fname in sentence_fields:
                f = next(f for f in fields if f["name"] == fname)
                label = row.get(fname) or ""
                if label and sentence_case(label, f.get("shdata:proper", ())) != label:
                    labels.add(label)
    return ids, labels
