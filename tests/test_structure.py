"""The shape of the code: front ends use only the engine's public API; the wheel ships no training."""
import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import engine

ROOT = Path(__file__).resolve().parent.parent


def engine_imports(path: Path):
    """(line, what) for every import of the engine in a Python file: "engine.x" modules and names."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "engine":
            if node.module != "engine":
                yield node.lineno, node.module
            else:
                for alias in node.names:
                    yield node.lineno, f"engine.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "engine" and alias.name != "engine":
                    yield node.lineno, alias.name


@pytest.mark.parametrize("tree", ["plugin", "installer"])
def test_front_ends_use_only_the_public_api(tree):
    public = {f"engine.{name}" for name in engine.__all__}
    bad = [f"{f.relative_to(ROOT)}:{line}: {what}" for f in sorted((ROOT / tree).rglob("*.py"))
           for line, what in engine_imports(f) if what not in public]
    assert not bad, "import these from `engine` (re-export them in engine/__init__.py if needed):\n" + "\n".join(bad)


def test_engine_never_imports_front_ends_or_training():
    bad = []
    for f in sorted((ROOT / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            bad += [f"{f.relative_to(ROOT)}: {n}" for n in names
                    if n.split(".")[0] in {"training", "plugin", "installer", "PyQt5", "gi", "gimpfu"}]
    assert not bad, bad


def test_wheel_has_the_engine_and_front_ends_but_no_training(tmp_path):
    src = tmp_path / "src"  # a copy: building in the checkout would leave build/ and *.egg-info there
    ignore = shutil.ignore_patterns(".venv", ".git", "runs", "build", "dist", "*.egg-info", "__pycache__")
    shutil.copytree(ROOT, src, ignore=ignore)
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "-w", str(tmp_path), str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "deprecat" not in (r.stdout + r.stderr).lower(), "the build prints deprecation warnings"
    names = zipfile.ZipFile(next(tmp_path.glob("*.whl"))).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"engine", "plugin", "installer"}, tops
    assert "engine/weights/model.onnx" in names and "engine/weights/model.json" in names
    assert not any(n.startswith(("training/", "tests/", "bench/")) for n in names)


def module_imports(package: str) -> dict[str, set[str]]:
    """{module: the modules of the same package it imports}, lazy (in-function) imports included."""
    graph = {}
    for f in sorted((ROOT / package).rglob("*.py")):
        name = ".".join(f.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        found = set()
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from .x import y, from . import x
                    base = ".".join(name.split(".")[:-node.level + (f.name == "__init__.py")] + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            found |= {t for t in targets if t.split(".")[0] == package and (ROOT / (t.replace(".", "/") + ".py")).is_file()}
        graph[name] = found - {name}
    return graph


@pytest.mark.parametrize("package", ["engine", "training"])
def test_no_import_circles(package):
    graph, circles = module_imports(package), []

    def visit(node, path):
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                circles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif len(path) < 12:
                visit(nxt, path + [nxt])
    for start in graph:
        visit(start, [start])
    assert not circles, "import circles:\n" + "\n".join(sorted(set(circles))[:10])
