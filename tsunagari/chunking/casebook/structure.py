"""Structure of the first report (the casebook): points from chapter-2 section numbers, cases in
chapter 2, interview columns and speakers in chapter 3."""

from __future__ import annotations

import re
from dataclasses import replace

from tsunagari.chunking.casebook.facts import canonical_name as canonical_municipality
from tsunagari.chunking.casebook.facts import infer_point
from tsunagari.chunking.pages import Line
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
    join_lines,
    nfkc,
)


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
        if m := CHAPTER.match(text):
            number = int(nfkc(m.group(1)))
            ctx = Context(chapter=f"第{number}章", chapter_no=number, section=str(number),
                          section_title=text, topic_key=ctx.topic_key + 1)
            kind, speaker, in_attendees = "heading", "", False
        elif (m := SECTION.match(text)) and ctx.chapter_no != 3:
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
        elif ctx.chapter_no == 2 and (m := CASE.match(text)) and ctx.section.count("-") == 2:
            name = m.group(2).strip()
            letter = nfkc(m.group(1))
            ctx = replace(ctx, case=f"{letter}：{name}", municipality=canonical_municipality(name),
                          heading="", topic_key=ctx.topic_key + 1)
            kind = "label"
        elif ctx.chapter_no == 3 and (m := COLUMN.match(text)):
            f = column_fields(m)
            ctx = replace(ctx, section=f"3-{f['number']}", section_title=text, column=f["column"],
                          column_city=f["column_city"], region=f["region"],
                          city_size=f["city_size"], heading="", point=None,
                          topic_key=ctx.topic_key + 1)
            kind, speaker, in_attendees = "label", "", False
        elif text.startswith("■"):
            in_attendees = True
            kind = "label"
        elif ANGLE_HEADING.match(text):
            ctx = replace(ctx, heading=text) if ctx.chapter_no == 2 else ctx
            kind = "heading"
        elif BRACKET_HEADING.match(text):
            kind = "subheading"
        elif ctx.chapter_no == 3 and text.startswith(WAVE_OPEN):
            in_attendees, speaker = False, ""
            ctx = replace(ctx, heading=text, point=infer_point(text) if ctx.column else None,
                          topic_key=ctx.topic_key + 1)
            kind = "heading"
        elif ctx.chapter_no == 3 and ctx.column and in_attendees and text.startswith(("・", "･")):
            kind = "attendee"
        elif ctx.chapter_no == 3 and ctx.column and (
            (m := SPEAKER.match(text)) or (m := SPEAKER_BARE.match(text))
        ):
            raw_speaker = m.group(1).strip()
            rest = m.group(2).strip() if m.lastindex and m.lastindex >= 2 else ""
            rest = re.sub(r"^(?:ヒアリング者|PF担当者)）", "", rest).strip()
            speaker = "ヒアリング者" if any(s in raw_speaker for s in INTERVIEWER) else raw_speaker
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
