"""The package's shape: no import cycles between skillrl's modules, and the old module paths still import."""

from __future__ import annotations

import ast
import importlib
import warnings
from pathlib import Path

import skillrl

ROOT = Path(skillrl.__file__).parent


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(node: ast.AST):
    """Every import statement below ``node`` except those under ``if TYPE_CHECKING:`` (function-level imports count:
    a cycle of deferred imports is still a cycle in the design)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        yield from _imports(child)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the skillrl modules it imports (at module level or inside functions, outside ``if TYPE_CHECKING``).

    ``from skillrl import x`` counts as an import of ``skillrl.x`` when that is a module, else of the package.
    """
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for st in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(st, ast.Import):
                targets = [a.name for a in st.names]
            else:
                base = st.module or ""
                if st.level:
                    anchor = package.split(".")[: len(package.split(".")) - (st.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in st.names]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan). A module importing its own parent package
    (``skillrl.x`` -> ``skillrl``) is how Python loads every submodule, not a cycle, so parents are left out."""
    def parent_edge(a: str, b: str) -> bool:
        return a.startswith(b + ".")

    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if parent_edge(v, w):
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_between_modules() -> None:
    graph = _import_graph()
    assert len(graph) > 30 and "skillrl.runtime" in graph["skillrl.adapters.trl"]  # the graph is really read
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_moved_modules_keep_their_old_import_paths() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        detection = importlib.import_module("skillrl.detection")
        agent = importlib.import_module("skillrl.agent")
    from skillrl.adapters.agent import SkillAgentMemory
    from skillrl.profiles import get_profile

    assert detection.get_profile is get_profile and agent.SkillAgentMemory is SkillAgentMemory
    teachers = importlib.import_module("skillrl.teachers")
    assert {"OfflineTeacher", "OpenAITeacher", "HFTeacher", "make_teacher", "SkillProposal"} <= set(dir(teachers))
