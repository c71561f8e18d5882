"""Static import check of the package: `python -m tsunagari.dev.imports` (also run by the tests).

Walks the AST of every module of `tsunagari/` and reports:
- import cycles between modules;
- imports of another module's `_private` names;
- imports against the stage order (a stage imports only from stages below it);
- package-internal imports inside functions (a few are allowed, for start-up time);
- how many modules sit directly in `tsunagari/`.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "tsunagari"
ROOT = Path(__file__).resolve().parents[1]

# Stages bottom-up: a module may import from its own stage and from the stages below it.
STAGES: tuple[frozenset[str], ...] = (
    frozenset({"errors"}),
    frozenset({"config", "types", "japanese", "bodies"}),
    frozenset({"loaders"}),
    frozenset({"chunking", "domain"}),  # domain reads the registered report profiles
    frozenset({"indexing"}),
    frozenset({"answering"}),
    frozenset({"generation"}),
    frozenset({"service"}),
    frozenset({"app", "evaluation", "langchain", "dev", "playbook"}),
    frozenset({"cli", "cli_args"}),
    frozenset({"__main__"}),
)
MAX_TOP_LEVEL_MODULES = 12
MAX_INNER_IMPORTS = 15


@dataclass
class Report:
    """What the walk found; `problems` is empty when the structure holds."""

    modules: list[str] = field(default_factory=list)
    packages: set[str] = field(default_factory=set)
    edges: dict[str, set[str]] = field(default_factory=dict)
    inner: list[tuple[str, str]] = field(default_factory=list)
    private: list[tuple[str, str, str]] = field(default_factory=list)
    upward: list[tuple[str, str]] = field(default_factory=list)
    cycles: list[list[str]] = field(default_factory=list)

    @property
    def top_level(self) -> list[str]:
        return [m for m in self.modules if m.count(".") == 1 and m not in self.packages]

    @property
    def problems(self) -> list[str]:
        out = [f"import cycle: {' -> '.join(c)}" for c in self.cycles]
        out += [f"{m} imports the private name {name} of {mod}" for m, mod, name in self.private]
        out += [f"{m} imports {t}, a stage above it" for m, t in self.upward]
        if len(self.top_level) > MAX_TOP_LEVEL_MODULES:
            out.append(f"{len(self.top_level)} modules directly in {PACKAGE}/ "
                       f"(at most {MAX_TOP_LEVEL_MODULES})")
        if len(self.inner) > MAX_INNER_IMPORTS:
            out.append(f"{len(self.inner)} package imports inside functions "
                       f"(at most {MAX_INNER_IMPORTS})")
        return out


def _module_names(root: Path) -> dict[str, Path]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _stage(module: str) -> int:
    """The stage of a module.

    >>> _stage("tsunagari.chunking.casebook.chunker") < _stage("tsunagari.indexing.refresh")
    True
    """
    top = module.split(".")[1] if "." in module else "__main__"
    return next((i for i, s in enumerate(STAGES) if top in s), len(STAGES))


def _imports(tree: ast.AST, package: str) -> Iterator[tuple[ast.AST, str, list[str], bool]]:
    """(node, imported module, names, inside a function) for every tsunagari import."""
    def walk(node: ast.AST, in_function: bool) -> Iterator:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    up = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join(up + ([child.module] if child.module else []))
                if base.split(".")[0] == PACKAGE:
                    yield child, base, [a.name for a in child.names], inner
            elif isinstance(child, ast.Import):
                for a in child.names:
                    if a.name.split(".")[0] == PACKAGE:
                        yield child, a.name, [], inner
            yield from walk(child, inner)
    yield from walk(tree, False)


def check(root: Path = ROOT) -> Report:
    """Walk every module under `root` (the package folder)."""
    modules = _module_names(root)
    report = Report(modules=sorted(modules),
                    packages={m for m, p in modules.items() if p.name == "__init__.py"})
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = report.edges.setdefault(name, set())
        for _node, base, names, inner in _imports(tree, package):
            found = [f"{base}.{n}" for n in names if f"{base}.{n}" in modules] or [base]
            for n in names:
                if f"{base}.{n}" not in modules and n.startswith("_"):
                    report.private.append((name, base, n))
            for target in found:
                if target == name or target not in modules:
                    continue
                targets.add(target)
                if inner:
                    report.inner.append((name, target))
                if _stage(target) > _stage(name):
                    report.upward.append((name, target))
    report.cycles = _cycles(report.edges)
    return report


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    report = check()
    print(f"{len(report.modules)} modules, {len(report.top_level)} directly in {PACKAGE}/, "
          f"{sum(len(t) for t in report.edges.values())} internal imports, "
          f"{len(report.inner)} inside functions")
    for module, target in report.inner:
        print(f"  inside a function: {module} -> {target}")
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    raise SystemExit(main())
