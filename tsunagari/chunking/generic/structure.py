"""Structure of reports other than the first: chapters, sections, cases of bodies, columns,
sub-headings, speakers.

The same patterns as the casebook's `parse` (第N章, N-N., N-N-N., コラム, ＜…＞, ～…～, `X：市町村`),
but without the first report's chapter-specific rules (points from section numbers, cases only in
chapter 2, columns only in chapter 3), plus what any layout may use:
- a heading that names a local public body (`tsunagari.bodies`) starts a case of that body —
  「3. 十和田市（青森県、人口約6万人）」 or 「## 十和田市の取組」; the parenthesis gives its
  prefecture (→ `region`) and size (→ `city_size`); the case lasts until the next heading of its
  level or above;
- numbered sections 「N. 見出し」 (Markdown, or a plain line that names a body or continues the
  numbering), 【…】 sub-headings and deeper Markdown headings (→ `heading`);
- points only from the report's own declared points (sidecar `points`): a heading that names
  「ポイントN」 or ⓝ. A report that declares none gets no points.
"""

from __future__ import annotations

import re
from dataclasses import replace

from tsunagari import bodies
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

_MAX_HEADING = 80  # a "1-2. …" line longer than this is body text that starts with a number
_MAX_CASE_HEADING = 60
_COLUMN_PLAIN = re.compile(r"^コラム\s*[0-9０-９①-⑳]*\s*[：:．.]?\s*(.*)$")
_NUMBERED = re.compile(r"^([0-9０-９]{1,2})\s*[.．]\s*(\S.*)$")
_PARENS = re.compile(r"^\s*[（(]([^（）()]*)[)）]")
_POINT_NAMED = re.compile(r"ポイント\s*([0-9０-９]{1,2})|([①-⑳])")
CASE_LABEL = "{number}. {name}"  # the general profile's label of a case (see `case_label`)


def case_label(name: str, number: str = "") -> str:
    """The label of a case in a report of the general profile.

    >>> case_label("十和田市", "3"), case_label("十和田市")
    ('3. 十和田市', '十和田市')
    """
    return CASE_LABEL.format(number=number, name=name) if number else name


def declared_point(text: str, points: tuple[str, ...]) -> int | None:
    """The point (1..len(points)) a heading names, only when the report declares points.

    >>> declared_point("＜ポイント2：体制＞", ("a", "b")), declared_point("ポイント2", ())
    (2, None)
    """
    if not points:
        return None
    for m in _POINT_NAMED.finditer(text):
        n = int(nfkc(m.group(1))) if m.group(1) else "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳".find(m.group(2)) + 1
        if 1 <= n <= len(points):
            return n
    return None


def body_case(title: str) -> dict[str, str] | None:
    """Municipality, region (the prefecture) and size of a heading that names a body, else None.

    >>> body_case("十和田市（青森県、人口約6万人）")
    {'municipality': '十和田市', 'region': '青森県', 'city_size': '人口約6万人'}
    >>> body_case("潮見原市（静岡県、人口約8万人）")["region"], body_case("はじめに")
    ('静岡県', None)
    """
    text = nfkc(title).strip()
    body = bodies.body_at_start(text)
    if body is None:
        return None
    at = text.find(body.name)
    rest = text[at + len(body.name):] if at >= 0 else ""
    prefecture, size = body.prefecture, ""
    if m := _PARENS.match(rest):
        for part in re.split(r"[、,，・]", m.group(1)):
            part = part.strip()
            found = bodies.lookup(part) if part else None
            if found is not None and found.kind == "都道府県" and found.official:
                prefecture = part
            elif "人口" in part:
                size = part
    if prefecture and body.prefecture != prefecture and body.kind != "都道府県":
        body = bodies.lookup(body.name, prefecture) or body
    if body.kind == "都道府県":
        prefecture = body.name
    return {"municipality": body.name, "region": prefecture or body.prefecture, "city_size": size}


def _case_ctx(ctx: Context, fields: dict[str, str], number: str, level: int) -> Context:
    return replace(ctx, case=case_label(fields["municipality"], number),
                   municipality=fields["municipality"], region=fields["region"],
                   city_size=fields["city_size"], heading="", column="", column_city="",
                   point=None, case_level=level, topic_key=ctx.topic_key + 1)


def _next_number(ctx: Context, number: int) -> bool:
    """A plain 「N. …」 line continues the report's numbering (so it is a heading)."""
    if not ctx.section:
        return number == 1
    return ctx.section.isdigit() and number == int(ctx.section) + 1


def _numbered(p: RawParagraph, ctx: Context, text: str) -> tuple[Context, str] | None:
    m = _NUMBERED.match(text)
    if m is None or len(text) > _MAX_CASE_HEADING or text.endswith("。"):
        return None
    number, title = str(int(nfkc(m.group(1)))), m.group(2).strip()
    fields = body_case(title)
    if not (p.level or fields or _next_number(ctx, int(number))):
        return None  # a numbered list item, not a heading
    base = Context(chapter=ctx.chapter, chapter_no=ctx.chapter_no, section=number,
                   section_title=title, topic_key=ctx.topic_key)
    if fields:
        return _case_ctx(base, fields, number, p.level), "heading"
    return replace(base, topic_key=ctx.topic_key + 1), "heading"


def _structural(p: RawParagraph, ctx: Context,
                points: tuple[str, ...] = ()) -> tuple[Context, str] | None:
    """The new context and paragraph kind when `p` is a heading or label, else None."""
    text = p.text.strip()
    in_case = bool(ctx.municipality)
    if in_case and ctx.case_level and p.level > ctx.case_level:
        # A deeper Markdown heading inside a case: a sub-heading of that case.
        return replace(ctx, heading=text, point=declared_point(text, points),
                       topic_key=ctx.topic_key + 1), "heading"
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
        new = replace(ctx, section=sec, section_title=title, point=None, case="",
                      municipality="", heading="", column="", column_city="", region="",
                      city_size="", case_level=0, topic_key=ctx.topic_key + 1)
        if fields := body_case(m.group(2)):
            new = _case_ctx(new, fields, "", p.level)
        return new, "heading"
    if found := _numbered(p, ctx, text):
        return found
    if m := COLUMN.match(text):
        f = column_fields(m)
        return replace(ctx, section_title=text, column=f["column"], column_city=f["column_city"],
                       region=f["region"], city_size=f["city_size"], heading="", point=None,
                       case="", municipality="", case_level=0,
                       topic_key=ctx.topic_key + 1), "label"
    if len(text) <= 40 and (m := _COLUMN_PLAIN.match(text)) and text.startswith("コラム"):
        return replace(ctx, section_title=text, column=text.split("：")[0].split(":")[0].strip(),
                       column_city="", region="", city_size="", heading="", point=None,
                       case="", municipality="", case_level=0,
                       topic_key=ctx.topic_key + 1), "label"
    if m := CASE.match(text):
        name = m.group(2).strip()
        return replace(ctx, case=f"{nfkc(m.group(1))}：{name}", municipality=name, heading="",
                       topic_key=ctx.topic_key + 1), "label"
    if BRACKET_HEADING.match(text) and len(text) <= 40:
        return replace(ctx, heading=text, point=declared_point(text, points),
                       topic_key=ctx.topic_key + 1), "heading"
    if p.level == 1:
        if fields := body_case(text):
            return _case_ctx(Context(chapter=text, topic_key=ctx.topic_key), fields, "", 1), \
                "heading"
        return Context(chapter=text, section_title=text, topic_key=ctx.topic_key + 1), "heading"
    if p.level >= 2:
        if fields := body_case(text):
            return _case_ctx(replace(ctx, section_title=text), fields, "", p.level), "heading"
        return replace(ctx, section_title=text, heading="", case="", municipality="", point=None,
                       region="", city_size="", case_level=0,
                       topic_key=ctx.topic_key + 1), "heading"
    if ANGLE_HEADING.match(text) or (text.startswith(WAVE_OPEN) and len(text) <= _MAX_HEADING
                                      and text.rstrip().endswith((*WAVE_OPEN,))):
        return replace(ctx, heading=text, point=declared_point(text, points),
                       topic_key=ctx.topic_key + 1), "heading"
    return None


def parse_generic(paras: list[RawParagraph], points: tuple[str, ...] = ()) -> list[Paragraph]:
    """Attach a structural context to each paragraph (see the module docstring); `points` are
    the labels of the points the report declares (none: no paragraph gets a point)."""
    ctx = Context()
    out: list[Paragraph] = []
    speaker = ""
    in_attendees = False
    for p in paras:
        text, marks, kind, para_speaker = p.text.strip(), p.marks, "body", ""
        found = _structural(p, ctx, points)
        if found:
            ctx, kind = found
            speaker, in_attendees = "", False
        elif text.startswith("■"):
            in_attendees, kind = bool(ctx.column), "label"
        elif BRACKET_HEADING.match(text):
            kind = "subheading"  # a long 【…】 line
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
