"""Launch llama-cpp-python's OpenAI-compatible server with a Gemma 3 chat format.

The bundled GGUF has no chat template, and llama-cpp-python's built-in "gemma" format
drops system messages (it only logs that Gemma has no system role), which would silently
discard tsunagari's rules. This registers "gemma3", the turn format of Gemma 3's own
template (the system text opens the first user turn), then runs `llama_cpp.server` as is:

    python tests/llm_gemma_server.py --model gemma.gguf --chat_format gemma3 --port 8080
"""

from __future__ import annotations

from typing import Any

# llama_cpp is imported inside the functions: pytest's doctest collection imports this file
# on machines without llama-cpp-python.

START, END = "<start_of_turn>", "<end_of_turn>\n"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def format_gemma3(messages: list[dict[str, Any]], **kwargs: Any):
    """Gemma 3 turns; system messages open the first user turn (as Gemma 3's template does)."""
    from llama_cpp.llama_chat_format import ChatFormatterResponse

    system = "\n\n".join(_text(m.get("content")) for m in messages if m["role"] == "system")
    prompt = ""
    first = True
    for m in messages:
        if m["role"] == "system":
            continue
        role = "model" if m["role"] == "assistant" else "user"
        text = _text(m.get("content")).strip()
        if first and role == "user" and system:
            text = f"{system.strip()}\n\n{text}"
        first = False
        prompt += f"{START}{role}\n{text}{END}"
    if first and system:  # only a system message
        prompt += f"{START}user\n{system.strip()}{END}"
    prompt += f"{START}model\n"
    return ChatFormatterResponse(prompt=prompt, stop=[END.strip(), "<eos>"])


def main() -> None:
    from llama_cpp.llama_chat_format import register_chat_format
    from llama_cpp.server.__main__ import main as serve

    register_chat_format("gemma3")(format_gemma3)
    serve()


if __name__ == "__main__":
    main()
