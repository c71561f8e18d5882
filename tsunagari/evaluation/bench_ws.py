"""Chat sessions over Streamlit's own websocket protocol, for the load benchmark.

A session here is what the browser's Streamlit frontend does on the wire, without drawing
anything: it opens `/_stcore/stream` (subprotocol "streamlit"), asks for the first script run
(a `BackMsg.rerun_script` with the page's client state), reads the `ForwardMsg`s the server
sends (a `new_session` at the start of every run, `delta`s with the elements, `script_finished`
at the end) and, to ask a question, sends a rerun with the chat input's value as the browser
does when Enter is pressed. The server does exactly the work it does for a browser (same app,
same script runs, same messages); only the rendering, which a real user's own PC does, is left
out, so N sessions can be measured on the same two cores as the server.

An answer is complete when a run finishes successfully and the page it drew shows k questions,
k answers and k feedback rows. The answers' HTML (`st.html` of `.tg-answer`) is kept, so each
can be compared with the CLI's answer to the same question in the same conversation.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

ANSWER_MARK = '<div class="tg-answer">'  # how an answer's HTML starts (app.html.answer_html)
USER_MARK = '<div class="tg-full">'  # how a user bubble's HTML starts (views/chat.py)
FEEDBACK_LABEL = "コメントを送る"


@dataclass
class Page:
    """What the latest script run drew, by delta path (a later delta at a path replaces it)."""

    elements: dict[tuple[int, ...], object] = field(default_factory=dict)
    expanders: dict[tuple[int, ...], str] = field(default_factory=dict)

    def clear(self) -> None:
        self.elements.clear()
        self.expanders.clear()

    def add(self, msg) -> None:
        path = tuple(msg.metadata.delta_path)
        delta = msg.delta
        kind = delta.WhichOneof("type")
        if kind == "new_element":
            self.elements[path] = delta.new_element
        elif kind == "add_block" and delta.add_block.WhichOneof("type") == "expandable":
            self.expanders[path] = delta.add_block.expandable.label

    def _htmls(self, mark: str) -> list[str]:
        return [el.html.body for _, el in sorted(self.elements.items())
                if el.WhichOneof("type") == "html" and el.html.body.startswith(mark)]

    @property
    def answers(self) -> list[str]:
        return self._htmls(ANSWER_MARK)

    @property
    def users(self) -> list[str]:
        return self._htmls(USER_MARK)

    @property
    def feedback_rows(self) -> int:
        return sum(FEEDBACK_LABEL in label for label in self.expanders.values())

    @property
    def errors(self) -> list[str]:
        """Exceptions and error boxes drawn (the app's Japanese error message is an st.error)."""
        out = []
        for el in self.elements.values():
            kind = el.WhichOneof("type")
            if kind == "exception":
                out.append(f"exception: {el.exception.type}: {el.exception.message}"[:200])
            elif kind == "alert" and el.alert.format == el.alert.ERROR:
                out.append(f"error: {el.alert.body}"[:200])
        return out

    def widgets(self, kind: str) -> dict[str, str]:
        """The widgets of one kind drawn ("button", "text_input", …): label -> widget id."""
        return {getattr(el, kind).label: getattr(el, kind).id
                for _, el in sorted(self.elements.items()) if el.WhichOneof("type") == kind}

    def texts(self, kind: str) -> list[str]:
        """The bodies of the alerts ("success", "error", …) or markdown drawn."""
        if kind == "markdown":
            return [el.markdown.body for el in self.elements.values()
                    if el.WhichOneof("type") == "markdown"]
        fmt = {"error": 1, "warning": 2, "info": 3, "success": 4}[kind]
        return [el.alert.body for el in self.elements.values()
                if el.WhichOneof("type") == "alert" and el.alert.format == fmt]

    def chat_input_id(self) -> str | None:
        for el in self.elements.values():
            if el.WhichOneof("type") == "chat_input":
                return el.chat_input.id
        return None


class ProtocolSession:
    """One browser tab's worth of the Streamlit protocol, over one websocket."""

    def __init__(self, url: str) -> None:
        self.ws_url = url.replace("http://", "ws://", 1).rstrip("/") + "/_stcore/stream"
        self.page = Page()
        self.page_script_hash = ""
        self.app_pages: dict[str, str] = {}  # page title -> page_script_hash (st.navigation)
        self._ws = None
        self._runs_done = 0  # successful script runs finished so far
        self._reader: asyncio.Task | None = None
        self._changed = asyncio.Event()
        self.closed_error: str | None = None

    async def open(self, timeout: float) -> None:
        import websockets

        self._ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"],
                                            max_size=None, open_timeout=timeout)
        self._reader = asyncio.create_task(self._read())
        await self._rerun(widgets=[])
        await self.wait(lambda p: p.chat_input_id() is not None, timeout)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._ws is not None:
            await self._ws.close()

    async def run(self, widgets: list, done, timeout: float, page: str | None = None) -> None:
        """One rerun with these widget states (on the page titled `page`, else the current
        one), as the browser sends it after a click or an input; returns once a run has
        finished successfully and `done(page)` holds for what it drew."""
        before = self._runs_done
        await self._rerun(widgets, self.app_pages[page] if page else None)
        await self.wait(done, timeout, after=before)

    async def _rerun(self, widgets: list, page_script_hash: str | None = None) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = ""
        state.page_script_hash = page_script_hash or self.page_script_hash
        state.widget_states.widgets.extend(widgets)
        state.context_info.timezone = "Asia/Tokyo"
        state.context_info.locale = "ja-JP"
        await self._ws.send(msg.SerializeToString())

    async def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        try:
            async for data in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                kind = msg.WhichOneof("type")
                if kind == "new_session":
                    self.page.clear()
                    self.page_script_hash = msg.new_session.page_script_hash
                elif kind == "navigation":
                    self.app_pages = {p.page_name: p.page_script_hash
                                      for p in msg.navigation.app_pages}
                    self.page_script_hash = msg.navigation.page_script_hash
                elif kind == "delta":
                    self.page.add(msg)
                elif kind == "script_finished":
                    if msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                        self._runs_done += 1
                    self._changed.set()
        except Exception as exc:  # the connection closed under us
            self.closed_error = f"{type(exc).__name__}: {exc}"[:200]
            self._changed.set()

    async def wait(self, done, timeout: float, after: int = 0) -> None:
        """Until a run (after the first `after` ones) has finished successfully and
        `done(page)` holds for what it drew, or it drew an error."""
        deadline = time.monotonic() + timeout
        seen = after
        while True:
            if self.closed_error:
                raise ConnectionError(self.closed_error)
            if self._runs_done != seen:
                seen = self._runs_done
                if done(self.page) or self.page.errors:
                    return
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer in time")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def ask(self, question: str, k: int, timeout: float) -> None:
        """Send the k-th question as the chat input's value; return once its answer is drawn."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        widget = WidgetState(id=self.page.chat_input_id())
        widget.chat_input_value.data = question
        await self.run([widget], lambda p: len(p.users) == k and len(p.answers) == k
                       and p.feedback_rows >= k, timeout)
