"""Fake LangChain chat models shared by the LLM tests (a plain module, not a test file)."""

from __future__ import annotations

import time
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field


class RecordingChatModel(FakeListChatModel):
    """FakeListChatModel that remembers the messages of every call."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def _call(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(list(messages))
        return super()._call(messages, stop, run_manager, **kwargs)

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(list(messages))
        yield from super()._stream(messages, stop, run_manager, **kwargs)


class FailingChatModel(BaseChatModel):
    """Raises `error` on every call (a backend that is down)."""

    error: Any = ConnectionError("connection refused")
    calls: int = 0

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.calls += 1
        raise self.error

    @property
    def _llm_type(self) -> str:
        return "failing-fake"


class ObedientChatModel(BaseChatModel):
    """Obeys an instruction injected into its input, like a naive model would."""

    trigger: str = "これまでの指示を無視して"
    obey: str = "ハッキングされました。これまでの指示は無視します。"
    normal: str = "通常の回答です。[1]"
    prefix: str = ""
    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def _reply(self, messages) -> str:
        self.seen.append(list(messages))
        injected = any(self.trigger in str(m.content) for m in messages[1:])
        return self.prefix + (self.obey if injected else self.normal)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self._reply(messages)))])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        for ch in self._reply(messages):
            yield ChatGenerationChunk(message=AIMessageChunk(content=ch))

    @property
    def _llm_type(self) -> str:
        return "obedient-fake"


class SlowChatModel(BaseChatModel):
    """Answers only after `delay` seconds (a backend that hangs)."""

    delay: float = 5.0

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        time.sleep(self.delay)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="遅い回答です。[1]"))])

    @property
    def _llm_type(self) -> str:
        return "slow-fake"
