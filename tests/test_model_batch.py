"""Several input sets in one functional run (`gemmini.model.run_batch`, `gemmini.batch`):
outputs and reports bit for bit those of separate runs, and right by numpy."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from autocomp_exo.evaluation import ModelEvaluator
from autocomp_exo.search.evaluator import WRONG
from lowering.generators import fsm
from gemmini import batch, model
from gemmini.config import get_config
from benchmarks.sample_programs import basic_gemm
from gemmini.trace import build_trace
from gemmini import ir
from gemmini.errors import HardwareError
from benchmarks.numpy_reference import numpy_conv, numpy_gemm
from tests.model_helpers import ACC, GARBAGE, RAW, I, add, config_ex, config_ld, config_st, \
    dram, fn
from tests.test_model_random import build, ops_strategy

EXO_C = Path(__file__).parent / "data" / "exo_c"


@pytest.fixture
def machines(monkeypatch):
    """The number of input sets of every functional run, in order."""
    sizes = []

    class Spy(model.Machine):
        def run(self):
            sizes.append(self.n_sets)
            return super().run()

    monkeypatch.setattr(model, "Machine", Spy)
    return sizes


def check_batch(f, inputs_list, config=None):
    """run_batch against one `run` per set: same outputs (bytes), same first report."""
    runs = model.run_batch(f, inputs_list, config)
    assert len(runs) == len(inputs_list)
    for i, (inputs, got) in enumerate(zip(inputs_list, runs)):
        want = model.run(f, inputs, config, timing=(i == 0))
        assert got.outputs.keys() == want.outputs.keys()
        for name, w in want.outputs.items():
            g = got.outputs[name]
            assert g.dtype == w.dtype and g.shape == w.shape
            assert g.tobytes() == w.tobytes(), f"set {i}, output {name}"
        assert got.report == want.report
    return runs


def rand(shape, seed, lo=-128, hi=128, dtype=np.int8):
    return np.random.default_rng(seed).integers(lo, hi, shape).astype(dtype)


def test_gemm_sets_with_their_own_scale_and_relu(machines):
    M, N, K = 32, 64, 128
    sets = [dict(A=rand((M, K), s), B=rand((K, N), s + 10), scale=np.float32(sc), act=act)
            for s, (sc, act) in enumerate([(1 / 300, False), (1 / 300, True), (1 / 90, False),
                                           (1 / 2000, True)])]
    runs = check_batch(basic_gemm(M, N, K), sets)
    assert machines[0] == 4                       # one functional run for the four sets
    assert runs[0].report is not None and all(r.report is None for r in runs[1:])
    for st_, r in zip(sets, runs):
        np.testing.assert_array_equal(
            r.outputs["C"], numpy_gemm(st_["A"], st_["B"], st_["scale"], st_["act"]))


def test_exo_conv_with_partial_blocks(machines):
    from lowering.parser import parse_c
    f = parse_c((EXO_C / "conv_1x22x22x16.c").read_text())   # 20 x 20 outputs: 16 + 4 rows
    shapes = {p.name: p.shape for p in f.params}
    sets = [{"inp": rand(shapes["inp"], s), "weights": rand(shapes["weights"], s + 5),
             "bias": rand(shapes["bias"], s + 9, -20000, 20000, np.int32),
             "scale": np.float32(sc), "act": act}
            for s, (sc, act) in enumerate([(1 / 3200, True), (1 / 800, False), (1 / 6400, True)])]
    runs = check_batch(f, sets)
    assert machines[0] == 3
    for s, r in zip(sets, runs):
        np.testing.assert_array_equal(
            r.outputs["output"],
            numpy_conv(s["inp"], s["weights"], s["bias"], s["scale"], s["act"]))


@pytest.mark.parametrize("config", ["int8_16", "int8_32"])
def test_loop_ws_programs_with_partial_tiles(machines, config):
    """The FSM baselines: loop_ws with a per-set act operand and config_st scale."""
    conv = fsm.fsm_conv(2, 10, 32, 64, config)
    shapes = {p.name: p.shape for p in conv.params}
    sets = [{"inp": rand(shapes["inp"], s), "weights": rand(shapes["weights"], s + 1),
             "bias": rand(shapes["bias"], s + 2, -20000, 20000, np.int32),
             "scale": np.float32(sc), "act": act}
            for s, (sc, act) in enumerate([(0.003, False), (0.003, True), (0.0007, True)])]
    for s, r in zip(sets, check_batch(conv, sets, config)):
        np.testing.assert_array_equal(
            r.outputs["output"],
            numpy_conv(s["inp"], s["weights"], s["bias"], s["scale"], s["act"]))
    gemm = fsm.fsm_gemm(100, 90, 200, config, score="analytic")
    sets = [{"A": rand((100, 200), s), "B": rand((200, 90), s + 3), "scale": np.float32(sc),
             "act": act} for s, (sc, act) in enumerate([(0.002, True), (0.0005, False)])]
    for s, r in zip(sets, check_batch(gemm, sets, config)):
        np.testing.assert_array_equal(r.outputs["C"],
                                      numpy_gemm(s["A"], s["B"], s["scale"], s["act"]))
    assert machines[0] == 3 and machines[4] == 2


def test_mvin_scale_per_set_keeps_unscaled_sets_exact(machines):
    """config_ld scale from a parameter: 1.0 in one set (int32 values above 2**24 pass
    unchanged), 0.5 in another (float32 multiply, round half even, saturate)."""
    f = fn([("X", "i8", (16, 16), True), ("Y", "i32", (16, 16), True),
            ("OX", "i8", (16, 16), False), ("OY", "i32", (16, 16), False),
            ("s", "f32", (), True)],
           I("config_ld", 16, "s", 0, None, 0), I("config_ld", 64, "s", 0, None, 1),
           I("mvin", dram("X", 0), 0, 16, 16),
           I("mvin2", dram("Y", 0), ACC, 16, 16),
           config_st(16), I("mvout", dram("OX", 0), 0, 16, 16),
           config_st(64), I("mvout", dram("OY", 0), ACC | RAW, 16, 16))
    sets = [{"X": rand((16, 16), s), "Y": rand((16, 16), s + 1, -2**29, 2**29, np.int32),
             "s": np.float32(sc)} for s, sc in enumerate([1.0, 0.5, 3.0])]
    runs = check_batch(f, sets)
    assert machines[0] == 3
    for s, r in zip(sets, runs):
        sc = np.float32(s["s"])
        want_x = np.clip(np.rint(s["X"].astype(np.float32) * sc), -128, 127).astype(np.int8)
        np.testing.assert_array_equal(r.outputs["OX"], want_x)
        if s["s"] == 1.0:
            np.testing.assert_array_equal(r.outputs["OY"], s["Y"])
        else:
            f32 = np.clip(np.rint(s["Y"].astype(np.float32) * sc), -2**31, 2**31 - 1)
            np.testing.assert_array_equal(r.outputs["OY"], f32.astype(np.int32))


def test_config_ex_relu_per_set_on_scratchpad_results(machines):
    """A preload C in the scratchpad: saturated, then config_ex's act of each set."""
    f = fn([("A", "i8", (16, 16), True), ("B", "i8", (16, 16), True),
            ("OUT", "i8", (16, 16), False), ("act", "bool", (), False)],
           config_ld(16), config_st(16), I("config_ex", 1, "act", 0, 1, 0, 0),
           I("mvin", dram("A", 0), 0, 16, 16), I("mvin", dram("B", 0), 16, 16, 16),
           I("preload", 16, 32, 16, 16, 16, 16),
           I("compute_preloaded", 0, GARBAGE, 16, 16, 16, 16),
           I("mvout", dram("OUT", 0), 32, 16, 16))
    sets = [{"A": rand((16, 16), s, -8, 8), "B": rand((16, 16), s + 1, -8, 8), "act": act}
            for s, act in enumerate([True, False, True])]
    for s, r in zip(sets, check_batch(f, sets)):
        want = np.clip(s["A"].astype(np.int32) @ s["B"], -128, 127)
        np.testing.assert_array_equal(r.outputs["OUT"], np.maximum(want, 0) if s["act"] else want)
    assert machines[0] == 3


def test_fp32_config_per_set_scales_and_relu(machines):
    f = fn([("A", "f32", (8, 8), True), ("B", "f32", (8, 8), True),
            ("OUT", "f32", (8, 8), False), ("ls", "f32", (), True), ("scale", "f32", (), True),
            ("act", "bool", (), False)],
           I("config_ld", 32, "ls", 0, None, 0), config_ex(), config_st(32, "act", "scale"),
           *[I("mvin", dram(n, 8 * (4 * r) + 4 * c), 16 * (2 * r + c) + 64 * k, 4, 4)
             for k, n in enumerate("AB") for r in range(2) for c in range(2)],
           *[op for i in range(2) for j in range(2) for k in range(2) for op in (
               I("preload", 64 + 16 * (2 * k + j), ACC | (0x40000000 if k else 0) | (4 * (2 * i + j)),
                 4, 4, 4, 4),
               I("compute_preloaded", 16 * (2 * i + k), GARBAGE, 4, 4, 4, 4))],
           *[I("mvout", dram("OUT", 8 * (4 * i) + 4 * j), ACC | (4 * (2 * i + j)), 4, 4)
             for i in range(2) for j in range(2)])
    rng = np.random.default_rng(7)
    sets = [{"A": rng.standard_normal((8, 8)).astype(np.float32),
             "B": rng.standard_normal((8, 8)).astype(np.float32),
             "ls": np.float32(ls), "scale": np.float32(sc), "act": act}
            for ls, sc, act in [(1.0, 1.0, False), (0.5, 2.0, True), (1.0, 0.25, True)]]
    for s, r in zip(sets, check_batch(f, sets, "fp32_4")):
        want = (s["A"] * s["ls"]) @ (s["B"] * s["ls"]) * s["scale"]
        np.testing.assert_allclose(r.outputs["OUT"], np.maximum(want, 0) if s["act"] else want,
                                   rtol=1e-5, atol=1e-5)
    assert machines[0] == 3


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops_strategy, seed=st.integers(0, 2**16))
def test_random_programs_batched_like_separate_runs(ops, seed):
    """Every compute path (batched, per element, one at a time, partial, compute_accumulated,
    D operands, garbage C) on three different data sets."""
    rng = np.random.default_rng(seed)
    f = build(ops, np.zeros((64, 16), np.int8))[0]
    check_batch(f, [{"X": rng.integers(-128, 128, (64, 16)).astype(np.int8)}
                    for _ in range(3)])


def test_out_of_range_access_raises_in_the_batched_run(machines):
    f = fn([("A", "i8", (16, 16), True), ("OUT", "i8", (16, 16), False),
            ("scale", "f32", (), True)],
           config_ld(16), config_st(16, 0, "scale"),
           I("mvin", dram("A", 0), 0, 16, 16),
           I("mvin", dram("A", 8), 16, 16, 16, line=777),      # runs 8 bytes past A
           I("mvout", dram("OUT", 0), 0, 16, 16))
    sets = [{"A": rand((16, 16), s), "scale": np.float32(s + 1)} for s in range(2)]
    with pytest.raises(HardwareError) as batched:
        model.run_batch(f, sets)
    assert machines == [2]
    with pytest.raises(HardwareError) as alone:
        model.run(f, sets[0])
    assert str(batched.value) == str(alone.value)
    assert batched.value.line == 777 and "mvin" in str(batched.value)
    assert "outside array 'A'" in str(batched.value)


def test_scalar_errors_are_those_of_the_first_failing_set(machines):
    """A scale that is not finite in every set: batched, set 0's error. An act valid in
    one set only: not batched, so the error is the later set's, as in separate runs."""
    f = fn([("A", "i8", (16, 16), True), ("OUT", "i8", (16, 16), False),
            ("scale", "f32", (), True), ("act", "bool", (), False)],
           config_ld(16), I("config_st", 16, add("act", 1), "scale", line=555),
           I("mvin", dram("A", 0), 0, 16, 16), I("mvout", dram("OUT", 0), 0, 16, 16))
    A = rand((16, 16), 3)
    sets = [{"A": A, "scale": np.float32(v), "act": False} for v in (np.inf, np.nan)]
    with pytest.raises(HardwareError, match="scale inf is not finite") as e:
        model.run_batch(f, sets)
    assert e.value.line == 555 and machines == [2]
    sets = [{"A": A, "scale": np.float32(1), "act": act} for act in (False, True)]
    traces = [build_trace(f, s, get_config()) for s in sets]
    assert not batch.compatible(traces)
    machines.clear()
    with pytest.raises(HardwareError, match="activation 2 is not 0") as e:
        model.run_batch(f, sets)
    assert machines == [1, 1] and e.value.line == 555


def test_control_flow_that_depends_on_a_scalar_falls_back(machines):
    """`if (act)` chooses other instructions: traces differ, one run per set."""
    f = fn([("A", "i8", (16, 16), True), ("OUT", "i8", (32, 16), False),
            ("act", "bool", (), False)],
           config_ld(16), config_st(16),
           I("mvin", dram("A", 0), 0, 16, 16),
           ir.If(ir.Var("act"), (I("mvout", dram("OUT", 256), 0, 16, 16),),
                 (I("mvout", dram("OUT", 0), 0, 16, 16), I("mvout", dram("OUT", 256), 0, 8, 16))))
    sets = [{"A": rand((16, 16), s), "act": act} for s, act in enumerate([False, True, False])]
    traces = [build_trace(f, s, get_config()) for s in sets]
    assert not batch.compatible(traces) and batch.compatible([traces[0], traces[2]])
    runs = check_batch(f, sets)
    assert machines[:3] == [1, 1, 1]
    for s, r in zip(sets, runs):
        out = r.outputs["OUT"]
        np.testing.assert_array_equal(out[16:], s["A"] if s["act"] else
                                      np.concatenate([s["A"][:, :8], np.zeros((16, 8))], 1))
        np.testing.assert_array_equal(out[:16], 0 if s["act"] else s["A"])


def test_compatible_needs_equal_operands_besides_scales_and_acts():
    f = basic_gemm(16, 64, 64)
    cfg = get_config()
    base = dict(A=rand((16, 64), 1), B=rand((64, 64), 2))
    t = [build_trace(f, dict(base, scale=np.float32(sc), act=act), cfg)
         for sc, act in [(0.5, False), (0.25, True)]]
    assert batch.compatible(t)
    s = batch.set_scalars(t)
    assert s.floats.shape == s.acts.shape == (2, len(t[0]))
    assert set(np.unique(s.acts[1])) == {0, 1} and not s.acts[0].any()
    other = build_trace(basic_gemm(16, 128, 64),
                        dict(A=base["A"], B=rand((64, 128), 2), scale=0.5, act=False), cfg)
    assert not batch.compatible([t[0], other])


def test_evaluator_batched_and_per_set_agree_and_name_the_set():
    M, N, K = 16, 64, 64
    f = basic_gemm(M, N, K)
    cases = []
    for s, act in enumerate([False, True, True]):
        inputs = dict(A=rand((M, K), s), B=rand((K, N), s + 7), scale=np.float32(1 / 200),
                      act=np.asarray(act))
        cases.append((inputs, {"C": numpy_gemm(inputs["A"], inputs["B"], 1 / 200, act)}))
    batched = ModelEvaluator.from_cases(cases)
    per_set = ModelEvaluator.from_cases(cases, batched=False)
    a, b = batched.evaluate(f), per_set.evaluate(f)
    assert a.ok and b.ok and a.cycles == b.cycles and a.feedback == b.feedback
    wrong = [cases[0], cases[1], (cases[2][0], {"C": cases[2][1]["C"] + 1})]
    for ev in (ModelEvaluator.from_cases(wrong), ModelEvaluator.from_cases(wrong, batched=False)):
        r = ev.evaluate(f)
        assert r.error_kind == WRONG and r.error_message.startswith("set 'set2': C[0, 0] ")


def test_unbatched_sets_run_lazily_so_an_earlier_wrong_set_is_reported_first(machines):
    """Set 1 (act) takes a branch with an out-of-range mvout: traces differ, sets run one
    by one; set 0's wrong output is found before set 1 runs, as with separate runs."""
    f = fn([("A", "i8", (16, 16), True), ("OUT", "i8", (16, 16), False),
            ("act", "bool", (), False)],
           config_ld(16), config_st(16), I("mvin", dram("A", 0), 0, 16, 16),
           ir.If(ir.Var("act"), (I("mvout", dram("OUT", 8), 0, 16, 16),),
                 (I("mvout", dram("OUT", 0), 0, 16, 16),)))
    sets = [{"A": rand((16, 16), s), "act": np.asarray(act)} for s, act in enumerate([0, 1])]
    runs = model.iter_runs(f, sets)
    np.testing.assert_array_equal(next(runs).outputs["OUT"], sets[0]["A"])
    assert machines == [1]
    with pytest.raises(HardwareError, match="outside array 'OUT'"):
        next(runs)
    cases = [(sets[0], {"OUT": sets[0]["A"] + 1}), (sets[1], {"OUT": sets[1]["A"]})]
    for batched in (True, False):
        r = ModelEvaluator.from_cases(cases, batched=batched).evaluate(f)
        assert r.error_kind == WRONG and r.error_message.startswith("set 'set0': ")
    r = ModelEvaluator.from_cases([(sets[0], {"OUT": sets[0]["A"]}), cases[1]]).evaluate(f)
    assert r.error_kind == "hardware" and "outside array 'OUT'" in r.error_message
