"""The house rules, checked with the real tools: the layers contract and the linter.

The layers (top to bottom) are declared once, in pyproject.toml's ``[tool.importlinter]``:
``tools > benchmarks > autocomp_exo > lowering | grammars > gemmini``. A deliberate upward
import in a copy of the tree must break the contract, so the check can fail.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gemmini", "lowering", "grammars", "autocomp_exo", "benchmarks", "tools")


def _tool(name: str) -> str:
    """Path of a console script installed next to this interpreter (or on PATH)."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: install the test extra, "
                    "python3 -m pip install -e '.[test]'")
    return found


def _lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([_tool("lint-imports"), "--no-cache"], cwd=tree,
                          capture_output=True, text=True, timeout=300)


def _copy_tree(dest: Path) -> Path:
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, dest / pkg,
                        ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def test_layers_contract_is_kept():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


def test_upward_import_breaks_the_contract(tmp_path):
    tree = _copy_tree(tmp_path)
    model = tree / "gemmini" / "config.py"
    model.write_text(model.read_text() + "\nfrom autocomp_exo import settings  # upward\n")
    result = _lint_imports(tree)
    assert result.returncode != 0
    assert "gemmini.config -> autocomp_exo.settings" in result.stdout


def test_model_layer_reads_no_c_text(tmp_path):
    tree = _copy_tree(tmp_path)
    timing = tree / "gemmini" / "timing.py"
    timing.write_text(timing.read_text() + "\nimport lark  # the model must not parse C\n")
    result = _lint_imports(tree)
    assert result.returncode != 0
    assert "gemmini.timing -> lark" in result.stdout


def test_ruff_clean():
    result = subprocess.run([_tool("ruff"), "check", "--no-cache", "."], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
