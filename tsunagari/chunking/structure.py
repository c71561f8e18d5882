"""Structure shared by every report profile: heading patterns, the context of a paragraph,
and joining hard-wrapped lines into paragraphs."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from tsunagari.chunking.pages import Line

CHAPTER = re.compile(r"^第\s*([0-9０-９]+)\s*章")
SECTION = re.compile(r"^([0-9０-９]+(?:[-－][0-9０-９]+){1,2})\.\s*(.*)$")
CASE = re.compile(r"^([A-HＡ-Ｈ])[：:]\s*(\S.{0,20})$")
COLUMN = re.compile(
    r"^コラム\s*([0-9０-９]+(?:[-－][0-9０-９]+)?)[：:]\s*(\S+?)（(.*?)）*\s*([①-⑩]?)\s*$"
)
ANGLE_HEADING = re.compile(r"^＜.*＞$")
WAVE_OPEN = ("～", "〜")
BRACKET_HEADING = re.compile(r"^【.*】$")
SPEAKER = re.compile(r"^[・･]\s*(.+?)）\s*(.*)$")
SPEAKER_BARE = re.compile(r"^[・･]\s*((?:PF担当者|ヒアリング者)[^）]*)$")
BULLET = re.compile(r"^(?:[①-⑳]|[・･]|ー|※|■|[0-9０-９]+[：:]|[（(][0-9０-９]+[）)])")
INTERVIEWER = ("ヒアリング者", "PF担当者")
_WRAP_WIDTH = 34  # heading lines shorter than this were not hard-wrapped
_SHORT_LINE = 30  # a body line shorter than this is the last line of its paragraph


def nfkc(text: str) -> str:
    """Unicode NFKC normalisation (full-width ASCII → half-width)."""
    return unicodedata.normalize("NFKC", text)


@dataclass(frozen=True)
class Context:
    """Where in the report a paragraph stands."""

    chapter: str = ""
    chapter_no: int = 0
    section: str = ""
    section_title: str = ""
    point: int | None = None
    case: str = ""
    municipality: str = ""
    column: str = ""
    column_city: str = ""
    region: str = ""
    city_size: str = ""
    heading: str = ""
    topic_key: int = 0  # increments at every unit boundary inside a section
    case_level: int = 0  # Markdown level of the heading that started the case (0: plain text)


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of joined lines, with page change points and its context."""

    text: str
    page_marks: tuple[tuple[int, int], ...]
    ctx: Context
    kind: str = "body"  # body | heading | label | speaker | attendee | table
    speaker: str = ""
    refs: tuple[int, ...] = ()


@dataclass
class _Builder:
    texts: list[str] = field(default_factory=list)
    marks: list[tuple[int, int]] = field(default_factory=list)
    refs: list[int] = field(default_factory=list)
    length: int = 0

    def add(self, line: Line) -> None:
        if not self.marks or self.marks[-1][1] != line.page:
            self.marks.append((self.length, line.page))
        self.texts.append(line.text)
        self.length += len(line.text)
        self.refs.extend(line.refs)

    def text(self) -> str:
        return "".join(self.texts)


def _starts_block(text: str) -> bool:
    return bool(
        CHAPTER.match(text)
        or SECTION.match(text)
        or CASE.match(text)
        or text.startswith("コラム")
        or text.startswith(("＜", "【", *WAVE_OPEN))
        or BULLET.match(text)
    )


def _closes(text: str) -> bool:
    """True when the line ends a paragraph by itself."""
    t = text.rstrip()
    if SPEAKER_BARE.match(t) or (t.startswith(("・", "･")) and t.endswith("）")):
        return True  # a speaker line
    if (CHAPTER.match(t) or SECTION.match(t) or CASE.match(t) or t.startswith(("■", "【"))) \
            and len(t) < _WRAP_WIDTH:
        return True  # a short heading: not hard-wrapped
    return t.endswith(("。", "＞", "】", "～", "〜", "）", "？", "?")) and not t.endswith("（")


def _is_katakana(ch: str) -> bool:
    return "\u30a0" <= ch <= "\u30ff"


def join_lines(lines: list[Line]) -> list[tuple[str, tuple[tuple[int, int], ...], tuple[int, ...]]]:
    """Join hard-wrapped lines into paragraphs without inserting spaces."""
    out = []
    cur = _Builder()
    open_heading = ""
    prev: Line | None = None
    for line in lines:
        text = line.text
        new = False
        if not cur.texts or prev is None:
            new = False
        elif open_heading:
            new = False
        elif text.startswith(("、", "）", "」", "。")):
            new = False
        elif text.startswith("ー") and _is_katakana(cur.texts[-1].rstrip()[-1:] or "a"):
            new = False  # a long-vowel mark continuing a wrapped katakana word
        elif _starts_block(text):
            new = True
        elif line.indented and line.page != prev.page and not _closes(prev.text):
            new = False  # a paragraph running on over a page break
        elif line.indented:
            new = True
        elif _closes(cur.texts[-1]):
            new = True
        elif len(prev.text) < _SHORT_LINE and not (prev.refs or prev.after_ref):
            new = True  # a short line ends its paragraph
        if new:
            out.append((cur.text(), tuple(cur.marks), tuple(cur.refs)))
            cur = _Builder()
        if not cur.texts:
            open_heading = ""
            if text.startswith("＜") and "＞" not in text:
                open_heading = "＞"
            elif text.startswith(WAVE_OPEN) and not text.rstrip().endswith(WAVE_OPEN):
                open_heading = "～"
        elif open_heading and text.rstrip().endswith((open_heading, "〜")):
            cur.add(line)
            out.append((cur.text(), tuple(cur.marks), tuple(cur.refs)))
            cur = _Builder()
            open_heading = ""
            prev = line
            continue
        cur.add(line)
        prev = line
    if cur.texts:
        out.append((cur.text(), tuple(cur.marks), tuple(cur.refs)))
    return out


def column_fields(m: re.Match[str]) -> dict[str, str]:
    """Label, city, region and size of a コラム heading matched by COLUMN."""
    number = nfkc(m.group(1)).replace("－", "-")
    circled = m.group(4)
    label = f"コラム{m.group(1)}"
    city = m.group(2)
    inner = m.group(3).replace("（", "、").replace("）", "")
    parts = [p for p in re.split(r"[、,]", inner) if p]
    region = parts[0] if parts else ""
    size = parts[1] if len(parts) > 1 else ""
    return {
        "column": label,
        "column_city": f"{city}{circled}" if circled else city,
        "region": region,
        "city_size": size,
        "number": number,
    }
