"""The command line's argparse in Japanese: error messages, and the -k type.

argparse prints its errors in English; users of the CLI are Japanese local-government staff.
"""

from __future__ import annotations

import argparse
import re
import sys

MAX_K = 50  # the same bounds as Settings.top_k

# argparse's English error messages (Python 3.11–3.13), as (pattern, Japanese template).
_ARG_MESSAGES = (
    (r"expected one argument", "値を 1 つ指定してください。"),
    (r"expected at most one argument", "値は 1 つまでです。"),
    (r"expected at least one argument", "値を 1 つ以上指定してください。"),
    (r"expected (?P<n>\d+) arguments?", "値を {n} 個指定してください。"),
    (r"invalid choice: (?P<value>.*?) \(choose from (?P<choices>.*)\)",
     "{value} は指定できません（指定できる値: {choices}）。"),
    (r"invalid int value: (?P<value>.*)", "{value} は整数ではありません。"),
    (r"invalid float value: (?P<value>.*)", "{value} は数値ではありません。"),
    (r"invalid \S+ value: (?P<value>.*)", "{value} は正しい値ではありません。"),
    (r"not allowed with argument (?P<other>.*)", "{other} と一緒には指定できません。"),
    (r"ignored explicit argument (?P<value>.*)", "値 {value} は指定できません。"),
)
_MESSAGES = (
    (r"the following arguments are required: (?P<names>.*)", "次の指定が必要です: {names}"),
    (r"unrecognized arguments: (?P<args>.*)", "知らないオプションまたは余分な引数です: {args}"),
    (r"one of the arguments (?P<names>.*) is required", "{names} のどれかを指定してください。"),
    (r"ambiguous option: (?P<option>\S+) could match (?P<matches>.*)",
     "オプション {option} では、どれのことか決まりません（候補: {matches}）。"),
    (r"unexpected option string: (?P<option>.*)", "ここにはオプション {option} を置けません。"),
)
_COMMAND = "コマンド（ask、ingest、status、playbook、admin のいずれか）"


def _translate(templates, message: str) -> str | None:
    for pattern, template in templates:
        m = re.fullmatch(pattern, message, flags=re.DOTALL)
        if m:
            values = m.groupdict()
            if "names" in values:
                values["names"] = values["names"].replace("command", _COMMAND)
            return template.format(**values)
    return None


def japanese_error(message: str) -> str:
    """argparse's error message in Japanese (messages that are already Japanese pass).

    >>> japanese_error("argument --point: invalid choice: 7 (choose from 1, 2, 3, 4, 5)")
    '--point: 7 は指定できません（指定できる値: 1, 2, 3, 4, 5）。'
    >>> japanese_error("the following arguments are required: command")
    '次の指定が必要です: コマンド（ask、ingest、status、playbook、admin のいずれか）'
    """
    m = re.fullmatch(r"argument (?P<name>[^:]+): (?P<inner>.*)", message, flags=re.DOTALL)
    if m:
        name = _COMMAND if m["name"] == "command" else m["name"]
        inner = _translate(_ARG_MESSAGES, m["inner"]) or m["inner"]
        if not _has_japanese(inner):
            inner = f"指定が正しくありません（{inner}）。"
        return f"{name}: {inner}"
    translated = _translate(_MESSAGES, message)
    if translated or _has_japanese(message):
        return translated or message
    return f"コマンドラインの指定が正しくありません（{message}）。"


def _has_japanese(text: str) -> bool:
    return bool(re.search(r"[\u3040-\u30ff\u3400-\u9fff]", text))


class JapaneseArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors (and their usage line) are printed in Japanese.

    `--help` is argparse's own (its help strings are Japanese already). Errors exit with 2.
    """

    def error(self, message: str):  # type: ignore[override]
        formatter = self._get_formatter()
        formatter.add_usage(self.usage, self._actions, self._mutually_exclusive_groups,
                            prefix="使い方: ")
        self._print_message(formatter.format_help(), sys.stderr)
        self.exit(2, f"{self.prog}: エラー: {japanese_error(message)}\n"
                     f"（詳しくは {self.prog} --help）\n")


def passage_count(value: str) -> int:
    """The -k value: an integer from 1 to MAX_K (argparse type).

    >>> passage_count("8")
    8
    >>> passage_count("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 1〜50 の整数で指定してください（指定された値: 0）。
    """
    try:
        k = int(value)
    except ValueError:
        k = None
    if k is None or not 1 <= k <= MAX_K:
        raise argparse.ArgumentTypeError(
            f"1〜{MAX_K} の整数で指定してください（指定された値: {value}）。")
    return k
