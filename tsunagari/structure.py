"""Recover report structure (chapters, sections, cases, columns, speakers) from cleaned lines."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace

from tsunagari.pdftext import Line

MUNICIPALITY_ALIASES = {"牧方市": "枚方市", "牧方氏": "枚方市"}

_CHAPTER = re.compile(r"^第\s*([0-9０-９]+)\s*章")
_SECTION = re.compile(r"^([0-9０-９]+(?:[-－][0-9０-９]+){1,2})\.\s*(.*)$")
_CASE = re.compile(r"^([A-HＡ-Ｈ])[：:]\s*(\S.{0,20})$")
_COLUMN = re.compile(
    r"^コラム\s*([0-9０-９]+(?:[-－][0-9０-９]+)?)[：:]\s*(\S+?)（(.*?)）*\s*([①-⑩]?)\s*$"
)
_ANGLE_HEADING = re.compile(r"^＜.*＞$")
_WAVE_OPEN = ("～", "〜")
_BRACKET_HEADING = re.compile(r"^【.*】$")
_SPEAKER = re.compile(r"^[・･]\s*(.+?)）\s*(.*)$")
_SPEAKER_BARE = re.compile(r"^[・･]\s*((?:PF担当者|ヒアリング者)[^）]*)$")
_BULLET = re.compile(r"^(?:[①-⑳]|[・･]|ー|※|■|[0-9０-９]+[：:]|[（(][0-9０-９]+[）)])")
_INTERVIEWER = ("ヒアリング者", "PF担当者")
_WRAP_WIDTH = 34  # heading lines shorter than this were not hard-wrapped
_SHORT_LINE = 30  # a body line shorter than this is the last line of its paragraph

# Keywords that tie an interview topic to one of the five points (only used
# where the report itself does not state the point, i.e. in the columns).
_POINT_HINTS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (2, re.compile(r"市長|首長|議員|キーパーソン|キーマン")),
    (1, re.compile(r"庁内|部局|他部署|他課|うちじゃない")),
    (3, re.compile(r"民間(?:団体)?の巻き込み|参画団体|巻き込み|参画を呼びかけ")),
    (5, re.compile(r"水平的|対等|信頼関係|官と民の役割")),
    (4, re.compile(r"グループワーク|情報交換会|課題|施策|事業を作")),
)


def nfkc(text: str) -> str:
    """Unicode NFKC normalisation (full-width ASCII → half-width)."""
    return unicodedata.normalize("NFKC", text)


def canonical_municipality(name: str) -> str:
    """The municipality name used for filtering (the report's typos mapped).

    >>> canonical_municipality("牧方市")
    '枚方市'
    >>> canonical_municipality("仙台市")
    '仙台市'
    """
    name = name.strip()
    return MUNICIPALITY_ALIASES.get(name, name)


def infer_point(text: str) -> int | None:
    """Best-effort point (1–5) for an interview topic; None when unclear."""
    for point, pattern in _POINT_HINTS:
        if pattern.search(text):
            return point
    return None


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
        _CHAPTER.match(text)
        or _SECTION.match(text)
        or _CASE.match(text)
        or text.startswith("コラム")
        or text.startswith(("＜", "【", *_WAVE_OPEN))
        or _BULLET.match(text)
    )


def _closes(text: str) -> bool:
    """True when the line ends a paragraph by itself."""
    t = text.rstrip()
    if _SPEAKER_BARE.match(t) or (t.startswith(("・", "･")) and t.endswith("）")):
        return True  # a speaker line
    if (_CHAPTER.match(t) or _SECTION.match(t) or _CASE.match(t) or t.startswith(("■", "【"))) \
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
            elif text.startswith(_WAVE_OPEN) and not text.rstrip().endswith(_WAVE_OPEN):
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


def _column_fields(m: re.Match[str]) -> dict[str, str]:
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


def parse(lines: list[Line]) -> list[Paragraph]:
    """Walk the paragraphs and attach the structural context to each."""
    ctx = Context()
    paragraphs: list[Paragraph] = []
    in_attendees = False
    speaker = ""
    for text, marks, refs in join_lines(lines):
        text = text.strip()
        kind = "body"
        para_speaker = ""
        if m := _CHAPTER.match(text):
            number = int(nfkc(m.group(1)))
            ctx = Context(chapter=f"第{number}章", chapter_no=number, section=str(number),
                          section_title=text, topic_key=ctx.topic_key + 1)
            kind, speaker, in_attendees = "heading", "", False
        elif (m := _SECTION.match(text)) and ctx.chapter_no != 3:
            sec = nfkc(m.group(1)).replace("－", "-")
            depth = sec.count("-")
            title = m.group(2).strip()
            point = None
            if ctx.chapter_no == 2:
                major = int(sec.split("-")[1])
                point = major if 1 <= major <= 5 else None
            if depth == 1:
                ctx = replace(ctx, section=sec, section_title=title, point=point, case="",
                              municipality="", heading="", topic_key=ctx.topic_key + 1)
            else:
                parent_title = ctx.section_title if ctx.section.startswith(sec.rsplit("-", 1)[0]) \
                    else ""
                full = f"{parent_title}／{title}" if parent_title and ctx.chapter_no == 2 else title
                ctx = replace(ctx, section=sec, section_title=full, point=point, case="",
                              municipality="", heading="", topic_key=ctx.topic_key + 1)
            kind = "heading"
        elif ctx.chapter_no == 2 and (m := _CASE.match(text)) and ctx.section.count("-") == 2:
            name = m.group(2).strip()
            letter = nfkc(m.group(1))
            ctx = replace(ctx, case=f"{letter}：{name}", municipality=canonical_municipality(name),
                          heading="", topic_key=ctx.topic_key + 1)
            kind = "label"
        elif ctx.chapter_no == 3 and (m := _COLUMN.match(text)):
            f = _column_fields(m)
            ctx = replace(ctx, section=f"3-{f['number']}", section_title=text, column=f["column"],
                          column_city=f["column_city"], region=f["region"],
                          city_size=f["city_size"], heading="", point=None,
                          topic_key=ctx.topic_key + 1)
            kind, speaker, in_attendees = "label", "", False
        elif text.startswith("■"):
            in_attendees = True
            kind = "label"
        elif _ANGLE_HEADING.match(text):
            ctx = replace(ctx, heading=text) if ctx.chapter_no == 2 else ctx
            kind = "heading"
        elif _BRACKET_HEADING.match(text):
            kind = "subheading"
        elif ctx.chapter_no == 3 and text.startswith(_WAVE_OPEN):
            in_attendees, speaker = False, ""
            ctx = replace(ctx, heading=text, point=infer_point(text) if ctx.column else None,
                          topic_key=ctx.topic_key + 1)
            kind = "heading"
        elif ctx.chapter_no == 3 and ctx.column and in_attendees and text.startswith(("・", "･")):
            kind = "attendee"
        elif ctx.chapter_no == 3 and ctx.column and (
            (m := _SPEAKER.match(text)) or (m := _SPEAKER_BARE.match(text))
        ):
            raw_speaker = m.group(1).strip()
            rest = m.group(2).strip() if m.lastindex and m.lastindex >= 2 else ""
            rest = re.sub(r"^(?:ヒアリング者|PF担当者)）", "", rest).strip()
            speaker = "ヒアリング者" if any(s in raw_speaker for s in _INTERVIEWER) else raw_speaker
            if speaker == "ヒアリング者":
                ctx = replace(ctx, topic_key=ctx.topic_key + 1)
            if not rest:
                continue
            text, kind, para_speaker = rest, "body", speaker
            marks = ((0, marks[0][1]),) if marks else marks
        elif ctx.chapter_no == 3 and ctx.column and text.startswith("ー"):
            speaker = "ヒアリング者"
            ctx = replace(ctx, topic_key=ctx.topic_key + 1)
            text, para_speaker = text[1:], speaker
            marks = ((0, marks[0][1]),) if marks else marks
        if kind == "body" and ctx.chapter_no == 3 and ctx.column and not para_speaker:
            para_speaker = speaker
        if kind == "body" and ctx.section == "2-6":
            kind = "table"
        paragraphs.append(Paragraph(text, marks, ctx, kind, para_speaker, refs))
    return paragraphs
