"""Every hardware check raises HardwareError naming the instruction and its line."""

import numpy as np
import pytest

from gemmini import model
from gemmini.config import get_config
from gemmini import ir
from gemmini.errors import HardwareError
from tests.model_helpers import ACC, ACCUMULATE, GARBAGE, I, config_ld, config_st, dram, fn, loop

A16 = ("A", "i8", (16, 16), True)
OUT = ("OUT", "i8", (16, 16), False)


def fails(f, match, config=None, **inputs):
    inputs.setdefault("A", np.ones((16, 16), np.int8))
    with pytest.raises(HardwareError, match=match) as ei:
        model.run(f, inputs, config)
    return ei.value


def bad(instr_builder, *pre, params=(A16, OUT), match):
    """A program whose last instruction (line 999) is the bad one."""
    f = fn(list(params), *pre, instr_builder)
    err = fails(f, match)
    assert err.line == 999, str(err)
    assert "line 999" in str(err) or str(err).startswith("999:") or ":999:" in str(err) \
        or err.where() == "999"
    return err


def test_mvin_rows_over_dim():
    err = bad(I("mvin", dram("A", 0), 0, 16, 17, line=999), config_ld(16), match="rows=17")
    assert str(err).startswith("999: mvin:")


def test_mvin_cols_over_limit_scratchpad_and_accumulator():
    bad(I("mvin", dram("A", 0), 0, 65, 1, line=999), config_ld(16), match="cols=65")
    bad(I("mvin", 0, ACC, 17, 16, line=999), config_ld(0), match="cols=17.*accumulator")


def test_local_address_outside_scratchpad_and_accumulator():
    bad(I("mvin", dram("A", 0), 16384 - 8, 16, 16, line=999), config_ld(16),
        match="scratchpad rows")
    bad(I("mvin", 0, ACC | 1020, 16, 16, line=999), config_ld(0), match="accumulator rows")


def test_dram_access_outside_array():
    bad(I("mvin", dram("A", 16 * 15), 0, 16, 2, line=999), config_ld(16),
        match="outside array 'A'")
    bad(I("mvin", dram("A", 0), 0, 16, 16, line=999), config_ld(17), match="outside array")


def test_read_of_rows_never_written():
    bad(I("mvout", dram("OUT", 0), 32, 16, 16, line=999), config_st(16), match="never written")
    bad(I("mvout", dram("OUT", 0), ACC, 16, 16, line=999), config_st(16), match="never written")


def test_accumulate_into_unwritten_accumulator_rows():
    bad(I("mvin", dram("A", 0), ACC | ACCUMULATE, 16, 16, line=999), config_ld(16),
        match="never written")


def test_compute_reading_unwritten_scratchpad():
    bad(I("compute_preloaded", 512, GARBAGE, 16, 16, 16, 16, line=999),
        config_ld(16), I("mvin", dram("A", 0), 0, 16, 16), I("mvin", 0, ACC, 16, 16),
        I("preload", 0, ACC | ACCUMULATE, 16, 16, 16, 16), match="never written")


def test_compute_without_preload():
    bad(I("compute_preloaded", 0, GARBAGE, 16, 16, 16, 16, line=999),
        config_ld(16), I("mvin", dram("A", 0), 0, 16, 16), match="without a preload")


def test_preload_never_used():
    bad(I("preload", 0, GARBAGE, 16, 16, 16, 16, line=999),
        config_ld(16), I("mvin", dram("A", 0), 0, 16, 16), match="never followed")


def test_compute_dims_over_dim():
    f = fn([A16, OUT], config_ld(16), I("mvin", dram("A", 0), 0, 16, 16),
           I("preload", 0, ACC, 16, 16, 16, 17, line=999),
           I("compute_preloaded", 0, GARBAGE, 16, 16, 16, 16, line=1000))
    assert fails(f, "preload: C_rows=17 outside 1..16").line == 999


def test_mvin_before_config_ld_and_mvout_before_config_st():
    bad(I("mvin2", dram("A", 0), 0, 16, 16, line=999), config_ld(16),
        match="mvin2: used before config_ld.*id 1")
    bad(I("mvout", dram("OUT", 0), 0, 16, 16, line=999), config_ld(16),
        I("mvin", dram("A", 0), 0, 16, 16), match="mvout: used before config_st")


def test_garbage_local_address_in_a_move():
    bad(I("mvin", dram("A", 0), GARBAGE, 16, 16, line=999), config_ld(16), match="garbage")


def test_runaway_loop_hits_instruction_cap():
    cfg = get_config().with_timing(max_instructions=1000)
    f = fn([A16, OUT], config_ld(16),
           loop("i", 10**9, I("mvin", dram("A", 0), 0, 16, 16)))
    with pytest.raises(HardwareError, match="max_instructions"):
        model.run(f, {"A": np.ones((16, 16), np.int8)}, cfg)


def test_runaway_sequential_loop_hits_cap():
    cfg = get_config().with_timing(max_instructions=1000)
    f = fn([A16, OUT], ir.Decl("x", "int", ir.Const(0)),
           loop("i", 10**9, ir.Assign("x", "+=", ir.Const(1))))
    with pytest.raises(HardwareError, match="max_instructions"):
        model.run(f, {"A": np.ones((16, 16), np.int8)}, cfg)


def test_division_by_zero_in_address_expression():
    f = fn([A16, OUT], config_ld(16),
           loop("i", 4, I("mvin", dram("A", 0), ir.BinOp("/", ir.Const(16), ir.Var("i")),
                          16, 16, line=999)))
    err = fails(f, "division by zero")
    assert err.line == 999 and "mvin" in str(err)


def test_undefined_variable():
    fails(fn([A16, OUT], config_ld(16), I("mvin", dram("A", 0), "nowhere", 16, 16, line=999)),
          "undefined variable 'nowhere'")


def test_missing_scalar_and_wrong_array_size():
    f = fn([A16, ("s", "int", (), False), OUT], config_ld(16))
    with pytest.raises(HardwareError, match="'s'"):
        model.run(f, {"A": np.ones((16, 16), np.int8)})
    with pytest.raises(HardwareError, match="256"):
        model.run(f, {"A": np.ones(10, np.int8), "s": 1})


def test_loop_ws_too_big_for_half_the_scratchpad():
    f = fn([A16, OUT], config_st(16),
           I("loop_ws", 32, 32, 32, 0, 0, 0, dram("A", 0), dram("A", 0), 0, dram("OUT", 0),
             16, 16, 0, 16, 0, 0, 0, 0, 0, 0, line=999))
    assert fails(f, "half the scratchpad").line == 999

