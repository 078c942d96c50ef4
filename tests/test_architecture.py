"""The package's layers (docs/architecture.md): no module imports one of a higher layer, and
no two modules import each other, directly or around a loop. Read from the source with `ast`,
deferred imports inside functions included."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "raveforce"

# Lowest first; a module may import its own layer and those below it.
LAYERS = (
    ("raveforce.errors", "raveforce._optional", "raveforce.task", "raveforce.audio"),
    ("raveforce.synth", "raveforce.rewards"),
    ("raveforce.env", "raveforce.vector", "raveforce.wrappers", "raveforce.midi"),
    ("raveforce.tasks",),
    ("raveforce.kits",),
    ("raveforce.envs",),
    ("raveforce.agents",),
    ("raveforce.transcribe",),
    ("raveforce.app", "raveforce.integrations", "raveforce.__main__", "raveforce"),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> int:
    for level, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes if p != "raveforce"):
            return level
    assert module == "raveforce", f"{module} is in no layer: add it to LAYERS (and docs/architecture.md)"
    return len(LAYERS) - 1


def imports(module: str) -> set[str]:
    """The RaveForce modules `module` imports (a `from package import name` of a submodule
    counts as that submodule; of anything else, as the package)."""
    path = MODULES[module]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "raveforce"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "raveforce":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    found.discard(module)
    return found


def test_every_module_is_in_a_layer():
    for module in MODULES:
        layer(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_runs_up_a_layer(module):
    upward = sorted(m for m in imports(module) if layer(m) > layer(module))
    assert not upward, f"{module} (layer {layer(module)}) imports {upward} from above it"


def test_no_import_cycle():
    graph = {m: imports(m) & MODULES.keys() for m in MODULES}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle = path[path.index(n) :] + [n]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if n not in state:
                visit(n, path + [n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


def test_top_level_stays_small():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 12, top


@pytest.mark.parametrize("package", sorted(m for m, p in MODULES.items() if p.name == "__init__.py" and m != "raveforce"))
def test_each_package_says_what_it_may_import(package):
    doc = ast.get_docstring(ast.parse(MODULES[package].read_text())) or ""
    assert "May import" in doc, f"{package}'s __init__ does not say what it may import"
