"""Sidecar metadata next to a report: `<stem>.toml`, `<stem>.yaml` or `<stem>.yml`."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tsunagari.errors import InputError

SIDECAR_SUFFIXES = (".toml", ".yaml", ".yml")


def sidecar_path(path: Path) -> Path | None:
    """The sidecar file of a report, if one exists."""
    for suffix in SIDECAR_SUFFIXES:
        candidate = path.with_suffix(suffix)
        if candidate.exists():
            return candidate
    return None


def parse_sidecar(name: str, data: bytes) -> dict:
    """Metadata from sidecar bytes; raises InputError with a Japanese message."""
    try:
        text = data.decode("utf-8-sig")
        if name.lower().endswith(".toml"):
            meta = tomllib.loads(text)
        else:
            import yaml  # PyYAML (installed with chromadb / langchain)

            meta = yaml.safe_load(text) or {}
    except Exception as exc:  # noqa: BLE001 - TOML, YAML and decoding errors alike
        raise InputError(f"メタデータファイル {name} を読み込めません：{exc}") from exc
    if not isinstance(meta, dict):
        raise InputError(f"メタデータファイル {name} の形式が正しくありません（キーと値の組が必要です）。")
    if "first_page" in meta:
        try:
            meta["first_page"] = int(meta["first_page"])
        except (TypeError, ValueError):
            raise InputError(f"メタデータファイル {name} の first_page は整数で指定してください。") \
                from None
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in meta.items()}


def read_sidecar(path: Path) -> dict:
    """Metadata of the report at `path`, or {} when it has no sidecar."""
    sidecar = sidecar_path(Path(path))
    return parse_sidecar(sidecar.name, sidecar.read_bytes()) if sidecar else {}
