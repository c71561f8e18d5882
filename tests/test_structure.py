"""The package structure holds: stages import only downward, no cycles, no private imports."""

from __future__ import annotations

from pathlib import Path

from tsunagari.dev.imports import MAX_INNER_IMPORTS, check


def test_the_package_structure_holds():
    report = check()
    assert report.problems == []
    assert len(report.top_level) <= 12 and len(report.inner) <= MAX_INNER_IMPORTS
    # The walk really sees the package: the stages and their imports are there.
    assert {"tsunagari.chunking.casebook.chunker", "tsunagari.answering.citations"} <= set(
        report.modules)
    assert "tsunagari.chunking.pieces" in report.edges["tsunagari.chunking.casebook.chunker"]


def _package(root: Path, files: dict[str, str]) -> Path:
    pkg = root / "tsunagari"
    for name, text in {"__init__.py": "", **files}.items():
        path = pkg / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return pkg


def test_the_check_finds_cycles_private_names_and_upward_imports(tmp_path):
    pkg = _package(tmp_path, {
        "loaders/__init__.py": "from tsunagari.loaders.a import x\n",
        "loaders/a.py": "from tsunagari.loaders.b import _hidden\nx = 1\n",
        "loaders/b.py": "import tsunagari.loaders.a\n_hidden = 2\n",
        "chunking/__init__.py": "",
        "chunking/c.py": "def f():\n    from tsunagari.answering.q import y\n",
        "answering/__init__.py": "",
        "answering/q.py": "y = 1\n",
    })
    report = check(pkg)
    assert report.cycles == [["tsunagari.loaders.a", "tsunagari.loaders.b"]]
    assert report.private == [("tsunagari.loaders.a", "tsunagari.loaders.b", "_hidden")]
    assert report.upward == [("tsunagari.chunking.c", "tsunagari.answering.q")]
    assert report.inner == [("tsunagari.chunking.c", "tsunagari.answering.q")]
    assert len(report.problems) == 3
