"""Structure of reports other than the first: chapters, sections, columns, cases, speakers.

The same patterns as the casebook's `parse` (第N章, N-N., N-N-N., コラム, ＜…＞, ～…～, `X：市町村`),
but without the first report's chapter-specific rules (points from section numbers, cases
only in chapter 2, columns only in chapter 3). Markdown / Word headings start sections too.
"""

from __future__ import annotations

import re
from dataclasses import replace

from tsunagari.chunking.generic.layout import RawParagraph
from tsunagari.chunking.structure import (
    ANGLE_HEADING,
    BRACKET_HEADING,
    CASE,
    CHAPTER,
    COLUMN,
    INTERVIEWER,
    SECTION,
    SPEAKER,
    SPEAKER_BARE,
    WAVE_OPEN,
    Context,
    Paragraph,
    column_fields,
    nfkc,
)
from tsunagari.domain import canonical_municipality, infer_point

_MAX_HEADING = 80  # a "1-2. …" line longer than this is body text that starts with a number
_COLUMN_PLAIN = re.compile(r"^コラム\s*[0-9０-９①-⑳]*\s*[：:．.]?\s*(.*)$")


def _structural(p: RawParagraph, ctx: Context) -> tuple[Context, str] | None:
    """The new context and paragraph kind when `p` is a heading or label, else None."""
    text = p.text.strip()
    if (m := CHAPTER.match(text)) and len(text) <= _MAX_HEADING:
        number = int(nfkc(m.group(1)))
        return Context(chapter=f"第{number}章", chapter_no=number, section=str(number),
                       section_title=text, topic_key=ctx.topic_key + 1), "heading"
    if (m := SECTION.match(text)) and len(text) <= _MAX_HEADING:
        sec = nfkc(m.group(1)).replace("－", "-")
        title = m.group(2).strip() or text
        parent = sec.rsplit("-", 1)[0]
        if sec.count("-") >= 2 and ctx.section.startswith(parent) and ctx.section_title:
            title = f"{ctx.section_title.split('／')[0]}／{title}"
        return replace(ctx, section=sec, section_title=title, point=None, case="",
                       municipality="", heading="", column="", column_city="", region="",
                       city_size="", topic_key=ctx.topic_key + 1), "heading"
    if m := COLUMN.match(text):
        f = column_fields(m)
        return replace(ctx, section_title=text, column=f["column"], column_city=f["column_city"],
                       region=f["region"], city_size=f["city_size"], heading="", point=None,
                       case="", municipality="", topic_key=ctx.topic_key + 1), "label"
    if len(text) <= 40 and (m := _COLUMN_PLAIN.match(text)) and text.startswith("コラム"):
        return replace(ctx, section_title=text, column=text.split("：")[0].split(":")[0].strip(),
                       column_city="", region="", city_size="", heading="", point=None,
                       case="", municipality="", topic_key=ctx.topic_key + 1), "label"
    if m := CASE.match(text):
        name = m.group(2).strip()
        return replace(ctx, case=f"{nfkc(m.group(1))}：{name}",
                       municipality=canonical_municipality(name), heading="",
                       topic_key=ctx.topic_key + 1), "label"
    if p.level == 1:
        return Context(chapter=text, section_title=text, topic_key=ctx.topic_key + 1), "heading"
    if p.level >= 2:
        return replace(ctx, section_title=text, heading="", case="", municipality="", point=None,
                       topic_key=ctx.topic_key + 1), "heading"
    if ANGLE_HEADING.match(text) or (text.startswith(WAVE_OPEN) and len(text) <= _MAX_HEADING
                                      and text.rstrip().endswith((*WAVE_OPEN,))):
        point = infer_point(text) if ctx.column else None
        return replace(ctx, heading=text, point=point, topic_key=ctx.topic_key + 1), "heading"
    return None


def parse_generic(paras: list[RawParagraph]) -> list[Paragraph]:
    """Attach a structural context to each paragraph (see the module docstring)."""
    ctx = Context()
    out: list[Paragraph] = []
    speaker = ""
    in_attendees = False
    for p in paras:
        text, marks, kind, para_speaker = p.text.strip(), p.marks, "body", ""
        found = _structural(p, ctx)
        if found:
            ctx, kind = found
            speaker, in_attendees = "", False
        elif text.startswith("■"):
            in_attendees, kind = bool(ctx.column), "label"
        elif BRACKET_HEADING.match(text):
            kind = "subheading"
        elif ctx.column and in_attendees and text.startswith(("・", "･")):
            kind = "attendee"
        elif ctx.column and ((m := SPEAKER.match(text)) or (m := SPEAKER_BARE.match(text))):
            raw_speaker = m.group(1).strip()
            rest = m.group(2).strip() if m.lastindex and m.lastindex >= 2 else ""
            speaker = "ヒアリング者" if any(s in raw_speaker for s in INTERVIEWER) else raw_speaker
            if speaker == "ヒアリング者":
                ctx = replace(ctx, topic_key=ctx.topic_key + 1)
            if not rest:
                continue
            text, para_speaker = rest, speaker
            marks = ((0, marks[0][1]),) if marks else marks
        elif ctx.column and text.startswith("ー"):
            speaker = "ヒアリング者"
            ctx = replace(ctx, topic_key=ctx.topic_key + 1)
            text, para_speaker = text[1:], speaker
            marks = ((0, marks[0][1]),) if marks else marks
        if kind == "body" and ctx.column and not para_speaker:
            para_speaker = speaker
        out.append(Paragraph(text, marks, ctx, kind, para_speaker, p.refs))
    return out
