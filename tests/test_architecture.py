"""The package's layers: imports point one way, no module is a monolith.

Imports are read from the source (every ``import``/``from`` statement, lazy ones inside
functions included; ``if TYPE_CHECKING:`` blocks excluded, they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "netinspect"

# Lower layers first. A module may import its own layer and the ones before it, never after.
LAYERS = (
    ("netinspect", "netinspect.errors", "netinspect.records", "netinspect.serialize",
     "netinspect.deserialize", "netinspect.specs", "netinspect.fileio", "netinspect.schema"),
    # torch's (and Typer's) private internals, fenced: used by everything above, uses none of it.
    ("netinspect.torch_compat",),
    ("netinspect.sources",),
    ("netinspect.capture",),
    ("netinspect.analysis",),
    ("netinspect.pipeline",),
    ("netinspect.compare",),
    ("netinspect.render",),
    # Front ends that drive the pipeline and show its results, like cli/ does.
    ("netinspect.watch", "netinspect.pytest_plugin", "netinspect.api",
     "netinspect.torchinfo_api"),
)  # fmt: skip


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for b in node.body for n in ast.walk(b)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m == "netinspect" or m.startswith("netinspect.")}


# The one sanctioned upward reach: the display mixins of the records (``repr``, ``str``,
# ``_repr_html_``, ``table()``...) hand the record to its renderer, imported inside the method
# (``test_the_display_bridge_imports_render_lazily``), so it is no edge of the import graph.
DISPLAY_BRIDGE = ("netinspect.display", "netinspect.render.notebook")


def _is_bridge(module: str, dep: str) -> bool:
    return module == DISPLAY_BRIDGE[0] and dep.startswith(DISPLAY_BRIDGE[1])


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        # "from netinspect.x import y" names module x.y when it exists, else module x.
        found = {m for m in _runtime_imports(path) if m in modules} - {name}
        graph[name] = {m for m in found if not _is_bridge(name, m)}
    return graph


def test_the_display_bridge_imports_render_lazily() -> None:
    tree = ast.parse((PACKAGE / "display.py").read_text(encoding="utf-8"))
    top_level = {node.module or "" for node in tree.body if isinstance(node, ast.ImportFrom)} | {
        a.name for node in tree.body if isinstance(node, ast.Import) for a in node.names
    }
    assert not any(m.startswith("netinspect.render") for m in top_level), top_level
    lazy = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("netinspect.render")
    }
    # Only the notebook views: the mixins reach nothing else in render.
    assert lazy and all(m.startswith(DISPLAY_BRIDGE[1]) for m in lazy), lazy


def _layer(module: str) -> int:
    best = 0
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and p != "netinspect":
                best = i
    return best


def test_the_import_graph_has_no_cycle() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_imports_point_down_the_layers() -> None:
    upward = [
        f"{m} (layer {_layer(m)}) imports {dep} (layer {_layer(dep)})"
        for m, deps in _graph().items()
        for dep in deps
        if dep != "netinspect" and _layer(dep) > _layer(m)
    ]
    assert not upward, "\n".join(sorted(upward))


def test_records_and_renderers_never_import_torch() -> None:
    for path in [PACKAGE / "records.py", PACKAGE / "serialize.py", *PACKAGE.glob("render/*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not any(n == "torch" or n.startswith("torch.") for n in names), path


def test_no_module_is_a_monolith() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in [*PACKAGE.rglob("*.py"), *(ROOT / "cli").rglob("*.py")]
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 420
    }
    assert not long, long


def test_every_subpackage_is_installed() -> None:
    """pyproject lists packages by hand (the cli/ folder is mapped to netinspect_cli): a new
    folder missing there would work from a checkout and vanish from a wheel."""
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    folders = {_module_name(p) for p in PACKAGE.rglob("__init__.py")}
    assert folders <= listed, sorted(folders - listed)


# --- torch's private internals live in netinspect/torch_compat/ only ---------------------------

COMPAT = PACKAGE / "torch_compat"
# Typer and click: their private modules (``typer._coercion``) change between releases.
_PRIVATE_PACKAGES = ("torch", "typer", "click")
_SYS_MODULES_MUTATORS = {"pop", "update", "setdefault", "clear", "popitem", "__setitem__"}


def _is_private_path(dotted: str) -> bool:
    """``torch._C``, ``torch.ops.aten._grouped_mm``, ``torch.utils._pytree``, ``typer._x``:
    a private component under one of the fenced packages (dunders such as ``__version__``
    are public)."""
    head, *rest = dotted.split(".")
    return head in _PRIVATE_PACKAGES and any(
        p.startswith("_") and not (p.startswith("__") and p.endswith("__")) for p in rest
    )


def _dotted(node: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def private_uses(source: str) -> list[str]:
    """Every use of a fenced private API in ``source``: what the rule forbids outside
    torch_compat (comments and strings are not code, and are not looked at)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            found += [f"{line}: import {a.name}" for a in node.names if _is_private_path(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
            if node.module == "sys" and any(a.name in ("_getframe", "modules") for a in node.names):
                found.append(f"{line}: from sys import {', '.join(a.name for a in node.names)}")
            found += [f"{line}: from-import {n}" for n in names if _is_private_path(n)]
        elif isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            if dotted is not None and (_is_private_path(dotted) or dotted == "sys._getframe"):
                found.append(f"{line}: {dotted}")
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)):
            if _dotted(node.value) == "sys.modules":
                found.append(f"{line}: sys.modules[...] {type(node.ctx).__name__.lower()}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and _dotted(node.func.value) == "sys.modules"
            and node.func.attr in _SYS_MODULES_MUTATORS
        ):
            found.append(f"{line}: sys.modules.{node.func.attr}(...)")
    # An attribute chain is walked once per link: report each line's longest chain only.
    return sorted({u for u in found if not any(o != u and o.startswith(u) for o in found)})


def test_private_torch_apis_stay_inside_torch_compat() -> None:
    """``torch._*``, ``torch.ops.aten._*``, ``torch.utils._*``, Typer's and click's private
    modules, writes into ``sys.modules`` and ``sys._getframe`` appear only in torch_compat/,
    where each use has a feature test and a fallback (see ARCHITECTURE.md)."""
    offenders = {
        str(p.relative_to(ROOT)): uses
        for p in sorted([*PACKAGE.rglob("*.py"), *(ROOT / "cli").rglob("*.py")])
        if COMPAT not in p.parents and (uses := private_uses(p.read_text(encoding="utf-8")))
    }
    assert not offenders, offenders


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import torch\nx = torch._C.DisableTorchFunction", ["2: torch._C.DisableTorchFunction"]),
        ("import torch\nf = torch.ops.aten._grouped_mm", ["2: torch.ops.aten._grouped_mm"]),
        ("from torch._guards import SLoc", ["1: from-import torch._guards.SLoc"]),
        ("import torch._dynamo", ["1: import torch._dynamo"]),
        (
            "from torch.utils._pytree import tree_map",
            ["1: from-import torch.utils._pytree.tree_map"],
        ),
        (
            "from typer._coercion import RuntimeParam",
            ["1: from-import typer._coercion.RuntimeParam"],
        ),
        ("import sys\nsys.modules['x'] = None", ["2: sys.modules[...] store"]),
        ("import sys\ndel sys.modules['x']", ["2: sys.modules[...] del"]),
        ("import sys\nsys.modules.pop('x', None)", ["2: sys.modules.pop(...)"]),
        ("import sys\nf = sys._getframe(1)", ["2: sys._getframe"]),
        ("from sys import _getframe", ["1: from sys import _getframe"]),
        # Public names, reads, comments and strings are fine.
        ("import torch\nv = torch.__version__\n# torch._C\ns = 'torch._C'", []),
        ("import sys\nm = sys.modules.get('x')\nhas = 'x' in sys.modules", []),
        ("import torch\nf = torch.ops.aten.mm", []),
    ],
)
def test_the_fence_sees_each_kind_of_private_use(source: str, expected: list[str]) -> None:
    assert private_uses(source) == expected


def test_torch_compat_modules_say_what_they_were_checked_on() -> None:
    """Each compat module's docstring names the torch (or Python) releases it was checked on,
    so a reader knows how far its feature test has been seen to work."""
    import re

    unchecked = [
        p.name
        for p in COMPAT.glob("*.py")
        if p.name != "__init__.py"
        and not re.search(
            r"\b\d+\.\d+(\.\d+)?\b", ast.get_docstring(ast.parse(p.read_text())) or ""
        )
    ]
    assert not unchecked, unchecked


def test_torch_compat_package_imports_nothing_itself() -> None:
    """``import netinspect.torch_compat.typer_checks`` (the CLI's parser, before any torch)
    must not import torch through the package's ``__init__``."""
    tree = ast.parse((COMPAT / "__init__.py").read_text(encoding="utf-8"))
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
