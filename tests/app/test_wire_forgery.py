"""Forged action requests on the wire: a session that is not signed in sends, over Streamlit's
websocket protocol to the real app server, the very widget triggers a maintainer's page sends
(rebuild the index, sign out, …). Nothing changes and nothing is recorded as done; the same
triggers from the signed-in maintainer's session do work (so the forgery is a real request)."""

from __future__ import annotations

import asyncio
import hashlib
import os

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState

from tsunagari.app import audit, auth
from tsunagari.config import load_settings
from tsunagari.evaluation import bench_load
from tsunagari.evaluation.bench_ws import ProtocolSession

PASSWORD = "wire-保守-2026"
CORPUS_PAGE = "資料の管理"
TIMEOUT = 180


def _trigger(widget_id: str) -> WidgetState:
    return WidgetState(id=widget_id, trigger_value=True)


def _text(widget_id: str, value: str) -> WidgetState:
    return WidgetState(id=widget_id, string_value=value)


def _state(env) -> dict[str, str]:
    """Hashes of the corpus files and of the index's manifest and chunk store."""
    files = [p for p in sorted(env["corpus"].rglob("*")) if p.is_file()]
    files += [env["data"] / "manifest.json", env["data"] / "chunks.jsonl"]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture
def wire_server(private_index, tmp_path):
    settings = load_settings()
    auth.write_password_record(settings.password_path(), auth.hash_password(PASSWORD))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGARI_")}
    env.update(TSUNAGARI_DATA_DIR=str(private_index["data"]),
               TSUNAGARI_CORPUS_DIR=str(private_index["corpus"]),
               TSUNAGARI_EVAL_OUT=str(tmp_path / "eval-out"), HF_HUB_OFFLINE="1",
               ANONYMIZED_TELEMETRY="False")
    with bench_load.app_server(env, tmp_path / "streamlit.log") as (url, _pid):
        yield url, private_index


def test_triggers_forged_by_a_session_without_sign_in_change_nothing(wire_server):
    url, env = wire_server
    settings = load_settings()

    async def scenario() -> dict:
        maintainer, intruder = ProtocolSession(url), ProtocolSession(url)
        await maintainer.open(TIMEOUT)
        await intruder.open(TIMEOUT)
        try:
            await maintainer.run([], lambda p: "サインイン" in p.widgets("button"), TIMEOUT,
                                 page=CORPUS_PAGE)
            pw_id = maintainer.page.widgets("text_input")["保守担当者パスワード"]
            submit_id = maintainer.page.widgets("button")["サインイン"]
            await maintainer.run([_text(pw_id, PASSWORD), _trigger(submit_id)],
                                 lambda p: "索引を更新" in p.widgets("button"), TIMEOUT)
            ids = maintainer.page.widgets("button")
            rebuild_id = ids["索引を更新"]

            # The intruder opens the same page, then sends the maintainer's triggers.
            await intruder.run([], lambda p: "サインイン" in p.widgets("button"), TIMEOUT,
                               page=CORPUS_PAGE)
            shown_to_intruder = set(intruder.page.widgets("button"))
            # every button only the maintainer's page shows, sign-out included
            forged_ids = [i for label, i in ids.items() if label not in shown_to_intruder]
            before, logged = _state(env), len(audit.latest(settings, limit=1000))
            await intruder.run([_trigger(i) for i in forged_ids], lambda p: True, TIMEOUT)
            forged = {"state": _state(env) == before,
                      "new_audit": audit.latest(settings, limit=1000)[
                          :len(audit.latest(settings, limit=1000)) - logged],
                      "success": intruder.page.texts("success"),
                      "buttons": set(intruder.page.widgets("button")),
                      "shown_before": shown_to_intruder, "forged": len(forged_ids)}

            # The same trigger from the signed-in maintainer rebuilds the index.
            await maintainer.run([_trigger(rebuild_id)],
                                 lambda p: any("索引を更新しました" in s
                                               for s in p.texts("success")), TIMEOUT)
            forged["maintainer_success"] = maintainer.page.texts("success")
            return forged
        finally:
            await intruder.close()
            await maintainer.close()

    out = asyncio.run(scenario())
    assert "索引を更新" not in out["shown_before"] and out["forged"] >= 2
    assert out["state"], "a forged trigger changed the corpus or the index"
    assert not any(e.result == "ok" and e.action in {"rebuild", "upload"}
                   for e in out["new_audit"]), out["new_audit"]
    assert not any("索引を更新しました" in s or "追加しました" in s for s in out["success"])
    assert not {"索引を更新", "資料フォルダに追加"} & out["buttons"]
    assert any("索引を更新しました" in s for s in out["maintainer_success"])
    newest = audit.latest(settings)[0]
    assert newest.action == "rebuild" and newest.result == "ok" and newest.method == "password"
