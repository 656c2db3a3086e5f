"""The fp32 Gemmini instructions (`lowering.gemmini_fp32`) and the TinyMPC workloads
(`lowering.tinympc`) on the model, against numpy written from the equations, and the
check's fp32 rule (bit-exact or the documented tolerance)."""

from __future__ import annotations

import numpy as np
import pytest
from exo import DRAM, proc

from autocomp_exo.evaluation import ModelEvaluator
from gemmini import model
from lowering import suite, tinympc
from lowering.exo_to_c import compile_proc
from lowering.gemmini_fp32 import (FP32_ACCUM, FP32_SCRATCH, config_ex_f32, config_ld2_f32_one,
                                   config_ld_f32, config_ld_f32_neg, config_st_f32_neg_relu,
                                   fence_f32, matmul_acc_f32, mvin2_f32, mvin_acc_add_f32,
                                   mvin_acc_f32, mvin_f32, mvout_f32)
from lowering.parser import parse_c
from lowering.reference import EXACT, TOLERANCE, run_reference
from lowering.workload import Workload

F32 = np.float32


@proc
def fp32_mv(A: f32[4, 8] @ DRAM, x: f32[8, 1] @ DRAM, d: f32[4, 1] @ DRAM,
            e: f32[4, 1] @ DRAM, y: f32[4, 1] @ DRAM, s: f32):
    config_ex_f32()
    sa: f32[2, 4, 4] @ FP32_SCRATCH
    sx: f32[2, 4, 4] @ FP32_SCRATCH
    acc: f32[4, 4] @ FP32_ACCUM
    config_ld_f32(s, stride(A, 0))
    for k in seq(0, 2):
        mvin_f32(4, 4, A[0:4, 4 * k:4 * k + 4], sa[k, :, :])
    config_ld2_f32_one(stride(x, 0))
    for k in seq(0, 2):
        mvin2_f32(4, 1, x[4 * k:4 * k + 4, 0:1], sx[k, :, :])
    config_ld_f32_neg(stride(d, 0))
    mvin_acc_f32(4, 1, d[0:4, 0:1], acc[:, :])
    mvin_acc_add_f32(4, 1, e[0:4, 0:1], acc[:, :])
    for k in seq(0, 2):
        matmul_acc_f32(4, 1, 4, sa[k, :, :], sx[k, :, :], acc[:, :])
    config_st_f32_neg_relu(stride(y, 0))
    mvout_f32(4, 1, acc[:, :], y[0:4, 0:1])
    fence_f32()


def _mv_inputs(seed):
    rng = np.random.default_rng(seed)
    return {"A": rng.standard_normal((4, 8)).astype(F32),
            "x": rng.standard_normal((8, 1)).astype(F32),
            "d": rng.standard_normal((4, 1)).astype(F32),
            "e": rng.standard_normal((4, 1)).astype(F32), "s": F32(0.5)}


def test_fp32_instructions_on_the_model_match_numpy():
    """y = relu(-(s A x - d - e)) through scaled loads (the -1 of load state 0 applies to
    d and e), an accumulating load, products
    and a negating ReLU store; numpy in float64 from the formula."""
    fn = parse_c(compile_proc(fp32_mv, use_cache=False).c_text)
    for seed in range(3):
        v = _mv_inputs(seed)
        got = model.run(fn, v, "fp32_4", timing=False).outputs["y"]
        a, x, d, e = (v[k].astype(np.float64) for k in "Axde")
        want = np.maximum(-(0.5 * a @ x - d - e), 0.0)
        mag = 0.5 * np.abs(a) @ np.abs(x) + np.abs(d) + np.abs(e)
        assert (np.abs(got - want) <= 8 * 2.0 ** -24 * mag).all()
        assert (want > 0).any() and (want == 0).any()     # both sides of the ReLU


def test_fp32_instruction_bodies_give_the_reference():
    """The reference (instructions inlined, gcc) computes the same as the model within
    the fp32 tolerance, and the additions-only part exactly."""
    w = Workload.from_proc(fp32_mv)
    assert w.roles == {"A": "read", "x": "read", "d": "read", "e": "read", "y": "written"}
    fn = parse_c(compile_proc(fp32_mv, use_cache=False).c_text)
    v = _mv_inputs(7)
    v["A"][:] = 0.0             # no products: -d - e, then relu(-.), exactly in float32
    ref = run_reference(w, v)["y"]
    got = model.run(fn, v, "fp32_4", timing=False).outputs["y"]
    want = np.maximum(-((-v["d"]) - v["e"]), F32(0))
    np.testing.assert_array_equal(ref, want)
    np.testing.assert_array_equal(got, want)


def test_every_workload_is_in_the_suite_with_its_configuration():
    names = [s.name for s in suite.FP32_SUITE]
    assert names == ["tinympc_forward", "tinympc_backward", "tinympc_admm"]
    for name in names:
        spec = suite.by_name(name)
        assert spec.kind == "tinympc" and suite.config_of(spec) == "fp32_4"
    assert suite.config_of(suite.by_name("gemm_512x512x512")) is None
    with pytest.raises(KeyError, match="tinympc_forward"):
        suite.by_name("tinympc_sideways")


def test_quadrotor_model_is_stable_and_the_lqr_closed_loop_too():
    a, b = tinympc.quadrotor_model()
    assert max(abs(np.linalg.eigvals(a))) < 1.0
    cache = tinympc.lqr_cache(a, b)
    assert max(abs(np.linalg.eigvals(a - b @ cache["Kinf"]))) < 1.0
    assert np.abs(b).max() < 0.25     # small B: one step of thrust moves the state little


@pytest.fixture(scope="module")
def workloads(tinympc_workloads):
    return tinympc_workloads


@pytest.mark.parametrize("name", ["tinympc_forward", "tinympc_backward", "tinympc_admm"])
def test_workload_on_the_model_matches_numpy_from_the_equations(workloads, name):
    w = workloads[name]
    fn = parse_c(compile_proc(w.mapped).c_text)
    for kind in tinympc.INPUT_KINDS:
        values = tinympc.make_inputs(name, kind, seed=3)
        inputs = {k: v for k, v in values.items() if w.roles[k] != "written"}
        got = model.run(fn, inputs, "fp32_4", timing=False).outputs
        want = tinympc.numpy_reference(name, values)
        mags = tinympc.magnitudes(name, values)
        for out, expected in want.items():
            bound = 64 * 2.0 ** -24 * mags[out]
            assert (np.abs(got[out] - expected) <= bound).all(), (kind, out)


def test_input_kinds_cover_the_edge_cases():
    box = tinympc.make_inputs("tinympc_admm", "box")
    v = box["u"] + box["y"]
    assert (np.abs(v) > box["umax"]).mean() > 0.5          # most clamps bind
    nominal = tinympc.make_inputs("tinympc_admm", "nominal")
    w = nominal["u"] + nominal["y"]
    inside = (np.abs(w) < nominal["umax"]).mean()
    assert 0.2 < inside < 0.9                               # some inside, some clamped
    assert not tinympc.make_inputs("tinympc_forward", "zeros")["x"].any()
    assert np.abs(tinympc.make_inputs("tinympc_backward", "large")["p"]).max() > 1e3


def test_check_says_which_rule_it_applied(workloads):
    """ADMM (additions and ReLU in the reference's order) matches bit for bit; the forward
    pass (the model sums products in another order) within the tolerance."""
    for name, rule in (("tinympc_admm", EXACT), ("tinympc_forward", TOLERANCE)):
        w = workloads[name]
        ev = ModelEvaluator.for_workload(w, "fp32_4")
        assert [s.name for s in ev.sets] == [f"{k}_s0" for k in tinympc.INPUT_KINDS]
        checked = ev.run(parse_c(compile_proc(w.mapped).c_text))
        assert checked.check.ok and checked.check.rule == rule, checked.check.message
        if rule == TOLERANCE:
            assert "64 x 2^-24 x the sum of |terms|" in checked.check.message


@pytest.mark.parametrize("name, old, new", [
    # a sign lost: u = Kinf x + d instead of its negation
    ("tinympc_forward", "gemmini_extended_config_st(((1)) * 4, 0, -1.0f)",
     "gemmini_extended_config_st(((1)) * 4, 0, 1.0f)"),
    # the clamp's upper limit ignored: hi = relu(u + y) - with a zero limit
    ("tinympc_admm", "gemmini_extended3_config_ld(((4)) * 4, -1.0f, 0, 0);\n\n"
                     "  gemmini_extended_mvin(((uint64_t) &umax",
     "gemmini_extended3_config_ld(((4)) * 4, 0.0f, 0, 0);\n\n"
     "  gemmini_extended_mvin(((uint64_t) &umax"),
])
def test_broken_kernels_are_caught(workloads, name, old, new):
    w = workloads[name]
    text = compile_proc(w.mapped).c_text
    assert old in text
    ev = ModelEvaluator.for_workload(w, "fp32_4")
    result = ev.evaluate(text.replace(old, new))
    assert not result.ok and result.error_kind == "wrong", result.error_message


def test_cli_lists_the_workloads(capsys):
    from autocomp_exo.cli import main
    assert main(["workloads"]) == 0
    out = capsys.readouterr().out
    for name in ("gemm_512x512x512", "conv_16x16x256", "tinympc_forward", "tinympc_admm"):
        assert name in out
    assert "fp32_4" in out and "horizon=10" in out


def test_cli_evaluates_a_suite_name_on_its_configuration(capsys):
    from autocomp_exo.cli import main
    from autocomp_exo.exitcodes import Exit
    assert main(["evaluate", "tinympc_forward"]) == 0
    out = capsys.readouterr().out
    assert "correct" in out and "yes" in out and "cycles" in out
    assert main(["evaluate", "tinympc_forward", "--gemmini", "int8_32"]) == Exit.INPUT
    err = capsys.readouterr().err
    assert "tinympc_forward is written for the fp32_4 configuration, not int8_32" in err


def test_a_load_of_unfenced_stored_data_is_a_hardware_error(workloads):
    """The forward pass reads u back after storing it; without the fence between them the
    load may overtake the store on the chip, so the model refuses the program."""
    w = workloads["tinympc_forward"]
    text = compile_proc(w.mapped).c_text
    head, body = text.split("void tinympc_forward(")
    assert body.count("gemmini_fence();") == 2
    ev = ModelEvaluator.for_workload(w, "fp32_4", kinds=("nominal",))
    assert ev.evaluate(text).ok
    result = ev.evaluate(head + "void tinympc_forward(" + body.replace("gemmini_fence();", "", 1))
    assert result.error_kind == "hardware"
    assert "reads 'u' bytes that the mvout" in result.error_message
    assert "no fence between them" in result.error_message


def test_cli_checks_a_c_file_against_a_suite_workload_named_by_workload(tmp_path, capsys,
                                                                         workloads):
    """A TinyMPC kernel in a C file, ``--workload tinympc_forward``: checked against the
    workload's own reference (it binds no GEMM template); a lost sign is caught."""
    from autocomp_exo.cli import main
    from autocomp_exo.exitcodes import Exit
    text = compile_proc(workloads["tinympc_forward"].mapped).c_text
    good, bad = tmp_path / "good.c", tmp_path / "bad.c"
    good.write_text(text)
    bad.write_text(text.replace("gemmini_extended_config_st(((1)) * 4, 0, -1.0f)",
                                "gemmini_extended_config_st(((1)) * 4, 0, 1.0f)"))
    args = ["--workload", "tinympc_forward", "--gemmini", "fp32_4"]
    assert main(["evaluate", str(good), *args]) == 0
    out = capsys.readouterr().out
    assert "correct" in out and "yes" in out
    assert main(["evaluate", str(bad), *args]) == Exit.KERNEL_WRONG
    assert "bad.c: wrong: set" in capsys.readouterr().err
    assert main(["evaluate", str(good), "--workload", "tinympc_backward", *args[2:]]) == \
        Exit.INPUT
    assert "different parameters" in capsys.readouterr().err


def test_a_tinympc_name_is_not_a_shape_for_the_spec_grammar():
    from gemmini.errors import ConfigError
    from lowering.workload_spec import parse_spec
    with pytest.raises(ConfigError, match="tinympc_admm is not a GEMM or convolution shape"):
        parse_spec("tinympc_admm")
    assert parse_spec("gemm_64x64x64").dims == (64, 64, 64)
