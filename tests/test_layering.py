"""The house keeps its shape (GUIDE.md, "The rooms"): imports run one way, a feature's pure
engine does no I/O, the top level is the design card's, and no source file outgrows 450 lines.

Walks every module's imports with ``ast`` (no import is executed)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

#: what each room must never import (``main.py`` wires them all and may import anything)
FORBIDDEN = {
    "bot": {"handlers"},  # transport knows no use case: the worker is handed a feed
    "scheduler": {"bot", "handlers"},
    "models": {"bot", "handlers", "scheduler"},
    "nlp": {"bot", "handlers", "models", "scheduler"},
}
#: a pure engine (``handlers/<feature>/engine/``) computes: no database, network or files
ENGINE_FORBIDDEN = {"bot", "models", "scheduler", "sqlalchemy", "sqlmodel", "aiohttp",
                    "psycopg", "aiosqlite", "asyncio", "socket", "subprocess", "os", "pathlib"}
TOP_LEVEL = {"bot", "handlers", "nlp", "models", "scheduler", "tests", "bench", "config", "docs",
             "data"}
MAX_LINES = 450
MAX_CLASS_LINES = 250


def sources() -> list[Path]:
    out = []
    for py in ROOT.rglob("*.py"):
        rel = py.relative_to(ROOT)
        if rel.parts[0].startswith(".") or rel.parts[0] in {"tests", "bench"} \
                or "migrations" in rel.parts or rel.parts[0] == "build":
            continue
        out.append(py)
    return out


def imports(py: Path) -> set[str]:
    """Every absolute module name ``py`` imports (``a.b.c`` for ``from a.b import c``)."""
    tree = ast.parse(py.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_imports_run_one_way():
    problems = []
    for py in sources():
        rel = py.relative_to(ROOT)
        bad = {n for n in imports(py) if n.split(".")[0] in FORBIDDEN.get(rel.parts[0], set())}
        if bad:
            problems.append(f"{rel} imports {sorted(bad)}")
    assert problems == []


def test_engines_do_no_io_and_stay_inside_their_feature():
    engines = [py for py in sources() if "engine" in py.relative_to(ROOT).parts[:-1]]
    assert engines, "no handlers/<feature>/engine/ found"
    problems = []
    for py in engines:
        rel = py.relative_to(ROOT)
        feature = rel.parts[1]
        for name in imports(py):
            top = name.split(".")[0]
            if top in ENGINE_FORBIDDEN or (
                    top == "handlers" and not name.startswith(f"handlers.{feature}.engine")):
                problems.append(f"{rel} imports {name}")
    assert problems == []


def test_top_level_is_the_design_card():
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")
                and (p / "__init__.py").exists()}
    assert packages <= TOP_LEVEL, packages - TOP_LEVEL


def test_no_source_file_over_450_lines_and_no_class_over_250():
    long_files, long_classes = [], []
    for py in sources():
        rel = py.relative_to(ROOT)
        text = py.read_text(encoding="utf-8")
        if text.count("\n") > MAX_LINES:
            long_files.append(f"{rel} ({text.count(chr(10))})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno > MAX_CLASS_LINES:
                long_classes.append(f"{rel}:{node.name} ({node.end_lineno - node.lineno})")
    assert long_files == [] and long_classes == []


def test_the_shared_checker_agrees():
    """GUIDE.md's own checker, when the shared folder is beside the checkout."""
    import subprocess
    import sys

    checker = ROOT.parent / "shared" / "tools" / "check_layering.py"
    if not checker.exists():
        return  # a clone on its own: the tests above check the same rules
    out = subprocess.run([sys.executable, str(checker)], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert "layering: 0 problems" in out.stdout, out.stdout


def test_one_time_zone():
    """The pure packages state the bot's zone themselves (they may not import models/); they
    must say the same as ``models.types.LOCAL_TZ``."""
    from handlers.dispatch.engine.shifts import TZ
    from models.types import LOCAL_TZ
    from nlp.timeexpr import SHANGHAI

    assert TZ == SHANGHAI == LOCAL_TZ
