"""The question as asked: validation with Japanese messages, and the fixed replies when a
question cannot be answered."""

from __future__ import annotations

from tsunagari.errors import InputError

NOT_FOUND = "この資料には該当する記述が見つかりませんでした。"
UNCLEAR = "質問の内容を読み取れませんでした。知りたいことを具体的に入力してください（例：「福祉以外の部署を巻き込むには？」）。"


def validate_question(question: str, max_chars: int) -> str:
    """The stripped question, or an InputError with a Japanese message."""
    q = (question or "").strip()
    if not q:
        raise InputError("質問を入力してください。")
    if len(q) > max_chars:
        raise InputError(
            f"質問が長すぎます（{len(q):,}文字）。{max_chars:,}文字以内にまとめて入力してください。"
        )
    return q
