"""Host emulator on the fp32 configuration (``fp32_4``): instruction semantics against
hand-computed float32 values, the TinyMPC baselines against the reference, the model and
numpy's float64 equations, and random exact programs against the model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from benchmarks.baselines.tinympc_hand import hand_proc
from gemmini import model
from gemmini.config import ACC_BIT, ACCUMULATE_BIT, GARBAGE_ADDR, get_config
from gemmini.errors import ConfigError
from lowering import tinympc
from lowering.emulator.build import config_defines, run_c, run_ir
from lowering.emulator.check import check_on_emulator, emulator_outputs
from lowering.exo_to_c import compile_proc
from lowering.parser import parse_c
from lowering.reference import EXACT, TOLERANCE, check, check_sets
from tests.model_helpers import I, config_ex, config_ld, config_st, dram, fn

CONFIG = "fp32_4"
DIM = get_config(CONFIG).dim
ROW = DIM * 4                       # bytes of one row of floats
F32 = np.float32
ACC, ACCUM, G = ACC_BIT, ACCUMULATE_BIT, GARBAGE_ADDR


def run(body: str, i, o_shape=(8, DIM), **kw):
    text = f'#include "gemmini.h"\nvoid k(float* o, const float* i) {{\n{body}\n}}\n'
    inputs = {"o": np.zeros(o_shape, F32), "i": np.asarray(i, F32)}
    return run_c(text, inputs, config=CONFIG, **kw)


# ---------------------------------------------------------------------------
# instruction semantics
# ---------------------------------------------------------------------------

def test_float_moves_scale_without_rounding_and_zero_mvins_write_plus_zero():
    i = np.array([[0.3, -1.25, 7.0, 1e-3], [2.5, -3.0, 0.0, 1e30], [0.1, 0.2, -0.4, 5.0]], F32)
    r = run(f"""
      gemmini_extended3_config_ld({ROW}, 0.5f, 0, 0);
      gemmini_extended_mvin(i, {ACC}, {DIM}, 2);                 /* 0.5 * i[0:2] */
      gemmini_extended3_config_ld({ROW}, -1.0f, 0, 1);
      gemmini_extended_mvin2(i + 8, {ACC | ACCUM}, {DIM}, 1);    /* row 0 -= i[2] */
      gemmini_extended_mvin2(0, {ACC} + 2, {DIM}, 1);            /* zeros, not -0.0 */
      gemmini_extended_config_st({ROW}, 0, 1.0f);
      gemmini_extended_mvout(o, {ACC}, {DIM}, 3);
      gemmini_extended_config_st({ROW}, 1, -2.0f);
      gemmini_extended_mvout(o + 12, {ACC}, {DIM}, 2);           /* relu(-2 acc) */
    """, i)
    o = r.outputs["o"]
    row0 = F32(0.5) * i[0] - i[2]               # float32: one product, one sum
    np.testing.assert_array_equal(o[0], row0)
    np.testing.assert_array_equal(o[1], F32(0.5) * i[1])
    assert not o[2].any() and not np.signbit(o[2]).any()
    np.testing.assert_array_equal(o[3:5], np.maximum(F32(-2) * np.stack([row0, F32(0.5) * i[1]]),
                                                     F32(0)))
    assert o[1, 3] == F32(5e29)                 # no saturation


def test_compute_chains_products_in_k_order_then_adds_to_the_accumulator():
    """Row 0 of A is [1e8, 1, -1e8, 1]: the chain 0 + 1e8 + 1 - 1e8 + 1 gives 1 in float32
    (exactly 2, pairwise 0). Row 1 accumulates [1e8, 1] onto -1e8: the array's sum 1e8 + 1
    rounds to 1e8, so the accumulator gets 0 (adding term by term onto -1e8 would give 1).
    Row 2 lands in the scratchpad unsaturated."""
    a = np.array([[1e8, 1, -1e8, 1], [1e8, 1, 0, 0], [1000, 0.5, 0, 0], [0, 0, 0, 0]], F32)
    w = np.zeros((DIM, DIM), F32)
    w[:, 0] = 1.0
    acc0 = np.zeros((DIM, DIM), F32)
    acc0[1, 0] = -1e8
    r = run(f"""
      gemmini_extended_config_ex(WS, 0, 0, 1, 0, 0);
      gemmini_extended3_config_ld({ROW}, 1.0f, 0, 0);
      gemmini_extended_mvin(i, 0, {DIM}, {DIM});                 /* A: rows 0..3 */
      gemmini_extended_mvin(i + 16, {DIM}, {DIM}, {DIM});        /* W: rows 4..7 */
      gemmini_extended_mvin(i + 32, {ACC}, {DIM}, {DIM});
      gemmini_extended_preload({DIM}, {ACC | ACCUM}, {DIM}, {DIM}, {DIM}, {DIM});
      gemmini_extended_compute_preloaded(0, {G}, {DIM}, {DIM}, {DIM}, {DIM});
      gemmini_extended_preload({G}, 8, {DIM}, {DIM}, {DIM}, {DIM});
      gemmini_extended_compute_accumulated(0, {G}, {DIM}, {DIM}, {DIM}, {DIM});
      gemmini_extended_config_st({ROW}, 0, 1.0f);
      gemmini_extended_mvout(o, {ACC}, {DIM}, {DIM});
      gemmini_extended_mvout(o + 16, 8, {DIM}, {DIM});
    """, np.concatenate([a, w, acc0]))
    o = r.outputs["o"]
    assert list(o[:4, 0]) == [1.0, 0.0, 1000.5, 0.0]
    assert list(o[4:, 0]) == [1.0, 1e8, 1000.5, 0.0]
    assert not o[:, 1:].any()


def test_a_transposed_preload_reads_its_rows_as_the_columns_of_the_weights():
    """With config_ex's B_transpose, preload(B, C, B_cols, B_rows, ...) reads B_cols
    scratchpad rows of B_rows elements and the weights are their transpose: a row of A
    times them is A times the stored rows' transpose. Two stored rows of four give four
    by two weights, so the result row has two elements."""
    a = np.array([[1, 2, 3, 4]], F32)
    stored = np.array([[1, 0, -1, 2], [3, 1, 0, -2]], F32)
    r = run(f"""
      gemmini_extended_config_ex(WS, 0, 0, 1, 0, 1);
      gemmini_extended3_config_ld({ROW}, 1.0f, 0, 0);
      gemmini_extended_mvin(i, 0, {DIM}, 1);                     /* A: row 0 */
      gemmini_extended_mvin(i + {DIM}, {DIM}, {DIM}, 2);         /* stored: rows 4, 5 */
      gemmini_extended_preload({DIM}, {ACC}, 2, {DIM}, 2, 1);
      gemmini_extended_compute_preloaded(0, {G}, {DIM}, 1, 2, 1);
      gemmini_extended_config_st({ROW}, 0, 1.0f);
      gemmini_extended_mvout(o, {ACC}, 2, 1);
    """, np.concatenate([a.ravel(), stored.ravel()]))
    np.testing.assert_array_equal(r.outputs["o"][0, :2], [1 + 0 - 3 + 8, 3 + 2 + 0 - 8])


def test_loop_ws_reads_and_writes_float_elements():
    """C = D + A B through the loop FSM, strides in elements (small integers: exact)."""
    rng = np.random.default_rng(4)
    a = rng.integers(-4, 5, (DIM, 2 * DIM)).astype(F32)
    b = rng.integers(-4, 5, (2 * DIM, DIM)).astype(F32)
    d = rng.integers(-4, 5, (DIM, DIM)).astype(F32)
    r = run(f"""
      gemmini_extended_config_st({ROW}, 0, 1.0f);
      gemmini_loop_ws(1, 1, 2, 0, 0, 0, i, i + {2 * DIM * DIM}, i + {4 * DIM * DIM}, o,
                      {2 * DIM}, {DIM}, {DIM}, {DIM}, 0, 0, 0, 0, 1, 0);
    """, np.concatenate([a.ravel(), b.ravel(), d.ravel()]), o_shape=(DIM, DIM))
    np.testing.assert_array_equal(r.outputs["o"], d + a @ b)


def test_memory_views_have_the_configuration_types():
    r = run(f"""
      gemmini_extended3_config_ld({ROW}, 1.0f, 0, 0);
      gemmini_extended_mvin(i, 3, {DIM}, 1);
    """, np.arange(DIM, dtype=F32) + 0.5, keep_memory=True)
    assert r.scratchpad.dtype == F32 and r.accumulator.dtype == F32
    assert r.scratchpad.shape == (get_config(CONFIG).sp_rows, DIM)
    np.testing.assert_array_equal(r.scratchpad[3], np.arange(DIM) + 0.5)
    assert (r.scratchpad[4].view(np.uint32) == 0x5A5A5A5A).all()     # never written
    assert (r.accumulator.view(np.uint32) == 0x5A5A5A5A).all()


def test_element_types_come_from_the_configuration():
    assert config_defines(CONFIG)["EMU_FLOAT"] == 1
    assert config_defines("int8_16")["EMU_FLOAT"] == 0
    mixed = dataclasses.replace(get_config("int8_16"), name="mixed", acc_dtype="float32")
    with pytest.raises(ConfigError, match="mixed"):
        config_defines(mixed)


# ---------------------------------------------------------------------------
# the TinyMPC baselines
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def workloads(tinympc_workloads):
    return tinympc_workloads


BASELINES = [(name, kind) for name in ("tinympc_forward", "tinympc_backward", "tinympc_admm")
             for kind in ("straightforward", "hand")]


@pytest.mark.parametrize("name, kind", BASELINES)
def test_tinympc_baselines_on_the_emulator(workloads, name, kind):
    """Exo's C on the emulator matches the reference (ADMM, additions in the reference's
    order, bit for bit; the products, summed block by block in the array, within the fp32
    tolerance), the model by the same rules, numpy's float64 equations within the
    tolerance; the toolchain printer's C gives the same bits and instruction counts."""
    w = workloads[name]
    c = compile_proc(w.mapped if kind == "straightforward" else hand_proc(name))
    parsed = parse_c(c.c_text, filename=f"{c.name}.c", function=c.name)
    sets = w.input_sets(w, (0, 1))
    outs = list(emulator_outputs(c.c_text, sets, fn=parsed, h_text=c.h_text, config=CONFIG))
    rule = EXACT if name == "tinympc_admm" else TOLERANCE
    vs_reference = check_sets(outs, sets)
    assert vs_reference.ok and vs_reference.rule == rule, vs_reference.message
    on_model = [model.run(parsed, s.inputs, CONFIG, timing=False).outputs for s in sets]
    vs_model = check(outs, [{k: m[k] for k in s.expected} for m, s in zip(on_model, sets)], sets)
    assert vs_model.ok and vs_model.rule == rule, vs_model.message
    for s, out in zip(sets, outs):
        values = {**s.inputs, **{k: np.zeros_like(v) for k, v in s.expected.items()
                                 if k not in s.inputs}}
        want = tinympc.numpy_reference(name, values)
        for k, expected in want.items():
            bound = 64 * 2.0 ** -24 * s.magnitude[k]
            assert (np.abs(out[k] - expected) <= bound).all(), (s.name, k)
    first = sets[0]
    direct = run_c(c.c_text, first.inputs, params=parsed.params, context=parsed.context,
                   function=parsed.name, h_text=c.h_text, config=CONFIG)
    printed = run_ir(parsed, first.inputs, CONFIG)
    assert printed.counts == direct.counts and direct.counts["mvout"] > 0
    for k in first.expected:
        np.testing.assert_array_equal(printed.outputs[k], direct.outputs[k])


def test_a_broken_kernel_fails_on_the_emulator(workloads):
    w = workloads["tinympc_forward"]
    c = compile_proc(w.mapped)
    old = "gemmini_extended_config_st(((1)) * 4, 0, -1.0f)"      # u = -(Kinf x + d)
    assert old in c.c_text
    sets = w.input_sets(w, (0,), ("nominal",))
    assert check_on_emulator(c.c_text, sets, h_text=c.h_text, config=CONFIG).ok
    broken = check_on_emulator(c.c_text.replace(old, old.replace("-1.0f", "1.0f")), sets,
                               h_text=c.h_text, config=CONFIG)
    assert not broken.ok and broken.message.startswith("set 'nominal_s0': ")


def test_a_hardware_error_is_a_failed_check_naming_the_instruction(workloads):
    w = workloads["tinympc_admm"]
    c = compile_proc(w.mapped)
    bad = c.c_text.replace("((uint64_t) &u[", "((1ull << 40) + (uint64_t) &u[", 1)
    assert bad != c.c_text
    result = check_on_emulator(bad, w.input_sets(w, (0,), ("nominal",)), h_text=c.h_text,
                               config=CONFIG)
    assert not result.ok and "mvin" in result.message and "outside every array" in result.message


# ---------------------------------------------------------------------------
# random programs: emulator == model where float32 arithmetic is exact
# ---------------------------------------------------------------------------

SP_BLOCKS, ACC_BLOCKS = 4, 4


def random_program(rng: np.random.Generator, n_ops: int):
    """A random valid fp32 program on small integers, with scales of +-1, 2 and 0.5, so
    every product and sum is exact and any order of operations gives the same bits:
    loads (scaled, into the scratchpad or the accumulator, overwriting or adding), zero
    loads, products (preloaded or with the weights in the array, partial sizes, into the
    accumulator or the scratchpad) and stores (scale, ReLU)."""
    scales = (1.0, -1.0, 2.0, 0.5)
    body = [config_ex(), config_ld(ROW, 0, 1.0), config_st(ROW)]
    for b in range(SP_BLOCKS):
        body.append(I("mvin", dram("X", b * DIM * DIM), b * DIM, DIM, DIM))
    for b in range(ACC_BLOCKS):
        body.append(I("mvin", 0, ACC | (b * DIM), DIM, DIM))
    have_weights, outs = False, 0
    for _ in range(n_ops):
        kind = rng.choice(["load", "zero", "compute", "store"], p=[0.25, 0.1, 0.45, 0.2])
        dims = (int(rng.integers(1, DIM + 1)), int(rng.integers(1, DIM + 1)))
        if kind == "load":
            ld = int(rng.integers(0, 3))
            to_acc = rng.random() < 0.5
            local = (ACC | (ACCUM if rng.random() < 0.5 else 0) | (int(rng.integers(0, ACC_BLOCKS)) * DIM)
                     if to_acc else int(rng.integers(0, SP_BLOCKS)) * DIM)
            body.append(config_ld(ROW, ld, float(rng.choice(scales))))
            body.append(I(("mvin", "mvin2", "mvin3")[ld],
                          dram("X", int(rng.integers(0, 4)) * DIM * DIM), local, *dims))
        elif kind == "zero":
            body.append(I("mvin", 0, ACC | (int(rng.integers(0, ACC_BLOCKS)) * DIM), *dims))
        elif kind == "compute":
            preloaded = not have_weights or rng.random() < 0.7
            have_weights = True
            b = int(rng.integers(0, SP_BLOCKS)) * DIM if preloaded else G
            c = ACC | ACCUM | (int(rng.integers(0, ACC_BLOCKS)) * DIM)
            if rng.random() < 0.15:
                c = ACC | (int(rng.integers(0, ACC_BLOCKS)) * DIM)   # overwrite
            c_dims = (DIM, DIM) if c & ACCUM == 0 else dims
            body.append(I("preload", b, c, *dims, *c_dims))
            body.append(I("compute_preloaded" if preloaded else "compute_accumulated",
                          int(rng.integers(0, SP_BLOCKS)) * DIM, G, DIM, DIM, DIM, DIM))
        else:
            body.append(config_st(ROW, int(rng.integers(0, 2)), float(rng.choice(scales))))
            body.append(I("mvout", dram("O", outs * DIM * DIM),
                          ACC | (int(rng.integers(0, ACC_BLOCKS)) * DIM), DIM, DIM))
            outs += 1
    for b in range(ACC_BLOCKS):   # everything in the accumulator, at the end
        body.append(config_st(ROW))
        body.append(I("mvout", dram("O", (outs + b) * DIM * DIM), ACC | (b * DIM), DIM, DIM))
    n_out = (outs + ACC_BLOCKS) * DIM
    return fn([("X", "f32", (4 * DIM, DIM), True), ("O", "f32", (n_out, DIM), False)], *body)


@pytest.mark.parametrize("seed", range(6))
def test_random_exact_programs_agree_with_the_model(seed):
    rng = np.random.default_rng(seed)
    f = random_program(rng, 24)
    x = rng.integers(-4, 5, (4 * DIM, DIM)).astype(F32)
    got = run_ir(f, {"X": x}, CONFIG).outputs["O"]
    want = model.run(f, {"X": x}, CONFIG, timing=False).outputs["O"]
    np.testing.assert_array_equal(got, want)
    assert np.abs(want).max() > 0
