"""Citations rendered from data: the one place that says "which case, which page".

An `Answer` carries its body and a list of `Citation`s; every rendering of them — the 「出典」
Markdown under an answer, the footnotes of the Markdown and Word exports, the header of a
passage in an LLM prompt, the source card's title and the rows of the feedback export — is
built here from that data. Nothing parses a rendered answer back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tsunagari.types import Answer, Chunk, Citation

SOURCES_HEADING = "**出典**"


def page_range(pages: Sequence[int]) -> str:
    """Printed pages as a compact range.

    >>> page_range([16, 17])
    '16–17'
    >>> page_range([6])
    '6'
    >>> page_range([3, 5])
    '3、5'
    """
    pages = sorted(set(pages))
    if not pages:
        return ""
    if len(pages) > 1 and pages == list(range(pages[0], pages[-1] + 1)):
        return f"{pages[0]}–{pages[-1]}"
    return "、".join(str(p) for p in pages)


def citation_pages(cit: Citation) -> str:
    """The pages of a cited passage, or the page of the quote when the passage has none."""
    return page_range(cit.pages) or str(cit.page)


def where(chunk: Chunk) -> str:
    """The case (municipality) or interview column a passage belongs to; '' for other text.

    >>> where(Chunk("c", "d", "t", "x", (20,), column="コラム１", column_city="A市"))
    'コラム１（A市）'
    """
    if chunk.municipality:
        return chunk.municipality
    if chunk.column:
        return f"{chunk.column}（{chunk.column_city}）" if chunk.column_city else chunk.column
    return ""


_TITLE_BREAKS = (" ", "\u3000", "における")
_SHORT_TITLE = 20


def report_name(chunk: Chunk) -> str:
    """A report's short name for a label: the last part of its title (after a space or
    「における」) when that says enough, cut to 20 characters; never empty.

    >>> report_name(Chunk("c", "d", "地方版PF 取組事例集（令和7年度）", "x", (1,)))
    '取組事例集（令和7年度）'
    >>> report_name(Chunk("c", "d", "地方版孤独・孤立対策官民連携プラットフォームにおける"
    ...                   "水平的連携に関する事例集", "x", (1,)))
    '水平的連携に関する事例集'
    >>> report_name(Chunk("c", "chiho-pf", "", "x", (1,)))
    'chiho-pf'
    """
    return title_name(chunk.doc_title or chunk.doc_id or "資料")


def title_name(title: str) -> str:
    """`report_name` of a report's title (for callers holding the title, not a passage).

    >>> title_name("地方版孤独・孤立対策官民連携プラットフォーム 取組事例集（令和7年度）")
    '取組事例集（令和7年度）'
    """
    name = title.strip()
    for sep in _TITLE_BREAKS:
        head, found, tail = name.rpartition(sep)
        if found and head and len(tail.strip()) >= 5:
            name = tail.strip()
            break
    return name if len(name) <= _SHORT_TITLE else name[:_SHORT_TITLE - 1] + "…"


def section_label(chunk: Chunk) -> str:
    """Section number and title of a passage, or — where the report shows neither (a cover,
    text before the first heading) — the report's short name: never empty.

    >>> section_label(Chunk("c", "d", "事例集", "x", (3,), section="1-2", section_title="目的"))
    '1-2 目的'
    >>> section_label(Chunk("c", "d", "地方版PF 取組事例集（令和7年度）", "x", (1,)))
    '取組事例集（令和7年度）'
    """
    return f"{chunk.section} {chunk.section_title}".strip() or report_name(chunk)


def label(chunk: Chunk) -> str:
    """Who or where a passage is: its case or column, else its section, else its report.

    >>> label(Chunk("c", "d", "t", "x", (3,), section="3", municipality="上越市"))
    '上越市'
    """
    return where(chunk) or section_label(chunk)


def title(chunk: Chunk) -> str:
    """A passage's title for a card: its case or column, else its section or chapter.

    >>> title(Chunk("c", "d", "t", "x", (3,), section_title="総括／今後に向けて"))
    '総括'
    """
    return where(chunk) or chunk.section_title.split("／")[0] or chunk.chapter or report_name(chunk)


def heading(chunk: Chunk) -> str:
    """Section number with the passage's first heading (or the section title).

    >>> heading(Chunk("c", "d", "t", "x", (6,), section="2-1-2", heading="＜庁外＞ ＜次＞"))
    '2-1-2 ＜庁外＞'
    """
    if chunk.heading:
        return f"{chunk.section} {chunk.heading.split(' ')[0]}".strip()
    return section_label(chunk)


def origin(chunk: Chunk) -> str:
    """The original report (table 2-6) and its page, or ''.

    >>> origin(Chunk("c", "d", "t", "x", (6,), source_report="報告書", source_page="15/125"))
    '報告書 p.15/125'
    """
    if not chunk.source_report:
        return ""
    return chunk.source_report + (f" p.{chunk.source_page}" if chunk.source_page else "")


def quote_label(chunk: Chunk, page: int | None = None) -> str:
    """「上越市（取組事例集 p.3）」: who said it, in which report, on which page — the label of
    a quote in an answer that draws on several reports.

    >>> quote_label(Chunk("c", "d", "取組事例集", "x", (3,), municipality="上越市"))
    '上越市（取組事例集 p.3）'
    >>> quote_label(Chunk("c", "d", "取組事例集", "x", (7,), section="10",
    ...             section_title="まとめ"), 7)
    'まとめ（取組事例集 p.7）'
    """
    return f"{title(chunk)}（{in_report(chunk, page)}）"


def in_report(chunk: Chunk, page: int | None = None) -> str:
    """「取組事例集 p.3」: the report and page of a passage (or of a quote in it).

    >>> in_report(Chunk("c", "d", "取組事例集", "x", (3, 4)), 4)
    '取組事例集 p.4'
    """
    return f"{report_name(chunk)} p.{page or chunk.page}"


def source_line(cit: Citation, titled: bool = False) -> str:
    """Where a citation points: case or column, section and heading, page, original report.
    `titled`: the page is given with the report's name instead of 「本資料」 (an answer that
    cites several reports).

    >>> c = Chunk("c", "d", "事例集", "x", (6,), section="2-1-2", municipality="仙台市",
    ...           heading="＜庁外の巻き込み＞ ＜次＞", source_report="報告書", source_page="15/125")
    >>> source_line(Citation(1, c, "情報交換会を開催した。", 6, (6,)))
    '仙台市／2-1-2 ＜庁外の巻き込み＞、本資料 p.6（出典: 報告書 p.15/125）'
    >>> source_line(Citation(1, c, "情報交換会を開催した。", 6, (6,)), titled=True)
    '仙台市／2-1-2 ＜庁外の巻き込み＞、『事例集』p.6（出典: 報告書 p.15/125）'
    """
    c = cit.chunk
    place = where(c)
    doc = f"『{report_name(c)}』" if titled else "本資料 "
    line = f"{place + '／' if place else ''}{heading(c)}、{doc}p.{citation_pages(cit)}"
    return line + (f"（出典: {origin(c)}）" if c.source_report else "")


def several_reports(citations: Sequence[Citation]) -> bool:
    """Whether citations come from more than one report (their lines then name the report)."""
    return len({cit.chunk.doc_id for cit in citations}) > 1


def footnote(cit: Citation) -> str:
    """A footnote of the exports: the source line and the quoted text."""
    return f"{source_line(cit)}「{cit.text}」"


def sources_markdown(citations: Sequence[Citation], titled: bool | None = None) -> str:
    """The 「出典」 list under an answer.

    >>> c = Chunk("c", "d", "事例集", "x", (6, 7), section="1-2", section_title="目的")
    >>> print(sources_markdown([Citation(1, c, "引用。", 6, (6, 7))]))
    **出典**
    - [1] 1-2 目的、本資料 p.6–7
    """
    titled = several_reports(citations) if titled is None else titled
    return "\n".join([SOURCES_HEADING,
                      *(f"- [{cit.n}] {source_line(cit, titled)}" for cit in citations)])


def answer_markdown(answer: Answer) -> str:
    """The whole answer as Markdown: the body, then the 「出典」 list when anything is cited.
    The list names each line's report when the answer cites, or retrieved from, several
    reports (「本資料」 would not say which)."""
    if not answer.citations:
        return answer.body
    titled = several_reports(answer.citations) or len({h.chunk.doc_id for h in answer.hits}) > 1
    return f"{answer.body}\n\n{sources_markdown(answer.citations, titled)}"


def without_sources(text: str) -> str:
    """Text from outside (a conversation history pasted from the JSON contract's `answer`)
    without the 「出典」 list this module renders. tsunagari's own answers never need it: they
    carry `body` and `citations` separately.

    >>> without_sources("会議です。[1]\\n\\n**出典**\\n- [1] 仙台市")
    '会議です。[1]'
    """
    return text.split(f"\n{SOURCES_HEADING}")[0].strip()


def prompt_header(n: int, chunk: Chunk) -> str:
    """`[n] 仙台市／2-1-2 ＜…＞ p.6`: the header of a numbered passage in an LLM prompt.

    >>> prompt_header(4, Chunk("x", "d", "報告書", "t", (3,)))
    '[4] 報告書 p.3'
    >>> prompt_header(2, Chunk("x", "d", "報告書", "t", (18, 19), section="3-1", column="コラム１"))
    '[2] コラム１／3-1 p.18-19'
    """
    place = where(chunk)
    head = heading(chunk) or ("" if place else chunk.chapter or chunk.doc_title)
    label = f"{place}／{head}" if place and head else place or head
    pages = chunk.pages or (chunk.page,)
    page = f"p.{pages[0]}" if len(pages) == 1 else f"p.{pages[0]}-{pages[-1]}"
    return f"[{n}] {label} {page}".replace("\n", " ")


def source_rows(citations: Sequence[Citation]) -> list[dict[str, Any]]:
    """Eval-style source dicts ({section, page, municipality|column, chunk_id, text}).

    >>> c = Chunk("c", "d", "t", "x", (6,), section="2-1-2", municipality="仙台市")
    >>> source_rows([Citation(1, c, "引用", 6, (6,))])
    [{'section': '2-1-2', 'page': 6, 'municipality': '仙台市', 'chunk_id': 'c', 'text': '引用'}]
    """
    out = []
    for cit in citations:
        c = cit.chunk
        row: dict[str, Any] = {"section": c.section, "page": cit.page}
        if c.municipality:
            row["municipality"] = c.municipality
        elif c.column:
            row["column"] = c.column
        row["chunk_id"] = c.chunk_id
        row["text"] = cit.text
        out.append(row)
    return out
