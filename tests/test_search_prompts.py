"""Prompt rendering: ISA text per configuration, section order, feedback, menu."""

import random
import re

import pytest

from autocomp_exo.prompts import builder
from autocomp_exo.proposers.base import Candidate, Feedback, Plan
from gemmini.errors import ConfigError
from gemmini.isa import SPECS

FB = Feedback(cycles=12345, utilization=0.25, sp_kib_used=8.0, sp_kib_total=256.0,
              acc_kib_used=60.0, acc_kib_total=64.0, bound="load")
CODE = "void k(int8_t A[16][16]) {\n  fence();\n}\n"
CAND = Candidate(id="abc", fn=None, code=CODE, cycles=12345, feedback=FB)


@pytest.mark.parametrize("name,dim,sp_kb,acc_kb,in_type", [
    ("int8_16", 16, 256, 64, "int8"), ("int8_32", 32, 512, 128, "int8"),
    ("fp32_4", 4, 256, 64, "float32")])
def test_isa_text_follows_config(name, dim, sp_kb, acc_kb, in_type):
    text = builder.isa_text(name)
    assert f"a {dim}x{dim} systolic array ({in_type} inputs" in text
    assert f"Scratchpad: {sp_kb} KB" in text
    assert f"Accumulator: {acc_kb} KB" in text
    assert f"one row holds {dim} elements" in text


def test_isa_lists_every_instruction_but_excluded():
    text = builder.isa_text("int8_16")
    for op in ("config_ex", "config_ld", "config_st", "mvin", "mvin2", "mvin3", "mvout",
               "preload", "compute_preloaded", "compute_accumulated", "fence"):
        assert re.search(rf"^- {op}\(", text, re.M), op
    assert "loop_ws(" not in text
    assert "loop_ws(" in builder.isa_text("int8_16", exclude=())


def test_isa_lines_are_the_table_signatures_and_summaries():
    text = builder.isa_text("int8_16", exclude=())
    # the compact spellings, written out by hand (config_ex's shortest form omits shift)
    for sig in ("config_ex(dataflow, act, A_stride, A_transpose, B_transpose)",
                "config_ld(dram_stride, scale, block_stride, id)",
                "config_st(dram_stride, act, scale)",
                "mvin(dram_addr, local_addr, cols, rows)",
                "mvout(dram_addr, local_addr, cols, rows)",
                "preload(B_addr, C_addr, B_cols, B_rows, C_cols, C_rows)",
                "compute_accumulated(A_addr, D_addr, A_cols, A_rows, D_cols, D_rows)",
                "fence()"):
        assert re.search(rf"^- {re.escape(sig)}: \S", text, re.M), sig
    lines = [ln for ln in text.splitlines() if ln.startswith("- ") and "(" in ln.split()[1]]
    assert len(lines) == len(SPECS)
    for line, spec in zip(lines, SPECS.values()):
        assert line.endswith(": " + spec.summary)


def test_plan_prompt_sections_in_method_order():
    menu = builder.load_menu("gemm")[:3]
    (system, user) = builder.plan_messages(CAND, menu, config="int8_16", iteration=3,
                                           total_iterations=8)
    assert system["role"] == "system" and user["role"] == "user"
    text = user["content"]
    marks = ["## The accelerator", "## Current code", "## Performance of the current code",
             "## Optimization menu", "## Hardware parameters", "## Rules", "## Your task",
             "iteration 3 of 8"]
    positions = [text.index(m) for m in marks]
    assert positions == sorted(positions)
    assert "fence();" in text
    offered = text.split("## Optimization menu")[1].split("##")[0]
    assert "1. Change the loop tiling" in offered and "4. " not in offered


def test_feedback_memory_lines_and_nudge():
    text = builder.feedback_text(FB)
    assert "12345 cycles" in text
    assert "8 KB out of 256 KB" in text and "60 KB out of 64 KB" in text
    assert "scratchpad is far from full" in text          # 8 of 256: nudge
    assert "accumulator is far from full" not in text     # 60 of 64: no nudge
    assert "bounded by load" in text
    busy = Feedback(**{**FB.__dict__, "details": {"busy": {"cpu": 10, "load": 20}}})
    assert "- Busy cycles per engine: cpu 10, load 20.\n" in builder.feedback_text(busy)


def test_implement_prompt_order_and_example():
    plan = Plan("tiling", "Tile i and j by 2.", "x")
    menu = {m.key: m for m in builder.load_menu("gemm")}
    (_, user) = builder.implement_messages(CAND, plan, menu["tiling"], config="int8_32", example=True)
    text = user["content"]
    marks = ["## The accelerator", "## Current code", "## Plan to apply",
             "## Example of the transformation", "## Rules", "## Your task"]
    positions = [text.index(m) for m in marks]
    assert positions == sorted(positions)
    assert "Tile i and j by 2." in text and "mvin(0, acc + (ii * 2 + jj) * 32, 32, 32)" in text
    (_, plain) = builder.implement_messages(CAND, plan, menu["tiling"])
    assert "## Example" not in plain["content"]


def test_menu_kinds_and_errors(tmp_path):
    gemm, linalg = builder.load_menu("gemm"), builder.load_menu("linalg")
    assert [m.number for m in gemm] == list(range(1, 18))
    assert len(linalg) == 23 and {m.key for m in linalg} >= {"bias_path", "remove_fences"}
    with pytest.raises(ConfigError, match="unknown workload kind"):
        builder.load_menu("fft")
    bad = tmp_path / "menu.toml"
    bad.write_text('[[item]]\nnumber = 1\nkey = "a"\ntext = "b"\ncolour = "red"\n')
    with pytest.raises(ConfigError, match="colour"):
        builder.load_menu("gemm", bad)


def test_dropout_rate_and_never_empty():
    menu = builder.load_menu("gemm")
    rng = random.Random(1)
    kept = [len(builder.dropout(menu, 0.7, rng)) for _ in range(2000)]
    assert 0.27 < sum(kept) / (2000 * len(menu)) < 0.33
    assert all(len(builder.dropout(menu, 1.0, rng)) == 1 for _ in range(20))
