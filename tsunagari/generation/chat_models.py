"""Chat models for generated answers: Ollama or any OpenAI-compatible server, via LangChain."""

from __future__ import annotations

from pydantic import SecretStr

from tsunagari.config import Settings
from tsunagari.errors import TsunagariError

# Providers that speak the OpenAI chat-completions API (given `llm_base_url`).
OPENAI_COMPATIBLE = ("openai", "azure", "vllm", "llamacpp", "lmstudio")
PROVIDERS = ("ollama", *OPENAI_COMPATIBLE)
# OpenAI-compatible local servers accept any key, but the client refuses an empty one.
_PLACEHOLDER_KEY = "not-needed"


class LLMConfigError(TsunagariError):
    """The `llm` setting cannot be used (a Japanese message for the user)."""


def parse_llm(spec: str) -> tuple[str, str]:
    """`provider/model` → (provider, model); the model may itself contain `/` and `:`.

    >>> parse_llm("ollama/qwen2.5:7b")
    ('ollama', 'qwen2.5:7b')
    >>> parse_llm("vllm/Qwen/Qwen2.5-7B-Instruct")
    ('vllm', 'Qwen/Qwen2.5-7B-Instruct')
    """
    provider, sep, model = (spec or "").strip().partition("/")
    provider = provider.strip().lower()
    if not sep or not model.strip():
        raise LLMConfigError(
            f"LLM の指定「{spec}」を解釈できません。「ollama/qwen2.5:7b」のように"
            "「プロバイダ/モデル名」で指定してください。"
        )
    if provider not in PROVIDERS:
        raise LLMConfigError(
            f"LLM のプロバイダ「{provider}」には対応していません。"
            f"使えるもの: {', '.join(PROVIDERS)}"
        )
    return provider, model.strip()


def describe(settings: Settings) -> str:
    """A loggable description of the configured LLM (never includes the API key)."""
    return f"{settings.llm} @ {settings.llm_base_url or '(default URL)'}"


def make_chat_model(settings: Settings):
    """The LangChain chat model for `settings.llm` (imports happen here, not at import time).

    Timeouts come from `llm_timeout`; OpenAI-compatible clients never retry (max_retries=0),
    so a dead server fails fast and the caller falls back to extractive answers.
    """
    provider, model = parse_llm(settings.llm)
    if provider == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(
            model=model,
            base_url=settings.llm_base_url or None,
            temperature=settings.llm_temperature,
            num_predict=settings.llm_max_tokens,
            client_kwargs={"timeout": settings.llm_timeout},
        )
    from langchain_openai import ChatOpenAI

    key = settings.llm_api_key.get_secret_value()
    extra: dict[str, object] = {}
    if settings.llm_base_url and provider != "azure":
        # ChatOpenAI sends the limit as `max_completion_tokens`, which some compatible
        # servers ignore (llama-cpp-python then generates until the context is full):
        # send the classic `max_tokens` too.
        extra["extra_body"] = {"max_tokens": settings.llm_max_tokens}
    return ChatOpenAI(
        model=model,
        base_url=settings.llm_base_url or None,
        api_key=SecretStr(key or _PLACEHOLDER_KEY),
        timeout=settings.llm_timeout,
        max_retries=0,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        **extra,
    )
