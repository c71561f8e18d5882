"""Citation verification of generated answers: every [n] marker is normalized and checked."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from tsunagari.answering.question import NOT_FOUND
from tsunagari.japanese import split_sentences
from tsunagari.types import Citation, Hit

UNCITED_MARK = "（出典未確認）"
WEAK_MARK = "（出典と照合できず）"


# --------------------------------------------------------------------------- markers

_FW_MARKER = re.compile(r"[［【\[]\s*([0-9０-９][0-9０-９\s,，、・\-–~〜]*)\s*[］】\]]")
_MARKER = re.compile(r"\[(\d+)\]")
_LABEL_MARKER = re.compile(r"[\[［【]\s*(?:資料|出典|文献|passage|source)\s*([0-9０-９]+)\s*[\]］】]",
                           re.IGNORECASE)


def normalize_markers(text: str) -> str:
    """Rewrite citation markers to `[n]`: full-width, lists, ranges and `[資料2]` forms.

    >>> normalize_markers("連携した［１］。会議を開いた【2】。両方[1, 3]、範囲[2-4]、[資料5]")
    '連携した[1]。会議を開いた[2]。両方[1][3]、範囲[2][3][4]、[5]'
    """
    text = _LABEL_MARKER.sub(lambda m: f"[{unicodedata.normalize('NFKC', m.group(1))}]", text)

    def expand(m: re.Match[str]) -> str:
        body = unicodedata.normalize("NFKC", m.group(1))
        nums: list[int] = []
        for part in re.split(r"[,，、・\s]+", body):
            if not part:
                continue
            bounds = re.split(r"[\-–~〜]", part)
            if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit():
                lo, hi = int(bounds[0]), int(bounds[1])
                if 0 < hi - lo < 10:
                    nums.extend(range(lo, hi + 1))
                    continue
            if part.isdigit():
                nums.append(int(part))
        return "".join(f"[{n}]" for n in nums) if nums else m.group(0)

    return _FW_MARKER.sub(expand, text)


def parse_markers(text: str) -> list[int]:
    """The numbers of the `[n]` markers in order of first use (after normalization).

    >>> parse_markers("要点です。[2] 事例です。[1][2] 範囲［３］")
    [2, 1, 3]
    """
    seen: list[int] = []
    for m in _MARKER.finditer(normalize_markers(text)):
        n = int(m.group(1))
        if n not in seen:
            seen.append(n)
    return seen


# --------------------------------------------------------------------------- verification

_SOURCES_HEAD = re.compile(r"^\s*[#*\s]*(出典|参考資料|参照資料|参照|引用元)[*\s]*[:：]?[*\s]*$")
_BULLET = re.compile(r"^\s*(?:[-*・●◯○]|\d+[.)．]|#+)\s*")
_ABSENCE = ("資料に記述がありません", "記述が見つかりません", "資料には記載がありません",
            "資料に記載がありません", NOT_FOUND)
_CONTENT = re.compile(r"[一-龯々〆ヵヶァ-ヴー0-9A-Za-z]{2,}")


@dataclass(frozen=True)
class Verification:
    """What citation verification found in a generated answer."""

    text: str
    used: tuple[int, ...]
    removed: tuple[int, ...]
    uncited: tuple[str, ...]
    weak: tuple[str, ...]
    claims: int
    declined: bool

    @property
    def cited(self) -> int:
        """Claim sentences whose citations checked out."""
        return self.claims - len(self.uncited) - len(self.weak)


def _is_claim(segment: str) -> bool:
    """Whether a sentence states something (headings, labels and absence notes do not)."""
    body = _MARKER.sub("", segment)
    body = _BULLET.sub("", body).replace("**", "").replace("__", "").strip()
    if any(a in body for a in _ABSENCE):
        return False
    if body.endswith(("：", ":")) and len(body) <= 30:
        return False
    core = re.sub(r"[\s、。！？!?「」『』（）()・:：]", "", body)
    return len(core) >= 8


def _segments(line: str) -> list[str]:
    """Sentences of one line, with markers written after 。 kept on the sentence they follow."""
    out: list[str] = []
    for piece in split_sentences(line):
        m = re.match(r"^\s*(?:\[\d+\]\s*)+", piece)
        if m and out:
            out[-1] += m.group(0)
            piece = piece[m.end():]
        if piece:
            out.append(piece)
    return out


def _bigrams(text: str) -> set[str]:
    grams: set[str] = set()
    for run in _CONTENT.findall(unicodedata.normalize("NFKC", text)):
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return grams


def _supported(segment: str, numbers: Sequence[int], passages: Sequence[str],
               floor: float = 0.2) -> bool:
    """Loose lexical check: a cited sentence shares some content bigrams with its passages."""
    claim = _bigrams(_MARKER.sub("", segment))
    if len(claim) < 4:
        return True
    source: set[str] = set()
    for n in numbers:
        source |= _bigrams(passages[n - 1])
    return len(claim & source) / len(claim) >= floor


def _mark(segment: str, mark: str) -> str:
    """Append a mark at the end of a sentence's text (before its trailing whitespace)."""
    stripped = segment.rstrip()
    return stripped + mark + segment[len(stripped):]


def strip_sources(text: str) -> str:
    """The answer without a trailing source list that the model may have written itself.

    >>> strip_sources("要点です。[1]\\n\\n**出典**\\n- [1] 仙台市")
    '要点です。[1]'
    """
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if i > 0 and _SOURCES_HEAD.match(line):
            return "\n".join(lines[:i]).rstrip()
    return text.rstrip()


def verify(text: str, passages: Sequence[str]) -> Verification:
    """Check the `[n]` markers of a generated answer against the numbered passages.

    Markers pointing to no passage are removed; claim sentences without a valid marker get
    「（出典未確認）」; cited sentences sharing almost nothing with their passages get
    「（出典と照合できず）」. `declined` is set when the model wrote the NOT_FOUND sentence.

    >>> v = verify("連携会議を新設しました。[1][9]\\n根拠のない主張をここに書きます。", ["連携会議を新設した。"])
    >>> print(v.text)
    連携会議を新設しました。[1]
    根拠のない主張をここに書きます。（出典未確認）
    >>> v.used, v.removed, len(v.uncited), v.declined
    ((1,), (9,), 1, False)
    """
    text = strip_sources(normalize_markers(text.replace("\r\n", "\n")))
    n_max = len(passages)
    used: list[int] = []
    removed: list[int] = []
    uncited: list[str] = []
    weak: list[str] = []
    claims = 0
    out_lines: list[str] = []
    for line in text.split("\n"):
        segments = []
        for seg in _segments(line):
            valid: list[int] = []

            def keep(m: re.Match[str], valid: list[int] = valid) -> str:
                n = int(m.group(1))
                if 1 <= n <= n_max:
                    if n not in valid:
                        valid.append(n)
                    return m.group(0)
                if n not in removed:
                    removed.append(n)
                return ""

            seg = _MARKER.sub(keep, seg)
            if _is_claim(seg):
                claims += 1
                clean = _MARKER.sub("", seg).strip()
                if not valid:
                    uncited.append(clean)
                    seg = _mark(seg, UNCITED_MARK)
                elif not _supported(seg, valid, passages):
                    weak.append(clean)
                    seg = _mark(seg, WEAK_MARK)
            # Every marker left in the text gets its source row, flagged sentences included.
            used.extend(n for n in valid if n not in used)
            segments.append(seg)
        out_lines.append("".join(segments))
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(out_lines)).strip()
    declined = NOT_FOUND in re.sub(r"\s+", "", text)
    return Verification(out, tuple(used), tuple(removed), tuple(uncited), tuple(weak), claims,
                        declined)


def echoes_prompt(text: str, prompt: str, min_chars: int = 20) -> bool:
    """Whether the model repeated a line of its instructions (a prompt leak or a base model).

    >>> echoes_prompt("前置き。回答は資料だけで作ってください。", "# ルール\\n1. 回答は資料だけで作ってください。")
    False
    >>> echoes_prompt("1. 回答は、番号つきの資料に書かれている内容だけで作ってください。",
    ...               "1. 回答は、番号つきの資料に書かれている内容だけで作ってください。")
    True
    """
    flat = re.sub(r"\s+", "", text)
    for line in prompt.split("\n"):
        line = re.sub(r"\s+", "", _BULLET.sub("", line))
        if len(line) >= min_chars and line in flat and line != NOT_FOUND:
            return True
    return False


def verification_notices(v: Verification) -> tuple[str, ...]:
    """Japanese notices describing what verification found (empty when all is well).

    >>> verification_notices(Verification("", (1,), (7,), ("a", "b"), (), 3, False))
    ('出典のない文が2文あります（要確認）', '資料にない出典番号を削除しました: [7]')
    """
    notes = []
    if v.uncited:
        notes.append(f"出典のない文が{len(v.uncited)}文あります（要確認）")
    if v.weak:
        notes.append(f"出典の資料と内容を照合できない文が{len(v.weak)}文あります（要確認）")
    if v.removed:
        notes.append("資料にない出典番号を削除しました: " + "".join(f"[{n}]" for n in v.removed))
    return tuple(notes)


def build_citations(used: Sequence[int], hits: Sequence[Hit]) -> tuple[Citation, ...]:
    """One `Citation` per marker actually used, pointing to its passage (page = chunk page)."""
    out = []
    for n in sorted(used):
        c = hits[n - 1].chunk
        out.append(Citation(n=n, chunk=c, text=c.text, page=c.page, pages=tuple(c.pages)))
    return tuple(out)
