"""The modules of aicc.platform.policy stand in layers: each imports only modules below it, so
the model never reaches for the loader (Policy.from_json validates through the model itself)."""

import ast
import importlib
from pathlib import Path

import aicc.platform.policy as policy

# bottom-up; a module may import only those before it
LAYERS = ["errors", "durations", "coercions", "sections", "model", "loading"]
PACKAGE = "aicc.platform.policy"


def _imported_siblings(name: str) -> set[str]:
    path = Path(importlib.import_module(f"{PACKAGE}.{name}").__file__)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            modules = [f"{'.' * node.level}{node.module or ''}"]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            if module.startswith("."):
                raise AssertionError(f"{name}: relative import {module!r} (the package imports absolutely)")
            if module.startswith(f"{PACKAGE}."):
                found.add(module.removeprefix(f"{PACKAGE}.").split(".")[0])
    return found


def test_every_module_is_in_a_layer():
    modules = {p.stem for p in Path(policy.__file__).parent.glob("*.py")} - {"__init__"}
    assert modules == set(LAYERS)


def test_each_module_imports_only_modules_below_it():
    for i, name in enumerate(LAYERS):
        above = _imported_siblings(name) - set(LAYERS[:i])
        assert not above, f"{PACKAGE}.{name} imports {sorted(above)}, which stand above it"
