"""Golden files: what the printers write for Exo's output (review diffs when they change).

Regenerate after an intended change with:  UPDATE_GOLDEN=1 python -m pytest tests/test_printers_golden.py
"""

import os
from pathlib import Path

import pytest

from lowering.parser import parse_c
from lowering.print_compact import to_compact
from lowering.print_toolchain import to_toolchain_c

DATA = Path(__file__).resolve().parent / "data"
GOLDEN = DATA / "golden"
CASES = [("gemm_64x64x64", "compact", to_compact), ("gemm_64x64x64", "toolchain", to_toolchain_c),
         ("conv_1x22x22x16", "compact", to_compact),
         ("conv_1x22x22x16", "toolchain", to_toolchain_c)]


@pytest.mark.parametrize("name,kind,printer", CASES)
def test_golden(name, kind, printer):
    text = printer(parse_c((DATA / "exo_c" / f"{name}.c").read_text()))
    path = GOLDEN / f"{name}.{kind}.c"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text()
