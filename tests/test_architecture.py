"""The package's shape: no import cycle, and no stage importing a stage above it.

The stages run one way (docs/ARCHITECTURE.md)::

    errors → io → geography → model → funding → run → maps → jobs → scenarios → cli

Every module's imports are read with :mod:`ast` (nothing is imported), including imports inside
functions and under ``TYPE_CHECKING``: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pcnopt"

#: Layer of each top-level module or subpackage of pcnopt (lower may not import higher).
#: ``_processes`` is the low-level child-process helper the model's solvers use (``_starter`` the
#: script it runs, importing nothing of pcnopt); ``funding`` is
#: priced by the run (it imports only io and errors), so it sits below run.
LAYERS: dict[str, int] = {
    "__init__": 0,
    "errors": 0,
    "_processes": 0,
    "_starter": 0,
    "_interrupts": 0,
    "io": 1,
    "geography": 2,
    "validation": 2,
    "model": 3,
    "metrics": 4,
    "funding": 4,
    "rates": 4,
    "settings": 5,
    "run": 5,
    "maps": 6,
    "jobs": 7,
    "neighbourhoods": 7,
    "scenarios": 8,
    "cli": 9,
    "cli_options": 9,
    "__main__": 9,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The pcnopt modules ``path`` imports.

    ``from pcnopt.x import y`` is an import of the module ``pcnopt.x.y`` when there is one, and
    of ``pcnopt.x`` (its ``__init__``) otherwise.
    """
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "pcnopt"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] != "pcnopt":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
    return found


def graph() -> dict[str, set[str]]:
    """Module → the pcnopt modules it imports (only names that are modules)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: {m for m in imports_of(path, set(modules)) if m in modules and m != name}
        for name, path in modules.items()
    }


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first repeated last), or None."""

    def targets(name: str) -> list[str]:
        return sorted(edges[name])

    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for target in targets(name):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[name] = 2
        return None

    for name in sorted(edges):
        if name not in state and (cycle := visit(name)):
            return cycle
    return None


def layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    return LAYERS[top]


def test_every_module_has_a_layer() -> None:
    missing = sorted({m.split(".")[1] for m in graph() if "." in m} - set(LAYERS))
    assert not missing, f"give these modules a layer in LAYERS: {missing}"


def test_no_import_cycle_inside_pcnopt() -> None:
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_a_cycle_is_found() -> None:
    """The detector itself: a cycle made up here is reported."""
    edges = {"pcnopt.a": {"pcnopt.b"}, "pcnopt.b": {"pcnopt.c"}, "pcnopt.c": {"pcnopt.a"}}
    assert find_cycle(edges) == ["pcnopt.a", "pcnopt.b", "pcnopt.c", "pcnopt.a"]
    assert find_cycle({"pcnopt.run": {"pcnopt.run.engine"}, "pcnopt.run.engine": set()}) is None


def test_no_stage_imports_a_stage_above_it() -> None:
    upward = sorted(
        f"{source} imports {target}"
        for source, targets in graph().items()
        for target in targets
        if layer(target) > layer(source)
    )
    # the package root re-exports the public API; everything else must import downwards only
    upward = [u for u in upward if not u.startswith("pcnopt imports")]
    assert not upward, "a lower stage imports a higher one:\n  " + "\n  ".join(upward)


def test_no_module_holds_two_things() -> None:
    """Around 900 lines a module is a sign it holds two things (the modules of this stage)."""
    mine = ["run", "scenarios", "settings", "cli", "errors", "jobs"]
    long = [
        f"{p.relative_to(PACKAGE)}: {n}"
        for p in PACKAGE.rglob("*.py")
        if p.relative_to(PACKAGE).parts[0].removesuffix(".py") in mine
        and (n := len(p.read_text(encoding="utf-8").splitlines())) > 900
    ]
    assert not long, long


def test_the_demo_copies_in_data_are_the_package_demo() -> None:
    """data/practices.csv and data/places.geojson (README commands) equal the embedded demo."""
    for name in ("practices.csv", "places.geojson"):
        shipped = (PACKAGE / "data" / "demo" / name).read_bytes()
        assert (PACKAGE.parent / "data" / name).read_bytes() == shipped, name


#: Inside pcnopt.neighbourhoods: what each module may import of the package (one way, no cycle;
#: nothing imports the package's ``__init__``, which only re-exports).
NEIGHBOURHOODS: dict[str, set[str]] = {
    "result": set(),
    "solve": {"result"},
    "tables": {"result"},
    "write": {"result"},
    "nesting": set(),
    "design": {"result", "solve", "tables"},
}


def test_the_neighbourhoods_modules_import_one_way() -> None:
    package = "pcnopt.neighbourhoods"
    edges = graph()
    modules = {m.removeprefix(f"{package}.") for m in edges if m.startswith(f"{package}.")}
    assert modules == set(NEIGHBOURHOODS), modules
    found = {
        name: {
            t.removeprefix(f"{package}.")
            for t in edges[f"{package}.{name}"]
            if t.startswith(package)
        }
        for name in NEIGHBOURHOODS
    }
    assert found == NEIGHBOURHOODS
