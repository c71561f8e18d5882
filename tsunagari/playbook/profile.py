"""The profile a practitioner fills in (all optional), validated with Japanese messages.

The choices are the form's options; `Profile.from_mapping` reads the same fields from CLI flags,
a TOML file or the eval set, so every entry point validates the same way.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tsunagari.domain import POINT_MARKS, POINTS
from tsunagari.errors import InputError

# Kind of body as the form names it → the kind the catalogue uses (domain.body_kind).
BODIES: dict[str, str] = {
    "都道府県": "都道府県", "政令指定都市": "政令市", "一般市": "市", "特別区": "特別区",
    "町村": "町村",
}
# Population bands → the report's size classes. The reports use the statistical city classes
# (大都市: 政令市と東京都区部, 中都市: 人口15万以上の市, 小都市: 人口15万未満の市).
POPULATION_BANDS: dict[str, str] = {
    "5万人未満": "小都市", "5万〜15万人": "小都市", "15万〜50万人": "中都市", "50万人以上": "大都市",
}
REGIONS = ("北海道", "東北", "関東", "中部", "近畿", "中国", "四国", "九州・沖縄")
STAGES = ("これから立ち上げる", "立ち上げ直後", "運営が停滞している")
DEPARTMENTS = ("福祉", "企画", "その他")
MAX_SITUATION_CHARS = 400


@dataclass(frozen=True)
class Profile:
    """Who asks for the memo; every field may be empty."""

    body: str = ""  # a key of BODIES
    population: str = ""  # a key of POPULATION_BANDS
    region: str = ""  # one of REGIONS
    stage: str = ""  # one of STAGES
    department: str = ""  # one of DEPARTMENTS
    difficulties: tuple[int, ...] = ()  # points 1–5, most pressing first
    situation: str = ""  # one free-text sentence

    @property
    def body_kind(self) -> str:
        """The catalogue's kind of body (政令市, 市, …) or ''."""
        return BODIES.get(self.body, "")

    @property
    def size(self) -> str:
        """The report's size class of the population band; 政令市 and 特別区 count as 大都市.

        >>> Profile(body="一般市", population="5万人未満").size
        '小都市'
        >>> Profile(body="政令指定都市").size
        '大都市'
        """
        if self.body_kind in ("政令市", "特別区"):
            return "大都市"
        return POPULATION_BANDS.get(self.population, "")

    def point_order(self) -> tuple[int, ...]:
        """The five points, the user's difficulties first (in their order).

        >>> Profile(difficulties=(3, 1)).point_order()
        (3, 1, 2, 4, 5)
        """
        return tuple(dict.fromkeys((*self.difficulties, *POINTS)))

    def describe(self) -> str:
        """One Japanese line summing up the profile (the memo's header).

        >>> Profile(body="一般市", stage="運営が停滞している", difficulties=(3,)).describe()
        '一般市／運営が停滞している／難しいこと: ③'
        """
        parts = [self.body, self.population, f"{self.region}地方" if self.region else "",
                 self.stage, f"{self.department}部門が担当" if self.department else ""]
        if self.difficulties:
            parts.append("難しいこと: " + "".join(POINT_MARKS[p - 1] for p in self.difficulties))
        return "／".join(p for p in parts if p) or "条件の指定なし"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["difficulties"] = list(self.difficulties)
        return d

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Profile:
        """A validated profile from form, flag, TOML or JSON values (InputError in Japanese)."""
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise InputError(f"知らない項目があります: {'、'.join(map(str, unknown))}"
                             f"（使える項目: {'、'.join(cls.__dataclass_fields__)}）")
        values = {k: ("" if v is None else v) for k, v in data.items() if k != "difficulties"}
        for name, v in values.items():
            if not isinstance(v, str):
                raise InputError(f"「{name}」は文字列で指定してください。")
        values = {k: v.strip() for k, v in values.items()}
        _choice("自治体の種類", values.get("body", ""), tuple(BODIES))
        _choice("人口規模", values.get("population", ""), tuple(POPULATION_BANDS))
        values["region"] = values.get("region", "").removesuffix("地方")
        _choice("地域", values["region"], REGIONS)
        _choice("段階", values.get("stage", ""), STAGES)
        _choice("担当部署", values.get("department", ""), DEPARTMENTS)
        if len(values.get("situation", "")) > MAX_SITUATION_CHARS:
            raise InputError(f"状況の説明は {MAX_SITUATION_CHARS} 字以内にしてください。")
        return cls(**values, difficulties=parse_points(data.get("difficulties") or ()))


def _choice(label: str, value: str, allowed: tuple[str, ...]) -> None:
    if value and value not in allowed:
        raise InputError(f"{label}「{value}」は選べません。次のいずれかにしてください: "
                         f"{'、'.join(allowed)}")


def parse_points(value: Any) -> tuple[int, ...]:
    """Points from 1–5, ①–⑤ or a string of them ("3,1", "③①"), duplicates dropped.

    >>> parse_points("③,1")
    (3, 1)
    >>> parse_points([2, "⑤"])
    (2, 5)
    """
    items = re.split(r"[,、\s]+", value) if isinstance(value, str) else list(value)
    if isinstance(value, str) and len(items) == 1 and len(items[0]) > 1:
        items = list(items[0])  # "③①" or "31"
    out = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if text in POINT_MARKS:
            out.append(POINT_MARKS.index(text) + 1)
        elif text.isdigit() and int(text) in POINTS and not isinstance(item, bool):
            out.append(int(text))
        else:
            raise InputError(f"難しいことのポイント「{text}」が読めません。1〜5 または ①〜⑤ で"
                             "指定してください。")
    return tuple(dict.fromkeys(out))


def read_profile_file(path: Path) -> dict[str, Any]:
    """The profile fields of a TOML file (a `[profile]` table or top-level keys)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"プロフィールのファイル {path.name} が見つかりません。") from None
    except (OSError, UnicodeDecodeError):
        raise InputError(f"プロフィールのファイル {path.name} を読めませんでした"
                         "（UTF-8 の TOML にしてください）。") from None
    except tomllib.TOMLDecodeError:
        raise InputError(f"プロフィールのファイル {path.name} は TOML として読めません。") from None
    table = data.get("profile", data)
    if not isinstance(table, dict):
        raise InputError(f"プロフィールのファイル {path.name} の [profile] が表ではありません。")
    return table
