"""make_chat_model: provider mapping, parameters from settings, secrets, real dead endpoints."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from pydantic import SecretStr

from tsunagari.config import load_settings
from tsunagari.generation.chat_models import LLMConfigError, describe, make_chat_model, parse_llm

KEY = "sk-test-0123456789abcdef-secret"


def _settings(**kw):
    base = dict(answer_mode="llm", llm_timeout=7.5, llm_temperature=0.2, llm_max_tokens=321)
    base.update(kw)
    return load_settings(**base)


def _dead_port() -> int:
    """A loopback port with nothing listening (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ollama_model_gets_settings():
    from langchain_ollama import ChatOllama

    m = make_chat_model(_settings(llm="ollama/qwen2.5:7b", llm_base_url="http://localhost:11434"))
    assert isinstance(m, ChatOllama)
    assert (m.model, m.base_url, m.temperature, m.num_predict) == (
        "qwen2.5:7b", "http://localhost:11434", 0.2, 321)
    assert m.client_kwargs == {"timeout": 7.5}


@pytest.mark.parametrize("provider", ["openai", "azure", "vllm", "llamacpp", "lmstudio"])
def test_openai_compatible_providers(provider):
    from langchain_openai import ChatOpenAI

    m = make_chat_model(_settings(llm=f"{provider}/Qwen/Qwen2.5-7B-Instruct",
                                  llm_base_url="http://127.0.0.1:8000/v1",
                                  llm_api_key=SecretStr(KEY)))
    assert isinstance(m, ChatOpenAI)
    assert m.model_name == "Qwen/Qwen2.5-7B-Instruct"
    assert m.openai_api_base == "http://127.0.0.1:8000/v1"
    assert (m.request_timeout, m.max_retries, m.temperature, m.max_tokens) == (7.5, 0, 0.2, 321)
    assert m.openai_api_key.get_secret_value() == KEY
    assert KEY not in repr(m) and KEY not in str(m)
    # Compatible servers may ignore max_completion_tokens: the classic field goes along.
    assert m.extra_body == (None if provider == "azure" else {"max_tokens": 321})
    payload = m._get_request_payload([("user", "質問")])
    assert payload["max_completion_tokens"] == 321


def test_openai_proper_gets_no_extra_body():
    m = make_chat_model(_settings(llm="openai/gpt-4o-mini", llm_api_key=SecretStr(KEY)))
    assert m.extra_body is None and m.openai_api_base is None


def test_local_server_without_key_gets_a_placeholder(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("TSUNAGARI_LLM_API_KEY", raising=False)
    m = make_chat_model(_settings(llm="llamacpp/gemma", llm_base_url="http://127.0.0.1:1/v1"))
    assert m.openai_api_key.get_secret_value() == "not-needed"


@pytest.mark.parametrize("spec", ["", "qwen2.5", "ollama/", "anthropic/claude", "/model"])
def test_bad_llm_specs_are_refused_in_japanese(spec):
    with pytest.raises(LLMConfigError, match="LLM"):
        parse_llm(spec)


def test_describe_never_shows_the_key():
    s = _settings(llm="openai/gpt-4o-mini", llm_api_key=SecretStr(KEY))
    assert KEY not in describe(s) and "gpt-4o-mini" in describe(s)
    assert KEY not in repr(s)


@pytest.mark.parametrize("spec", ["openai/gpt-4o-mini", "ollama/qwen2.5:7b"])
def test_dead_endpoint_fails_fast(spec):
    url = f"http://127.0.0.1:{_dead_port()}" + ("/v1" if spec.startswith("openai") else "")
    m = make_chat_model(_settings(llm=spec, llm_base_url=url, llm_timeout=3))
    start = time.perf_counter()
    with pytest.raises(Exception):
        m.invoke("こんにちは")
    assert time.perf_counter() - start < 3


def test_dead_endpoint_falls_back_and_logs_no_secret(llm_service, caplog):
    from tsunagari.generation.answerer import FALLBACK_NOTICE, GenerativeAnswerer

    s = llm_service.settings.model_copy(update={
        "llm": "openai/gpt-4o-mini", "llm_base_url": f"http://127.0.0.1:{_dead_port()}/v1",
        "llm_api_key": SecretStr(KEY), "llm_timeout": 3.0})
    gen = GenerativeAnswerer(llm_service.answerer, make_chat_model(s), s)
    with caplog.at_level(logging.DEBUG):
        ans = gen.ask("福祉以外の部署を巻き込むには？")
    assert ans.mode == "extractive" and FALLBACK_NOTICE in ans.notices
    assert "LLM unavailable" in caplog.text and "ConnectionError" in caplog.text
    assert KEY not in caplog.text
