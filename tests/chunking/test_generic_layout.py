"""Paragraphs of the generic layout: double-spaced extractions are still joined, one-line
paragraphs (the layout-aware PDF reader's) are not run together."""

from __future__ import annotations

from tsunagari.chunking.generic.layout import paragraphs
from tsunagari.types import Document


def doc(pages: list[str]) -> Document:
    return Document(doc_id="d", title="t", path="d.pdf", text="\n\n".join(pages),
                    content_hash="0", format="pdf", pages=tuple(pages))


def test_double_spaced_extraction_is_joined_into_paragraphs():
    wrapped = ["上越市では、コロナ禍をきっかけに、地域の見守り活動に参加している",
               "住民から声が寄せられるようになった。これを受け、福祉部福祉課が中心",
               "となって勉強会を開いた。"]
    page = "\n\n".join(wrapped * 6)
    texts = [p.text for p in paragraphs(doc([page]))]
    assert texts[0] == "".join(wrapped) and len(texts) == 6


def test_one_line_paragraphs_stay_apart():
    paras = [f"第{i}の段落は一行で書かれており、最後は句点で終わっている。" for i in range(20)]
    # A long caption without a closing mark must not run into the paragraph after it.
    paras.insert(10, "表2 地方版孤独・孤立対策官民連携プラットフォームの参加団体と主な連携先の一覧")
    texts = [p.text for p in paragraphs(doc(["\n\n".join(paras)]))]
    assert texts == paras
