"""The import graph of ``trackd`` and ``trackd_daemon`` keeps its shape.

- The contracts in ``pyproject.toml`` (``[tool.importlinter]``) hold: the SDK's layers and the
  daemon's, the daemon using only the SDK's shared package, no cycle between sibling packages.
- No module takes part in an import cycle. Imports inside functions count: hiding an import in a
  function does not break a cycle, it hides it. Imports under ``if TYPE_CHECKING:`` do not
  count (they never run).
- An import of the package's own modules inside a function stays only where it defers a module
  that importing the importer does not load anyway (to keep ``import trackd``, or the daemon's
  start, fast; or an optional dependency optional), with a comment on it or on the line above
  saying why. One that only dodges a cycle, or defers what is loaded already, fails here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"trackd": ROOT / "sdk" / "python" / "trackd",
            "trackd_daemon": ROOT / "daemon" / "trackd_daemon"}
#: Generated protobuf code: not ours to shape.
GENERATED = ("trackd.v1",)


def test_import_contracts_hold() -> None:
    proc = subprocess.run(
        [sys.executable, "-c",
         "from importlinter.cli import lint_imports_command; lint_imports_command()",
         "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def _cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    modules = sorted(m for m in graph.modules if m == package or m.startswith(package + "."))
    edges = {m: sorted(i for i in graph.find_modules_directly_imported_by(m)
                       if i == package or i.startswith(package + "."))
             for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in modules:
        if start in index:
            continue
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, []))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_import_cycle(package: str) -> None:
    graph = grimp.build_graph(package, exclude_type_checking_imports=True, cache_dir=None)
    cycles = _cycles(graph, package)
    assert not cycles, "modules in an import cycle:\n" + "\n".join(
        " <-> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for m in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(m)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.c")
    assert _cycles(graph, "p") == []
    graph.add_import(importer="p.c", imported="p.a")
    assert _cycles(graph, "p") == [["p.a", "p.b", "p.c"]]


# -- imports inside functions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    line: int
    targets: tuple[str, ...]  # the package's modules it imports
    in_function: bool
    type_checking: bool
    commented: bool  # a comment on it, or above the run of imports it is part of


def _modules(package: str) -> dict[str, Path]:
    base = PACKAGES[package]
    out = {}
    for path in base.rglob("*.py"):
        parts = list(path.relative_to(base.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        if not name.startswith(GENERATED):
            out[name] = path
    return out


def _generated(package: str) -> set[str]:
    """The generated modules (known as import targets, not checked as importers)."""
    base = PACKAGES[package]
    names = {".".join(p.relative_to(base.parent).with_suffix("").parts)
             for p in base.rglob("*.py")}
    return {n for n in names if n.startswith(GENERATED)}


def _imports(package: str, module: str, path: Path, known: set[str]) -> Iterator[Import]:
    source = path.read_text()
    lines = source.splitlines()
    tree = ast.parse(source)
    is_package = path.name == "__init__.py"
    in_function: set[int] = set()
    type_checking: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            in_function.update(id(n) for n in ast.walk(node) if n is not node)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_checking.update(id(n) for n in ast.walk(node))
    import_start = {line: n.lineno for n in ast.walk(tree)
                    if isinstance(n, (ast.Import, ast.ImportFrom))
                    for line in range(n.lineno, n.end_lineno + 1)}

    def commented(node: ast.stmt) -> bool:
        """A comment on the import, or above the run of imports it is part of."""
        if any("#" in line for line in lines[node.lineno - 1: node.end_lineno]):
            return True
        line = node.lineno - 1
        while line in import_start:
            line = import_start[line] - 1
        return line > 0 and lines[line - 1].strip().startswith("#")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".") if is_package else module.split(".")[:-1]
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                     for a in node.names]
        else:
            continue
        targets = []
        for name in names:
            if not (name == package or name.startswith(package + ".")):
                continue
            while name not in known and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in known and name != module:
                targets.append(name)
        if not targets:
            continue
        yield Import(module, node.lineno, tuple(sorted(set(targets))), id(node) in in_function,
                     id(node) in type_checking, commented(node))


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _deferral_problems(package: str) -> list[str]:
    modules = _modules(package)
    known = set(modules) | _generated(package)
    found = {m: list(_imports(package, m, p, known)) for m, p in modules.items()}
    top_level = {m: {t for i in imps if not i.in_function and not i.type_checking
                     for t in i.targets} for m, imps in found.items()}

    def loaded_by(module: str) -> set[str]:
        """What ``import module`` loads of the package (its parents run first)."""
        seen: set[str] = set()
        todo = [module, *_parents(module)]
        while todo:
            m = todo.pop()
            if m in seen:
                continue
            seen.add(m)
            for t in top_level.get(m, ()):
                todo += [t, *_parents(t)]
        return seen

    pointless, silent = [], []
    for module, imps in sorted(found.items()):
        loaded = None
        for i in imps:
            if not i.in_function or i.type_checking:
                continue
            loaded = loaded if loaded is not None else loaded_by(module)
            already = [t for t in i.targets if t in loaded]
            if already:
                pointless.append(f"{module}:{i.line} defers {', '.join(already)}, which "
                                 f"`import {module}` loads anyway: import it at the top")
            elif not i.commented:
                silent.append(f"{module}:{i.line} defers {', '.join(i.targets)} without a "
                              "comment saying why")
    return pointless + silent


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_imports_inside_functions_only_defer(package: str) -> None:
    problems = _deferral_problems(package)
    assert not problems, "\n".join(problems)


def test_a_hidden_or_silent_import_inside_a_function_is_found(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from pkg import low\n")
    (pkg / "low.py").write_text("")
    (pkg / "heavy.py").write_text("")
    (pkg / "user.py").write_text(
        "def hidden():\n    from pkg import low\n\n\n"  # loaded anyway (by pkg)
        "def silent():\n    from pkg import heavy\n\n\n"  # deferred, no reason given
        "def said():\n    # heavy: loaded on first use\n    from pkg import heavy\n")
    monkeypatch.setitem(PACKAGES, "pkg", pkg)
    assert _deferral_problems("pkg") == [
        "pkg.user:2 defers pkg.low, which `import pkg.user` loads anyway: import it at the top",
        "pkg.user:6 defers pkg.heavy without a comment saying why"]
