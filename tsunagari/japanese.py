"""Japanese text functions injected into the pipeline: sentence splitter and Sudachi tokenizer."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable
from functools import lru_cache

Splitter = Callable[[str], list[str]]
Tokenizer = Callable[[str], list[str]]

_OPEN = "「『（(【＜〈《"
_CLOSE = "」』）)】＞〉》"
_ENDS = "。！？!?"
_DROP_POS = {"助詞", "助動詞", "補助記号", "空白", "記号"}
# Lone UTF-16 surrogates: not text (a broken emoji pair, or undecodable bytes that Python
# kept as U+DC80–U+DCFF); they cannot be encoded as UTF-8.
SURROGATES = re.compile("[\ud800-\udfff]")


def remove_surrogates(text: str) -> str:
    """The text without lone surrogates (which cannot be written as UTF-8).

    >>> remove_surrogates("仙台\\ud83d市")
    '仙台市'
    """
    return SURROGATES.sub("", text)


def split_sentences(text: str) -> list[str]:
    """Split Japanese text after 。！？ outside brackets; lossless (pieces join back to text).

    >>> split_sentences("会議を新設した。「参画してください。」と伝えた。次へ")
    ['会議を新設した。', '「参画してください。」と伝えた。', '次へ']
    >>> "".join(split_sentences("a。b\\nc")) == "a。b\\nc"
    True
    """
    out: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        if (ch in _ENDS and depth == 0) or ch == "\n":
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if nxt and nxt in _ENDS:
                continue
            out.append(text[start : i + 1])
            start = i + 1
    if start < len(text):
        out.append(text[start:])
    return [s for s in out if s]


def normalize(text: str) -> str:
    """NFKC, so full-width letters and digits match their half-width forms.

    >>> normalize("ＰＦ２５")
    'PF25'
    """
    return unicodedata.normalize("NFKC", text)


class SudachiTokenizer:
    """Sudachi (split mode C) surface forms, dropping particles, auxiliaries and punctuation,
    plus the normalized form of content words where it differs (細かく → 細かい, あえて →
    敢えて), so a question in other inflections or spellings meets the report's words."""

    # Bump when the tokens change: cached chunk tokens (data_dir/cache) are rebuilt.
    version = "2"

    def __init__(self, mode: str = "C") -> None:
        # sudachipy is imported here so that `import tsunagari` stays light.
        from sudachipy import Dictionary, SplitMode

        self._dictionary = Dictionary(dict="core")
        self._mode = getattr(SplitMode, mode)
        self._local = threading.local()

    def _tok(self):  # Sudachi tokenizers are not thread-safe; Streamlit is threaded.
        tok = getattr(self._local, "tok", None)
        if tok is None:
            tok = self._dictionary.tokenizer(mode=self._mode)
            self._local.tok = tok
        return tok

    def morphemes(self, text: str) -> list[tuple[str, tuple[str, ...], str]]:
        """(surface, part of speech, normalized form) for each morpheme.

        Never raises on odd text: lone surrogates (which Sudachi cannot encode) are dropped
        here too, although questions are already cleaned by `validate_question`.
        """
        text = normalize(remove_surrogates(text))
        out = []
        # Sudachi refuses inputs over ~49k bytes: tokenize long texts in slices.
        for piece in re.findall(r"[\s\S]{1,4000}", text):
            for m in self._tok().tokenize(piece):
                out.append((m.surface(), tuple(m.part_of_speech()), m.normalized_form()))
        return out

    def reading(self, text: str) -> str:
        """The katakana reading of a text (名張市 → ナバリシ), from Sudachi's dictionary."""
        text = normalize(remove_surrogates(text))
        return "".join(m.reading_form() for m in self._tok().tokenize(text[:4000]))

    def __call__(self, text: str) -> list[str]:
        out = []
        for s, pos, norm in self.morphemes(text):
            if pos[0] in _DROP_POS or not s.strip():
                continue
            out.append(s.lower())
            if norm != s and pos[0] in ("動詞", "形容詞", "副詞", "名詞"):
                out.append(norm.lower())  # 細かく → 細かい, あえて → 敢えて
        return out


@lru_cache(maxsize=1)
def default_tokenizer() -> SudachiTokenizer:
    """Shared Sudachi tokenizer (dictionary loads once per process)."""
    return SudachiTokenizer()


def char_bigrams(text: str) -> list[str]:
    """Character bigrams of the text without whitespace and punctuation (a fallback tokenizer).

    >>> char_bigrams("孤独・孤立")
    ['孤独', '独孤', '孤立']
    """
    t = re.sub(r"[\s、。・「」（）()！？!?]", "", normalize(text))
    return [t[i : i + 2] for i in range(len(t) - 1)] or ([t] if t else [])
