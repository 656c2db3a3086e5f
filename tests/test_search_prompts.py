"""Prompt rendering: ISA text per configuration, section order, feedback, menu."""

import random
import re
from pathlib import Path

import pytest

from autocomp_exo.prompts import builder
from autocomp_exo.proposers.base import Candidate, Feedback, Plan
from gemmini.config import get_config
from gemmini.errors import ConfigError
from gemmini.isa import SPECS, summary_fields

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
                "config_ld(dram_stride, scale, id)",
                "config_st(dram_stride, act, scale)",
                "mvin(dram_addr, local_addr, cols, rows)",
                "mvout(dram_addr, local_addr, cols, rows)",
                "preload(B_addr, C_addr, B_cols, B_rows, C_cols, C_rows)",
                "compute_accumulated(A_addr, D_addr, A_cols, A_rows, D_cols, D_rows)",
                "fence()"):
        assert re.search(rf"^- {re.escape(sig)}[: ]", text, re.M), sig
    lines = [ln for ln in text.splitlines() if ln.startswith("- ") and "(" in ln.split()[1]]
    assert len(lines) == len(SPECS)
    for line, spec in zip(lines, SPECS.values()):
        summary = spec.summary.format(**summary_fields("int8"))
        assert line.startswith("- " + " or ".join(spec.signatures()) + ": " + summary)


def test_config_ld_is_documented_as_the_printers_write_it():
    """The issue's arity mismatch: the prompt showed config_ld with 4 operands while the
    code shows 3. Every arity the printed suite code uses must be a documented form,
    and the first documented form must be the one the code uses."""
    text = builder.isa_text("int8_16")
    line = next(ln for ln in text.splitlines() if ln.startswith("- config_ld("))
    forms = re.findall(r"config_ld\(([^)]*)\)", line.split(":")[0])
    arities = [len(f.split(", ")) for f in forms]
    assert arities[0] == 3 and sorted(arities) == [1, 2, 3, 4]
    assert "config_ld(dram_stride, scale, block_stride, id)" in line
    assert "block_stride = 16" in line and "id = 0" in line
    golden = (Path(__file__).parent / "data" / "golden" / "gemm_64x64x64.compact.c").read_text()
    used = {len(call.split(",")) for call in re.findall(r"config_ld\(([^;]*)\);", golden)}
    assert used and used <= set(arities) and 3 in used


def test_prompts_are_static_first_and_volatile_last():
    menu = builder.load_menu("gemm")[:3]
    (system, user) = builder.plan_messages(CAND, menu, config="int8_16")
    assert system["role"] == "system" and user["role"] == "user"
    static = ["## The accelerator", "## Instructions", "## Hardware parameters",
              "## What things cost", "## The accepted C subset", "## Rules",
              "## Worked example: computing with the weights already in the array"]
    positions = [system["content"].index(m) for m in static]
    assert positions == sorted(positions)
    volatile = ["## Current code", "## Performance of the current code",
                "## Optimization menu", "## Your task"]
    positions = [user["content"].index(m) for m in volatile]
    assert positions == sorted(positions)
    assert "fence();" in user["content"] and "fence();" not in system["content"]
    offered = user["content"].split("## Optimization menu")[1].split("##")[0]
    assert "1. Change the loop tiling" in offered and "4. " not in offered
    # the system message is the same for planning and implementing, and for any code
    other = Candidate(id="x", fn=None, code="void j() {\n}\n", cycles=1, feedback=FB)
    (sys2, _) = builder.implement_messages(other, Plan("tiling", "t", "x"), menu[0],
                                           config="int8_16")
    assert sys2 == system


def test_nothing_in_the_plan_prompt_counts_iterations():
    menu = builder.load_menu("gemm")
    (_, user) = builder.plan_messages(CAND, menu, config="int8_16")
    assert not re.search(r"iteration \d+ of \d+", user["content"], re.I)


def test_feedback_ranks_engines_and_names_the_causes():
    fb = Feedback(cycles=1000, utilization=0.5, sp_kib_used=8.0, sp_kib_total=256.0,
                  acc_kib_used=60.0, acc_kib_total=64.0, bound="execute",
                  details={"busy": {"cpu": 700, "load": 300, "execute": 900, "store": 10},
                           "bank_conflicts": 12, "stolen_cycles": 34, "exposed_preloads": 5,
                           "cpu_stall": 67, "ideal_cycles": 500,
                           "counts": {"mvin": 8, "preload": 4, "fence": 0}})
    text = builder.feedback_text(fb, "int8_16")
    assert "1,000 cycles" in text and "the ideal is 500 cycles" in text
    assert "bounded by execute" in text
    ranked = re.findall(r"^  - (\w+): ([\d,]+) \(margin ([\d,]+), ([\d.]+)%", text, re.M)
    assert ranked == [("execute", "900", "100", "10.0"), ("cpu", "700", "300", "30.0"),
                      ("load", "300", "700", "70.0"), ("store", "10", "990", "99.0")]
    tp = get_config("int8_16").timing
    slow = round(tp.block_cycles * tp.bank_conflict_factor)
    assert "Bank conflicts: 12 computes" in text
    assert f"({slow} instead of {tp.block_cycles} cycles each)" in text
    assert "Stolen cycles: 34 execute cycles" in text
    assert "Exposed preloads: 5 preloads" in text and "CPU stalls: 67 cycles" in text
    assert "- Instructions executed: mvin 8, preload 4." in text      # zero counts left out
    assert "8 KB out of 256 KB" in text and "60 KB out of 64 KB" in text


def test_hints_only_for_offered_menu_items():
    menu = {m.key: m for m in builder.load_menu("gemm")}
    # 8 KB of 256 used: the scratchpad hint; 60 of 64: no accumulator hint
    with_tiling = builder.hints_text(FB, [menu["tiling"], menu["unroll"]])
    assert with_tiling == ("The scratchpad is far from full: keeping more data on chip for "
                           f"reuse may help (item {menu['tiling'].number}).\n")
    assert builder.hints_text(FB, [menu["unroll"], menu["hoist"]]) == ""
    empty_acc = Feedback(**{**FB.__dict__, "acc_kib_used": 1.0})
    hint = builder.hints_text(empty_acc, [menu["unroll"], menu["tiling"]])
    assert "larger output tiles may help (item 1)" in hint
    assert "larger output tiles" not in builder.hints_text(empty_acc, [menu["unroll"]])


def test_cost_table_comes_from_the_timing_parameters():
    from gemmini.config import get_config
    text = builder.cost_text("int8_16")
    assert "issuing one instruction: 4; one loop iteration (compare, increment, branch): 4" \
        in text
    assert "Queues hold load 8, execute 16 and store 4 instructions" in text
    assert "a 16x16 int8 block: 16;" in text          # 256 bytes / 16 bytes per cycle
    assert "a 16x16 int32 block into the\n  accumulator: 64" in text   # 1024 / 16
    assert "16 cycles per 16x16x16 block; 28 when" in text               # 16 * 1.75
    assert "(16 rows of int8: 24)" in text                                # 8 + max(16, 16)
    changed = get_config("int8_16").with_timing(cpu_issue=9, rs_load=3, block_cycles=20,
                                                   bank_conflict_factor=2.0)
    text = builder.cost_text(changed)
    assert "issuing one instruction: 9;" in text and "Queues hold load 3," in text
    assert "20 cycles per 16x16x16 block; 40 when" in text
    assert "32 cycles per 32x32x32 block" in builder.cost_text("int8_32")


def test_cost_table_names_the_accumulator_port_cost_only_when_the_model_charges_it():
    from gemmini.config import get_config
    on = get_config("int8_16").with_timing(acc_port_contention=True)
    off = get_config("int8_16").with_timing(acc_port_contention=False)
    assert "accumulator banks too" in builder.cost_text(on)
    assert "accumulator banks too" not in builder.cost_text(off)


def test_implement_prompt_order_and_example():
    plan = Plan("tiling", "Tile i and j by 2.", "x")
    menu = {m.key: m for m in builder.load_menu("gemm")}
    (system, user) = builder.implement_messages(CAND, plan, menu["tiling"], config="int8_32",
                                                example=True)
    text = user["content"]
    marks = ["## Current code", "## Plan to apply", "## Your task"]
    positions = [text.index(m) for m in marks]
    assert positions == sorted(positions)
    assert "Tile i and j by 2." in text
    assert "one optimization plus the changes it strictly\nrequires" in text
    assert "mvin(0, acc + (ii * 2 + jj) * 32, 32, 32)" in system["content"]
    (plain_system, _) = builder.implement_messages(CAND, plan, menu["tiling"])
    assert "## Example of the transformation" not in plain_system["content"]


def test_rules_allow_the_changes_an_optimization_requires():
    rules = builder.template("rules").template
    assert "Apply one optimization plus the changes it strictly requires" in rules
    assert "Apply only the chosen optimization" not in rules


def test_reuse_example_promises_no_speedup():
    text = builder.render("example_reuse", dim=16).lower()
    assert "compute_accumulated" in text and "preload(~((uint32_t)0)" in text
    for word in ("faster", "saves cycles", "speed"):
        assert word not in text
    menu_text = " ".join(m.text for m in builder.load_menu("gemm")).lower()
    isa = builder.isa_text("int8_16").lower()
    for text in (menu_text, isa):
        assert "faster" not in text.split("compute_accumulated")[0][-80:]


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


def test_the_reuse_example_computes_what_it_says():
    """The worked example, put into a kernel: two A blocks times one B block, with the
    weights preloaded once, must give both products (numpy, raw accumulator values)."""
    import numpy as np

    from gemmini import model
    from lowering.parser import parse_c
    fragment = builder.render("example_reuse", dim=16).split("```c\n")[1].split("```")[0]
    src = ("void k(int8_t A[32][16], int8_t B[16][16], int32_t C[32][16]) {\n"
           "  config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, false);\n"
           "  config_ld(16, 1.0f, 0);\n  config_st(64);\n"
           "  uint32_t a_sp = 0;\n  uint32_t b_sp = 64;\n  uint32_t acc = 1u << 31;\n"
           "  mvin(&A[0][0], a_sp, 16, 16);\n  mvin(&A[16][0], a_sp + 16, 16, 16);\n"
           "  mvin(&B[0][0], b_sp, 16, 16);\n"
           "  mvin(0, acc, 16, 16);\n  mvin(0, acc + 16, 16, 16);\n"
           + fragment +
           "  mvout(&C[0][0], acc | (1u << 29), 16, 16);\n"
           "  mvout(&C[16][0], (acc + 16) | (1u << 29), 16, 16);\n  fence();\n}\n")
    rng = np.random.default_rng(3)
    a = rng.integers(-128, 128, (32, 16), dtype=np.int8)
    b = rng.integers(-128, 128, (16, 16), dtype=np.int8)
    out = model.run(parse_c(src), {"A": a, "B": b, "C": np.zeros((32, 16), np.int32)},
                    timing=False).outputs["C"]
    np.testing.assert_array_equal(out, a.astype(np.int64) @ b.astype(np.int64))
