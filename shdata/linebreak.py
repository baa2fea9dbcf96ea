"""Line breaking for figure labels: Chinese at phrase boundaries, English at spaces.

Chinese has no spaces, so a wrapper has to know where a line *may* end. This
module takes the candidate boundaries from `BudouX <https://github.com/google/budoux>`_
(Google's phrase segmenter used by Chrome, pure Python, with a Simplified
Chinese model) and then refuses the ones that break a rule of Chinese
typesetting:

- 行首禁则 / 行尾禁则: no line starts with closing punctuation (``）」』”’，。、；：！？》``...)
  and none ends with opening punctuation (``（「『“‘《``...);
- never inside a number with its unit (``1—9月``, ``2023年``, ``4850亿元``, ``21.1%``);
- never inside a Latin word or a number;
- never next to a one-character BudouX chunk (the model splits rare words such
  as 载体 into 载|体), except after a function character such as 等, 和, 与 that
  ends a phrase.

Half-width brackets in Chinese text become full-width (``(2023年)`` -> ``（2023年）``).

English is wrapped as English even when it quotes Chinese (a note citing
「24.14件」, the source line citing 《2023上海科技进步报告》): lines end at
spaces, a number stays with its unit (``¥52.81 bn``), and a word is never cut.
Only a Chinese run too long for a line of its own is broken, at the phrase
boundaries above that fall between two Chinese characters; the line-breaking
rules are judged the same way by :func:`bad_breaks` with ``lang="en"``.

The same :func:`allowed_breaks` is used by the figure linter, so a label the
wrapper produced always passes the linter's line-breaking rule.

Examples
--------
>>> wrap("上海技术合同成交额 (2023年1—9月)", 20, "zh")
'上海技术合同成交额\\n（2023年1—9月）'
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .errors import ParameterError

#: Characters a line must not start with (行首禁则).
NO_LINE_START = frozenset("）)］]｝}〕〉》」』】〙〗〟’”｠»、。，,．.：:；;！!？?…‥・·～〜ー々〻ゝゞ％%‰℃")
#: Characters a line must not end with (行尾禁则).
NO_LINE_END = frozenset("（(［[｛{〔〈《「『【〘〖〝‘“｟«¥$￥")
#: Half-width -> full-width brackets and punctuation used in Chinese text.
FULL_WIDTH = {"(": "（", ")": "）", "[": "［", "]": "］", "{": "｛", "}": "｝"}
#: One-character phrases after which a line may end (they close a phrase).
BREAK_AFTER_SINGLE = frozenset("等的和与及或至对在为从向将把被并而了")
#: A number with its unit, range and scale: one unbreakable unit.
_NUMBER_UNIT = re.compile(
    r"[¥$￥]?\d[\d,.]*(?:\s?[—–\-~～至]\s?\d[\d,.]*)?"
    r"(?:\s?(?:%|‰|[万亿千百]*[元人件项个家次名位户份篇所款年月日天台套批场发例]+|[万亿]+))?"
)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def has_cjk(text: str) -> bool:
    """Whether ``text`` contains a Chinese character."""
    return bool(_CJK.search(text))


@lru_cache(maxsize=1)
def _parser():
    import budoux

    return budoux.load_default_simplified_chinese_parser()


def full_width_brackets(text: str) -> str:
    """Chinese text with full-width brackets and no spaces just inside or outside them.

    Text without Chinese characters is returned unchanged.

    >>> full_width_brackets("成交额 (2023年1—9月 )")
    '成交额（2023年1—9月）'
    """
    if not has_cjk(text):
        return text
    out = "".join(FULL_WIDTH.get(ch, ch) for ch in text)
    return re.sub(r"\s*([（）［］｛｝])\s*", r"\1", out)


def _columns(text: str) -> int:
    """Display width in half-width columns (a Chinese character counts 2)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@lru_cache(maxsize=4096)
def allowed_breaks(text: str) -> frozenset[int]:
    """Positions ``i`` (0 < i < len) at which a line may end before ``text[i]``.

    Chinese text: BudouX phrase boundaries minus those that break a line-breaking
    rule (see the module docstring). Spaces are always allowed and are dropped at
    the break by :func:`wrap`.

    Parameters
    ----------
    text : str
        One label, without line breaks.

    Returns
    -------
    frozenset of int
    """
    protected: set[int] = set()
    candidates: set[int] = set()
    for m in _NUMBER_UNIT.finditer(text):
        protected.update(range(m.start() + 1, m.end()))
        # A number with its unit is a phrase of its own: a line may end before or after it.
        candidates.update((m.start(), m.end()))
    if has_cjk(text):
        chunks = _parser().parse(text)
        pos = 0
        bounds = []
        for c in chunks:
            pos += len(c)
            bounds.append(pos)
        for k, b in enumerate(bounds[:-1]):
            left, right = chunks[k], chunks[k + 1]
            # BudouX splits rare words into single characters (载|体, 成|交额): keep them whole.
            if len(left.strip()) == 1 and has_cjk(left) and left.strip() not in BREAK_AFTER_SINGLE:
                continue
            if len(right.strip()) == 1 and has_cjk(right):
                continue
            candidates.add(b)
    candidates.update(i for i, ch in enumerate(text) if ch == " " and i > 0)
    candidates.update(i + 1 for i, ch in enumerate(text) if ch == " " and i + 1 < len(text))
    out = set()
    for i in candidates:
        if not 0 < i < len(text) or i in protected:
            continue
        before, after = text[i - 1], text[i]
        # At a space the wrapper drops the space: judge the characters that end and start the lines.
        after_s, before_s = text[i:].lstrip(" "), text[:i].rstrip(" ")
        if not after_s or not before_s:
            continue
        if after_s[0] in NO_LINE_START or before_s[-1] in NO_LINE_END:
            continue
        if before.isascii() and after.isascii() and before.isalnum() and after.isalnum():
            continue
        out.add(i)
    return frozenset(out)


def _wrap_zh(text: str, width: int, full_width: bool = True) -> str:
    if full_width:
        text = full_width_brackets(text)
    breaks = sorted(allowed_breaks(text))
    pieces, start = [], 0
    for b in [*breaks, len(text)]:
        pieces.append(text[start:b])
        start = b
    lines, line = [], ""
    for piece in pieces:
        if line and _columns((line + piece).rstrip()) > width:
            lines.append(line.rstrip())
            line = piece.lstrip()
        else:
            line += piece
    lines.append(line.rstrip())
    return "\n".join(ln for ln in lines if ln)


def _wide(ch: str) -> bool:
    """A full-width or wide character (Chinese, and CJK punctuation such as 《》「」，)."""
    return unicodedata.east_asian_width(ch) in "WF"


def _in_run(a: str, b: str) -> bool:
    """Whether two neighbouring characters belong to one Chinese run of English text: both wide, or a
    wide one beside a digit (为59家, 2023上海). Only there does English text break without a space."""
    return (_wide(a) or a.isdigit()) and (_wide(b) or b.isdigit()) and (_wide(a) or _wide(b))


def _word_breaks(word: str) -> list[int]:
    """Where an English "word" (no spaces) may be cut: only inside a Chinese run, at a boundary
    :func:`allowed_breaks` allows; never beside Latin letters or quotes ('|24.14件')."""
    if not has_cjk(word):
        return []
    return sorted(i for i in allowed_breaks(word) if _in_run(word[i - 1], word[i]))


def _glue(text: str) -> list[str]:
    """English words: a number stays with its unit, and no word that must not start or end a line
    (``·``, ``)``; ``(``) is left alone at a line start or end."""
    glued = _NUMBER_UNIT.sub(lambda m: m.group(0).replace(" ", "\u00a0"), text)
    glued = re.sub(r"([¥$]\d[\d,.]*) (bn|m|k|million|billion|trillion)\b", "\\1\u00a0\\2", glued)
    words: list[str] = []
    for w in re.split(r"[ \t]+", glued.strip(" \t")):  # not str.split(): a no-break space is no break
        if words and (w[0] in NO_LINE_START or words[-1][-1] in NO_LINE_END):
            words[-1] += "\u00a0" + w
        else:
            words.append(w)
    return words


def _wrap_en(text: str, width: int) -> str:
    lines: list[str] = []
    line = ""
    for word in _glue(text):
        joined = f"{line} {word}" if line else word
        if _columns(joined) <= width:
            line = joined
            continue
        if line:
            lines.append(line)
            line = ""
        if _columns(word) <= width or not _word_breaks(word):
            line = word  # a word is never cut; one longer than a line overflows it
            continue
        # A Chinese run longer than a line: fill lines, ending one at a phrase boundary when the next
        # phrase would not fit.
        cuts, start = _word_breaks(word), 0
        for k, b in enumerate(cuts):
            nxt = cuts[k + 1] if k + 1 < len(cuts) else len(word)
            if _columns(word[start:nxt]) > width:
                lines.append(word[start:b])
                start = b
        line = word[start:]
    if line:
        lines.append(line)
    return "\n".join(lines).replace("\u00a0", " ") or text


def wrap(text: str, width: int = 28, lang: str = "en") -> str:
    """Wrap one label to lines of at most ``width`` columns.

    Parameters
    ----------
    text : str
        The label. Existing line breaks are kept; each line is wrapped on its own.
    width : int
        Line length in half-width columns: a Chinese character counts as two,
        so ``width=28`` holds 28 Latin characters or 14 Chinese ones. A phrase
        longer than ``width`` gets a line of its own rather than being cut.
    lang : {"en", "zh"}
        ``"zh"`` breaks at phrase boundaries with 禁则 applied and makes
        brackets full-width. ``"en"`` breaks at spaces, also in text quoting
        Chinese terms ("technology (科技) score", 《2023上海科技进步报告》), which
        keep their own brackets; a Chinese run longer than a line is broken at
        its phrase boundaries.

    Returns
    -------
    str
        The label with ``"\\n"`` between lines.

    Examples
    --------
    >>> wrap("Technology contracts exported, ¥2,000.5 bn in all", 30)
    'Technology contracts exported,\\n¥2,000.5 bn in all'
    """
    if lang not in ("en", "zh"):
        raise ParameterError(f"lang {lang!r} is not allowed; use 'en' or 'zh'")
    if isinstance(width, bool) or not isinstance(width, int) or width < 4:
        raise ParameterError(f"wrap width {width!r} is not allowed; use a whole number of columns >= 4")
    out = []
    for line in str(text).split("\n"):
        out.append(_wrap_zh(line, width) if lang == "zh" else _wrap_en(line, width))
    return "\n".join(out)


def bad_breaks(text: str, lang: str = "zh") -> list[tuple[str, str]]:
    """Line breaks in ``text`` that break a Chinese line-breaking rule.

    Parameters
    ----------
    text : str
        A label that may contain ``"\\n"``.
    lang : {"zh", "en"}
        The language of the text. Chinese text is judged as a whole; English
        text (which may quote Chinese) breaks at spaces, so only a break between
        two Chinese characters is judged as a Chinese break, and a break beside
        one only if it cuts a number from its unit (see :func:`wrap`).

    Returns
    -------
    list of (rule, line)
        ``rule`` is ``"kinsoku-start"`` (a line starts with closing punctuation),
        ``"kinsoku-end"`` (a line ends with opening punctuation) or
        ``"cjk-break"`` (a break inside a word or a number with its unit); ``line``
        is the offending line.
    """
    if lang not in ("en", "zh"):
        raise ParameterError(f"lang {lang!r} is not allowed; use 'en' or 'zh'")
    if not has_cjk(text):
        return []
    lines = text.split("\n")
    out = _kinsoku(lines)
    if lang == "en":
        return out + _bad_english_breaks(lines)
    joined, cut = "", []
    for k, ln in enumerate(lines):
        piece = ln.strip() if k else ln.rstrip()
        spaced = False
        # A break between two narrow (non-Chinese) characters is where the wrapper dropped a space
        # ("Chart:⏎shdata", "§8.2 ·⏎Chart:", "cluster⏎rank"): put the space back and judge the break
        # as one at that space. A break beside a Chinese character, or between two digits, never
        # replaced a space.
        if (
            joined
            and piece
            and _narrow(joined[-1])
            and _narrow(piece[0])
            and not (joined[-1].isdigit() and piece[0].isdigit())
        ):
            joined += " "
            spaced = True
        if k:
            cut.append((len(joined), spaced, ln))
        joined += piece
    ok = allowed_breaks(joined)
    for i, spaced, ln in cut:
        if not 0 < i < len(joined) or joined[i] in NO_LINE_START or joined[i - 1] in NO_LINE_END:
            continue  # reported by the kinsoku rules
        if (i - 1 in ok or i in ok) if spaced else i in ok:
            continue
        out.append(("cjk-break", ln.strip()))
    return out


def _kinsoku(lines: list[str]) -> list[tuple[str, str]]:
    """行首禁则 and 行尾禁则: closing punctuation starting a line, opening punctuation ending one."""
    out = []
    for k, ln in enumerate(lines):
        s = ln.strip()
        if not s:
            continue
        if k > 0 and s[0] in NO_LINE_START:
            out.append(("kinsoku-start", s))
        if k < len(lines) - 1 and s[-1] in NO_LINE_END:
            out.append(("kinsoku-end", s))
    return out


def _bad_english_breaks(lines: list[str]) -> list[tuple[str, str]]:
    """``cjk-break`` in English text, judged as :func:`wrap` breaks it: a break inside a Chinese run
    (:func:`_in_run`) must be a phrase boundary of the whole word it cuts; any other break replaced
    a space, and must not part a number from its unit (``10⏎万吨``)."""
    text, joints = "", []
    for k, ln in enumerate(lines):
        piece = ln.strip() if k else ln.rstrip()
        if k:
            if not text or not piece:
                text += piece
                continue
            in_word = _in_run(text[-1], piece[0])
            text += "" if in_word else " "
            joints.append((len(text), in_word, ln.strip()))
        text += piece
    out = []
    for i, in_word, line in joints:
        if text[i] in NO_LINE_START or text[i - 1 - (not in_word)] in NO_LINE_END:
            continue  # reported by the kinsoku rules
        if in_word:
            start = text.rfind(" ", 0, i) + 1
            end = text.find(" ", i)
            word = text[start : end if end >= 0 else len(text)]
            ok = i - start in _word_breaks(word)
        else:  # text[i - 1] is the space the break replaced
            ok = not any(m.start() < i - 1 and m.end() > i for m in _NUMBER_UNIT.finditer(text))
        if not ok:
            out.append(("cjk-break", line))
    return out


def _narrow(ch: str) -> bool:
    """A character that is not full-width or wide (Latin, digits, ASCII and Latin-1 punctuation)."""
    return unicodedata.east_asian_width(ch) not in "WF"
