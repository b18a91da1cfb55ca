"""The package arrows, read from the code with `ast` (ARCHITECTURE.md, "Packages and arrows"):
a package imports only packages of a lower layer, never a private name of another package, and
`mlflow` is imported by the store package alone."""

from __future__ import annotations

import ast
from pathlib import Path

from phrases.config import REPO_ROOT

# Lower layers first; a package may import the packages of the layers below its own, not its
# own layer's other packages (generators and critics know nothing of each other).
LAYERS = [
    {"phrases", "metrics"},
    {"store"},
    {"training"},
    {"generators", "critics"},
    {"tuning"},
    {"benchmark"},
    {"adversarial"},
    {"presenting"},
    {"operating"},
]
LAYER = {package: i for i, layer in enumerate(LAYERS) for package in layer}
# The only package that imports mlflow.
STORE = "store"


def imports(path: Path):
    """(line, imported module, imported names or None) for every absolute import in `path`,
    function-level ones included."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module, [alias.name for alias in node.names]


def modules():
    """(path relative to the repository, its package) for every module of the packages, and cli.py."""
    for package in sorted(LAYER):
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            yield path.relative_to(REPO_ROOT).as_posix(), package
    yield "cli.py", None


def test_every_package_has_a_layer():
    packages = {p.parent.name for p in REPO_ROOT.glob("*/__init__.py")}
    assert packages == set(LAYER), f"give {packages ^ set(LAYER)} a layer in LAYERS (and ARCHITECTURE.md)"


def test_arrows_point_down_and_no_private_name_crosses_a_package():
    wrong = []
    for module, package in modules():
        for line, imported, names in imports(REPO_ROOT / module):
            top = imported.split(".")[0]
            if top not in LAYER or top == package:
                continue
            where = f"{module}:{line} imports {imported}"
            if package is not None and LAYER[top] >= LAYER[package]:
                wrong.append(f"{where} (layer {LAYER[top]} from layer {LAYER[package]})")
            private = [n for n in names or [] if n.startswith("_")]
            private += [part for part in imported.split(".")[1:] if part.startswith("_") and part != "__init__"]
            if private:
                wrong.append(f"{where}: private {private}")
    assert not wrong, "\n".join(wrong)


def test_mlflow_is_imported_by_the_store_package_alone():
    found = {module: package for module, package in modules()
             if any(imported.split(".")[0] == "mlflow" for _, imported, _ in imports(REPO_ROOT / module))}
    outside = sorted(module for module, package in found.items() if package != STORE)
    assert not outside, f"mlflow imported outside the store package: {outside}; add what they need to store/"
    assert "store/runs.py" in found  # the check reads the store too


def test_the_checker_sees_upward_and_private_imports(tmp_path):
    """The reader above finds what the rules forbid, in function bodies too."""
    path = tmp_path / "m.py"
    path.write_text("import os\n\ndef f():\n    from benchmark.runner import _private\n    import mlflow.tracking\n")
    assert list(imports(path)) == [(1, "os", None), (4, "benchmark.runner", ["_private"]), (5, "mlflow.tracking", None)]


# Names two packages give their modules on purpose: a generator's and a critic's interface
# (base.py) and registry (registry.py), a command's options (options.py).
PARALLEL = {"base.py", "registry.py", "options.py"}


def test_no_two_packages_have_a_module_of_the_same_name():
    seen: dict[str, list[str]] = {}
    for module, package in modules():
        name = module.rsplit("/", 1)[-1]
        if package is not None and name != "__init__.py" and module.count("/") == 1:
            seen.setdefault(name, []).append(module)
    shared = {name: where for name, where in seen.items() if len(where) > 1 and name not in PARALLEL}
    assert not shared, shared
