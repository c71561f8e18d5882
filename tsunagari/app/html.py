"""UI-independent helpers of the app: escaping, highlighting, safe answer HTML and source cards.

Everything here is pure (no Streamlit) and returns strings/data. Report text is ALWAYS passed
through `html.escape` before it is placed in HTML: nothing inside a report can inject markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Iterator

from tsunagari.answering import citations
from tsunagari.app.mdtable import Table, blocks
from tsunagari.domain import POINT_MARKS, POINTS
from tsunagari.japanese import split_sentences
from tsunagari.types import Chunk, Citation

# Example questions per point (①–⑤), shown in the sidebar.
EXAMPLE_QUESTIONS: dict[int, tuple[str, ...]] = {
    1: ("福祉以外の部署を巻き込むには？", "庁内の部局横断の会議体はどう作ればよいですか？"),
    2: ("首長を巻き込むにはどうすればよいですか？", "権限をもつキーパーソンにどう働きかけましたか？"),
    3: ("連携実績のない民間団体に参加してもらうには？", "民間団体への呼びかけ方の工夫は？"),
    4: ("関係機関と課題をどう議論して施策にしましたか？", "地域の課題を共有する場の作り方は？"),
    5: ("民間団体と対等な関係で協働するための工夫は？", "行政に頼らず自立的に運営するには？"),
}

CSS = """
<style>
.tg-card{border:1px solid rgba(128,128,128,.35);border-radius:.6rem;padding:.6rem .8rem;
 margin:.4rem 0;background:rgba(128,128,128,.06);scroll-margin-top:4rem}
.tg-card:target{outline:2px solid #e07a5f}
.tg-card-head{font-weight:600}
.tg-n{display:inline-block;min-width:2.1em;color:#e07a5f}
.tg-meta{font-size:.85rem;opacity:.8;margin:.15rem 0}
.tg-quote{margin:.35rem 0 0 0;padding:.2rem .7rem;border-left:3px solid #e07a5f;
 font-size:.95rem;white-space:pre-wrap}
.tg-full{white-space:pre-wrap;font-size:.92rem;line-height:1.7}
.tg-answer a.tg-ref{text-decoration:none;font-weight:600}
.tg-answer table.tg-table{border-collapse:collapse;margin:.4rem 0;font-size:.95rem}
.tg-answer table.tg-table th,.tg-answer table.tg-table td{border:1px solid rgba(128,128,128,.45);
 padding:.3rem .5rem;vertical-align:top;text-align:left}
.tg-answer table.tg-table th{background:rgba(128,128,128,.12)}
.tg-answer table.tg-table td:first-child,.tg-answer table.tg-table td:last-child{white-space:nowrap}
mark.tg-hl{background:#ffe08a;color:inherit;padding:0 .1em;border-radius:.2em}
.tg-more{margin:0 0 .6rem .4rem;font-size:.9rem}
.tg-more summary{cursor:pointer;opacity:.85}
.tg-more .tg-full{padding:.4rem .6rem}
</style>
"""


def escape(text: object) -> str:
    """HTML-escape any value (quotes too).

    >>> escape('<script>alert("x")</script>')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
    """
    return html.escape(str(text), quote=True)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]()!#<>|~$]|:(?=//))")
_MD_LINE_START = re.compile(r"^(\s*)([-+=]|\d+(?=[.)]))", re.MULTILINE)


def md_escape(text: object) -> str:
    """Text with Markdown syntax backslash-escaped, for st.warning/st.caption/st.markdown….

    File names, notices and messages come from reports and uploads: an image, link, emphasis,
    autolink or list marker in them must show as typed, not render.

    >>> print(md_escape("![x](http://host/t.png).pdf"))
    \\!\\[x\\]\\(http\\://host/t.png\\).pdf
    >>> print(md_escape("報告書_第1版 *重要* <b>"))
    報告書\\_第1版 \\*重要\\* \\<b\\>
    >>> print(md_escape("- 項目\\n1. 番号\\n# 見出し"))
    \\- 項目
    1\\. 番号
    \\# 見出し
    >>> md_escape("資料: 1 件（2.5 MB）、2025-01-01")
    '資料: 1 件（2.5 MB）、2025-01-01'
    """
    s = _MD_SPECIAL.sub(r"\\\1", str(text))
    return _MD_LINE_START.sub(lambda m: m.group(1) + (
        m.group(2) + "\\" if m.group(2)[0].isdigit() else "\\" + m.group(2)), s)


def point_label(point: int | None) -> str:
    """'① 部局横断的な連携体制の構築' for a point number; '' for None.

    >>> point_label(2)
    '② 首長・権限をもつキーパーソンの巻き込み'
    """
    if not point:
        return ""
    return f"{POINT_MARKS[point - 1]} {POINTS[point]}"


# Terms that carry no meaning for highlighting even when the tokenizer keeps them.
_STOP_TERMS = {"する", "いる", "ある", "なる", "れる", "こと", "もの", "ため", "よう", "どう",
               "どの", "どんな", "何", "には", "とは", "ます", "ください", "教え", "について"}


def query_terms(question: str, tokenize: Callable[[str], list[str]] | None = None,
                min_len: int = 2) -> list[str]:
    """Terms of a question worth highlighting, longest first, without duplicates.

    `tokenize` is the retriever's tokenizer; without one, runs of kanji/katakana/latin are used.

    >>> query_terms("福祉以外の部署を巻き込むには？")
    ['福祉以外', '部署']
    >>> query_terms("福祉以外の部署を巻き込む", lambda s: ["福祉", "以外", "の", "部署", "巻き込む"])
    ['福祉', '以外', '部署', '巻き込']
    """
    if tokenize is None:
        words = re.findall(r"[\u4e00-\u9fff々〆ヵヶ]+|[\u30a0-\u30ffー]+|[A-Za-z0-9]+", question)
        terms = [w for w in words if len(w) >= min_len]
    else:
        terms = [t for t in tokenize(question) if len(t) >= min_len]
    out: list[str] = []
    for t in terms:
        if t in _STOP_TERMS or re.fullmatch(r"[\u3040-\u309fー]+", t):
            continue  # particles, auxiliaries and other pure-hiragana words
        # Inflected words match by their stem: 巻き込む → 巻き込 (matches 巻き込んだ).
        t = re.sub(r"(?<=[\u4e00-\u9fff])[\u3040-\u309f]+$", "", t)
        if len(t) >= min_len and t not in out:
            out.append(t)
    return sorted(out, key=lambda t: -len(t)) if tokenize is None else out


def highlight(text: str, terms: Iterable[str]) -> str:
    """Escaped `text` with each occurrence of a term wrapped in <mark>.

    >>> highlight("<b>庁内</b>の連携", ["庁内"])
    '&lt;b&gt;<mark class="tg-hl">庁内</mark>&lt;/b&gt;の連携'
    >>> highlight("a<b", [])
    'a&lt;b'
    """
    terms = sorted({t for t in terms if t}, key=lambda t: -len(t))
    if not terms:
        return escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    out, pos = [], 0
    for m in pattern.finditer(text):
        out.append(escape(text[pos : m.start()]))
        out.append(f'<mark class="tg-hl">{escape(m.group(0))}</mark>')
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def anchor_id(turn: str, n: int) -> str:
    """HTML id of the source card of citation `n` in answer `turn`.

    >>> anchor_id("t3", 2)
    'src-t3-2'
    """
    return f"src-{re.sub(r'[^A-Za-z0-9_-]', '', turn)}-{n}"


_REF = re.compile(r"\[(\d{1,3})\]")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def _inline(text: str, turn: str, known: set[int]) -> str:
    """Escape a line, then restore **bold** and turn known [n] markers into anchor links."""
    s = escape(text)
    s = _BOLD.sub(lambda m: f"<strong>{m.group(1)}</strong>", s)

    def ref(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n not in known:
            return m.group(0)
        return (f'<a class="tg-ref" href="#{anchor_id(turn, n)}" '
                f'title="出典 [{n}] を表示">[{n}]</a>')

    return _REF.sub(ref, s)


def table_html(table: Table, turn: str, known: set[int]) -> str:
    """An HTML table; each cell is escaped text with **bold** and [n] links (like a line).

    >>> print(table_html(Table(("事例", "記述"), (("<b>仙台市</b>", "会議[1]"),)), "t1", {1}))
    <table class="tg-table"><thead><tr><th>事例</th><th>記述</th></tr></thead><tbody><tr><td>&lt;b&gt;仙台市&lt;/b&gt;</td><td>会議<a class="tg-ref" href="#src-t1-1" title="出典 [1] を表示">[1]</a></td></tr></tbody></table>
    """
    head = "".join(f"<th>{_inline(c, turn, known)}</th>" for c in table.header)
    body = "".join("<tr>" + "".join(f"<td>{_inline(c, turn, known)}</td>" for c in row) + "</tr>"
                   for row in table.rows)
    return (f'<table class="tg-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def answer_html(body_md: str, turn: str, citation_numbers: Iterable[int]) -> str:
    """Safe HTML for an answer body written in a small Markdown subset.

    Paragraphs, `- ` bullets, `**bold**` and tables (`| a | b |` rows under a `|---|` separator)
    are kept; everything else is escaped text, so quoted report text cannot inject HTML. `[n]`
    markers link to the source cards (`#src-<turn>-<n>`).

    >>> print(answer_html("資料では次の記述があります。\\n\\n**仙台市**\\n- 会議<script>[1]", "t1", [1]))
    <div class="tg-answer"><p>資料では次の記述があります。</p>
    <p><strong>仙台市</strong></p>
    <ul><li>会議&lt;script&gt;<a class="tg-ref" href="#src-t1-1" title="出典 [1] を表示">[1]</a></li></ul></div>
    >>> print(answer_html("並べます。\\n\\n| 事例 | 記述 |\\n|---|---|\\n| 仙台市 | 会議 |", "t1", []))
    <div class="tg-answer"><p>並べます。</p>
    <table class="tg-table"><thead><tr><th>事例</th><th>記述</th></tr></thead><tbody><tr><td>仙台市</td><td>会議</td></tr></tbody></table></div>
    """
    known = set(citation_numbers)
    out: list[str] = []
    items: list[str] = []
    para: list[str] = []

    def flush_para() -> None:
        if para:
            out.append("<p>" + "<br>".join(para) + "</p>")
            para.clear()

    def flush_items() -> None:
        if items:
            out.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items.clear()

    for block in blocks(body_md):
        if isinstance(block, Table):
            flush_para()
            flush_items()
            out.append(table_html(block, turn, known))
            continue
        line = block.strip()
        if not line:
            flush_para()
            flush_items()
        elif re.match(r"^[-*・]\s+", line):
            flush_para()
            items.append(_inline(re.sub(r"^[-*・]\s+", "", line), turn, known))
        else:
            flush_items()
            heading = line.startswith(("**", "#"))
            if heading:  # a label line (e.g. **仙台市**) is a paragraph of its own
                flush_para()
            para.append(_inline(line.lstrip("#").strip(), turn, known))
            if heading:
                flush_para()
    flush_para()
    flush_items()
    return '<div class="tg-answer">' + "\n".join(out) + "</div>"


def stream_pieces(text: str) -> Iterator[str]:
    """Sentence-sized pieces of a text whose concatenation is the text (for st.write_stream).

    >>> list(stream_pieces("一文目。二文目。\\n- 三"))
    ['一文目。', '二文目。', '\\n', '- 三']
    >>> "".join(stream_pieces("a。b\\n\\nc")) == "a。b\\n\\nc"
    True
    """
    yield from split_sentences(text)


def source_card_html(citation: Citation, terms: Iterable[str] = (), turn: str = "t") -> str:
    """HTML of one source card: who/where, section and heading, page, original report, quote.

    All report text is escaped; the quoted passage is highlighted with the question's terms.

    >>> c = Chunk("c1", "d", "事例集", "本文", (6,), section="2-1-2", point=1,
    ...           municipality="仙台市", heading="＜庁外の巻き込み＞",
    ...           source_report="報告書<script>", source_page="15/125")
    >>> h = source_card_html(Citation(1, c, "庁外の<script>を巻き込んだ", 6, (6,)), ["庁外"], "t1")
    >>> '<script>' in h, '&lt;script&gt;' in h, 'id="src-t1-1"' in h
    (False, True, True)
    >>> '出典: 報告書&lt;script&gt; p.15/125' in h, '本資料 p.6' in h
    (True, True)
    """
    c = citation.chunk
    point = f"{POINT_MARKS[c.point - 1]} " if c.point else ""
    section = f"{c.section} {c.section_title.split('／')[0]}".strip()
    heading = c.heading.strip()
    meta = [escape(section)] if section else []
    if heading:
        meta.append(escape(heading))
    meta.append(f"本資料 p.{escape(citations.citation_pages(citation))}")
    report = f'<div class="tg-meta">資料: {escape(citations.report_name(c))}</div>' \
        if c.doc_title else ""
    origin = ""
    if c.source_report:
        origin = f'<div class="tg-meta">出典: {escape(citations.origin(c))}</div>'
    return (
        f'<div class="tg-card" id="{anchor_id(turn, citation.n)}">'
        f'<div class="tg-card-head"><span class="tg-n">[{citation.n}]</span>'
        f"{escape(point)}{escape(citations.title(c))}</div>"
        f'<div class="tg-meta">{" ／ ".join(meta)}</div>'
        f"{report}{origin}"
        f'<blockquote class="tg-quote">{highlight(citation.text, terms)}</blockquote>'
        "</div>"
    )


def chunk_html(chunk: Chunk, terms: Iterable[str] = ()) -> str:
    """The full passage of a chunk, escaped and highlighted (for the expander under a card).

    >>> chunk_html(Chunk("c", "d", "t", "<i>a</i>\\nb", (1,)), ["b"])
    '<div class="tg-full">&lt;i&gt;a&lt;/i&gt;\\n<mark class="tg-hl">b</mark></div>'
    """
    return f'<div class="tg-full">{highlight(chunk.text, terms)}</div>'
