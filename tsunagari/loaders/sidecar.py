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
    for key in ("profile", "title", "short_title", "publisher", "format"):
        if key in meta and not isinstance(meta[key], str):
            raise InputError(f"メタデータファイル {name} の {key} は文字列で指定してください。")
    if "year" in meta and not isinstance(meta["year"], (str, int)):
        raise InputError(f"メタデータファイル {name} の year は年（例: 2025）で指定してください。")
    if "points" in meta:
        points = meta["points"]
        if not isinstance(points, list) or not all(isinstance(x, str) and x.strip()
                                                   for x in points):
            raise InputError(f"メタデータファイル {name} の points は、ポイントの名前の並び"
                             "（例: points = [\"庁内の連携\", \"民間団体の巻き込み\"]）で指定してください。")
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in meta.items()}


def read_sidecar(path: Path) -> dict:
    """Metadata of the report at `path`, or {} when it has no sidecar."""
    sidecar = sidecar_path(Path(path))
    return parse_sidecar(sidecar.name, sidecar.read_bytes()) if sidecar else {}
