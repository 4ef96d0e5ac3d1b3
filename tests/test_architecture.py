"""Import rules of docs/design.md, and no global state written by library modules."""

import ast
import pathlib
import subprocess
import sys


PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "cevns_jax"

#: Layer of each top-level entry: what it may not import (by top-level name).
FORBIDDEN = {
    "physics": {"experiments", "rates", "likelihood", "inference", "analyses", "papers", "cli",
                "datasets", "sources", "detectors"},
    "spectra": {"experiments", "rates", "likelihood", "inference", "analyses", "papers", "cli"},
    "quadrature": {"experiments", "rates", "likelihood", "inference", "analyses", "papers", "cli"},
    "datasets": {"physics", "rates", "likelihood", "inference", "analyses", "papers", "cli"},
    "likelihood": {"inference", "analyses", "papers", "cli", "experiments", "datasets"},
    "inference": {"analyses", "papers", "results", "plots", "cli"},
    "analyses": {"inference", "papers", "results", "cli"},
    "plots": {"inference", "papers", "results", "cli"},
    "reference": {"physics", "rates", "likelihood", "inference", "analyses", "papers", "cli"},
}
#: Everything except the CLI (and the ``python -m cevns_jax`` entry) must not import these.
NOBODY_IMPORTS = {"cli"}
ENTRY_POINTS = {"cli", "__main__"}


def _imported_top_levels(path: pathlib.Path):
    """Top-level cevns_jax entries imported by a module (relative and absolute imports)."""
    tree = ast.parse(path.read_text())
    rel = path.relative_to(PACKAGE)
    depth = len(rel.parts) - 1                       # package depth of the module
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(rel.parts[:-1])[: depth - (node.level - 1)]
                parts = base + (node.module.split(".") if node.module else [])
                if parts:
                    found.add(parts[0])
                else:
                    found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("cevns_jax."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("cevns_jax."):
                    found.add(alias.name.split(".")[1])
    return {name.removesuffix(".py") for name in found}


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py"))


def test_import_rules():
    violations = []
    for path in _modules():
        rel = path.relative_to(PACKAGE)
        layer = rel.parts[0].removesuffix(".py")
        imported = _imported_top_levels(path) - {layer}
        forbidden = FORBIDDEN.get(layer, set())
        if layer not in ENTRY_POINTS:
            forbidden = forbidden | NOBODY_IMPORTS
        violations.extend(f"{rel} imports {name}" for name in sorted(imported & forbidden))
    assert not violations, "\n".join(violations)


def test_drivers_are_imported_only_by_drivers():
    """papers/ and results/ are the top of the library: only they and the CLI import them."""
    drivers = {"papers", "results"}
    offenders = [str(p.relative_to(PACKAGE)) for p in _modules()
                 if p.relative_to(PACKAGE).parts[0] not in drivers | {"cli", "__main__.py"}
                 and _imported_top_levels(p) & drivers]
    assert not offenders


def test_importing_the_library_writes_no_global_state():
    """A fresh interpreter imports every module; jax_enable_x64 and the matplotlib backend
    must be what they were before."""
    names = [".".join(("cevns_jax",) + p.relative_to(PACKAGE).with_suffix("").parts)
             .removesuffix(".__init__") for p in _modules() if p.name != "__main__.py"]
    code = (
        "import importlib, jax, matplotlib\n"
        "x64 = jax.config.read('jax_enable_x64'); backend = matplotlib.rcParams._get_backend_or_none()\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "assert jax.config.read('jax_enable_x64') == x64, 'x64 changed'\n"
        "assert matplotlib.rcParams._get_backend_or_none() == backend, 'backend changed'\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("MPLBACKEND",)}
    env["JAX_PLATFORMS"] = "cpu"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=PACKAGE.parent, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]


def test_no_library_module_over_limit():
    """Modules stay readable: at most ~600 lines (650 allowed before a split)."""
    long = {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines()) for p in _modules()}
    over = {k: n for k, n in long.items() if n > 650}
    assert not over, over




def _module_graph():
    """{module: modules it imports at module level} (imports inside functions run late and
    cannot form an import-time cycle)."""
    names = {".".join(("cevns_jax",) + p.relative_to(PACKAGE).with_suffix("").parts)
             .removesuffix(".__init__"): p for p in _modules()}
    graph = {}
    for name, path in names.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: package.count(".") + 2 - node.level] if node.level \
                    else []
                target = ".".join(base + ([node.module] if node.module else []))
                deps.update(f"{target}.{a.name}" if f"{target}.{a.name}" in names else target
                            for a in node.names)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = {d for d in deps if d in names and d != name}
    return graph


def test_no_import_cycles():
    graph = _module_graph()
    assert "cevns_jax.inference.bayes.problem" in graph["cevns_jax.inference.bayes.fits"]
    state, stack, cycles = {}, [], []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for dep in sorted(graph[module]):
            if state.get(dep) == "open":
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert not cycles, [" -> ".join(c) for c in cycles]
