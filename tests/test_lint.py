"""The code's shape: ruff's rules, the layer contracts, no hidden imports, short functions, public names listed."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The four top-level import names (the design card's geo, boundaries, estates; placekit holds render, cli and ui).
TOP_LEVEL = ["placekit", "geo", "boundaries", "estates"]
#: Library packages checked for `__all__` and annotations (the app, placekit.ui, is not a library).
PACKAGES = ["placekit", "geo", "boundaries", "estates", "placekit/render", "placekit/cli"]
MAX_FUNCTION_LINES = 60
SOURCES = sorted(p for pkg in TOP_LEVEL for p in (ROOT / pkg).rglob("*.py"))


def _tool(name: str) -> str:
    path = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(path).exists():
        pytest.fail(f"{name} is not installed; install the test dependencies (requirements/test.txt)")
    return path


def test_ruff_clean():
    out = subprocess.run([_tool("ruff"), "check", str(ROOT)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout


def test_layer_contracts_hold():
    """`lint-imports` checks the contracts in pyproject.toml: layers, no Streamlit below the app, extras optional."""
    out = subprocess.run([_tool("lint-imports")], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout and "4 kept" in out.stdout, out.stdout


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_no_project_import_inside_a_function():
    """Project modules are imported at the top of a module, so no cycle can hide in a function body."""
    offenders = []
    for path in SOURCES:
        for fn in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            for node in ast.walk(fn):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom):
                    names = [node.module or ""] if node.level == 0 else ["(relative)"]
                hits = [n for n in names if n.split(".")[0] in TOP_LEVEL or n == "(relative)"]
                offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {fn.name}() imports {h}" for h in hits]
    assert offenders == []


def test_functions_are_short_or_say_why():
    """No function runs over 60 lines unless a `# length:` comment inside it gives the reason."""
    offenders = []
    for path in SOURCES:
        lines = path.read_text(encoding="utf-8").splitlines()
        for fn in _functions(ast.parse("\n".join(lines))):
            body = lines[fn.lineno - 1 : fn.end_lineno]
            if len(body) > MAX_FUNCTION_LINES and not any("# length:" in line for line in body):
                offenders.append(f"{path.relative_to(ROOT)}:{fn.lineno} {fn.name}() has {len(body)} lines")
    assert offenders == []


@pytest.mark.parametrize("package", PACKAGES)
def test_public_modules_list_their_names(package):
    """Every library module declares `__all__`, and every name in it exists."""
    problems = []
    for path in sorted((ROOT / package).glob("*.py")):
        if path.name == "__init__.py" or path.name.startswith("_") or path.name == "__main__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        declared = [n for n in tree.body if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in n.targets)]
        if not declared:
            problems.append(f"{path.relative_to(ROOT)} has no __all__")
            continue
        defined = set()
        for n in tree.body:
            if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
                defined.add(n.name)
            elif isinstance(n, ast.Assign | ast.AnnAssign):
                defined |= {t.id for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}
            elif isinstance(n, ast.Import | ast.ImportFrom):
                defined |= {(a.asname or a.name).split(".")[0] for a in n.names}
        names = ast.literal_eval(declared[0].value)
        problems += [f"{path.relative_to(ROOT)}: __all__ names {n!r}, which it does not define" for n in names if n not in defined]
    assert problems == []


@pytest.mark.parametrize("package", PACKAGES)
def test_public_functions_are_typed(package):
    """Every function a library module lists in `__all__` (and the methods of the classes it lists) annotates its parameters and return."""
    problems = []
    for path in sorted((ROOT / package).glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        listed = set()
        for n in tree.body:
            if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in n.targets):
                listed = set(ast.literal_eval(n.value))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in listed:
                functions = [node]
            elif isinstance(node, ast.ClassDef) and node.name in listed:
                functions = [m for m in node.body if isinstance(m, ast.FunctionDef) and (not m.name.startswith("_") or m.name == "__init__")]
            else:
                continue
            for fn in functions:
                a = fn.args
                params = [p for p in a.posonlyargs + a.args + a.kwonlyargs if p.arg not in ("self", "cls")]
                params += [p for p in (a.vararg, a.kwarg) if p is not None]
                missing = [p.arg for p in params if p.annotation is None]
                if fn.returns is None and fn.name != "__init__":
                    missing.append("return")
                if missing:
                    problems.append(f"{path.relative_to(ROOT)}:{fn.lineno} {fn.name}() lacks annotations for {missing}")
    assert problems == []
