"""User-style procs we do not ship (tests/user_procs.py): each is mapped where it starts
unmapped, checked against its own semantics (the independent expectation is numpy), and
a deliberately broken variant of each is caught."""

from __future__ import annotations

import numpy as np
import pytest

from autocomp_exo.cli import main
from autocomp_exo.evaluation import evaluate
from gemmini.errors import CheckError
from lowering import suite
from lowering.exo_to_c import compile_proc
from lowering.mapping import map_to_gemmini
from lowering.reference import check_same_semantics, make_input_sets
from lowering.workload import Workload
from tests import user_procs as U

KINDS = ("uniform", "extreme")
MAPPED = ("fc_bias", "batched_gemm", "gemm_relu", "gemm_abc", "conv_rgb", "gemm_residual")


def assert_reference_is_numpy(w: Workload, expect) -> list:
    """Every input set's reference outputs equal numpy's; returns the sets."""
    sets = make_input_sets(w, kinds=KINDS)
    for s in sets:
        inputs = {k: np.asarray(v) for k, v in s.inputs.items()}
        inputs.setdefault("scale", 1.0)
        inputs.setdefault("act", False)
        for array, want in expect(inputs).items():
            np.testing.assert_array_equal(s.expected[array], want, err_msg=s.name)
    assert min(s.saturation for s in sets) < 0.05
    return sets


@pytest.mark.parametrize("name", MAPPED)
def test_procs_written_with_gemmini_instructions(name):
    good, broken = getattr(U, name), getattr(U, f"broken_{name}")
    w = Workload.from_proc(good)
    assert w.mapped is good                    # its own reference, no bundled algorithm
    assert_reference_is_numpy(w, getattr(U, f"expect_{name}"))
    ev = evaluate(good, kinds=KINDS)
    assert ev.check.ok, ev.check.message
    assert ev.report.cycles > 0
    # the broken twin runs on the model, and the check against the good proc catches it
    bad = evaluate(compile_proc(broken).c_text, workload=w, kinds=KINDS)
    assert not bad.check.ok and "expected" in bad.check.message
    with pytest.raises(CheckError, match="does not compute what"):
        Workload.from_proc(broken, algorithm=good)


def test_bias_loaded_with_ld_acc_i32_is_read():
    w = Workload.from_proc(U.fc_bias)
    assert w.roles == {"x": "read", "w": "read", "bias": "read", "y": "written"}
    assert [p.name for p in w.inputs] == ["x", "w", "bias"]


def test_a_times_b_transposed_gets_its_own_semantics():
    w = Workload.from_proc(U.matmul_abt)
    assert w.algorithm is U.matmul_abt
    assert_reference_is_numpy(w, U.expect_matmul_abt)
    with pytest.raises(CheckError, match="does not compute what"):
        check_same_semantics(Workload.from_proc(U.broken_matmul_abt), w)
    # mapped by its structure: B's tiles moved in as stored, the preload transposes them
    c = w.mapped_c()
    assert c.name == "matmul_abt"
    ev = evaluate(c.c_text, workload=w, kinds=KINDS)
    assert ev.check.ok, ev.check.message


def test_renamed_gemm_is_mapped_and_checked():
    w = Workload.from_proc(U.renamed_gemm)
    assert_reference_is_numpy(w, U.expect_gemm)
    c = w.mapped_c()                 # map_to_gemmini recognizes it by its structure
    assert c.name == "renamed_gemm"
    ev = evaluate(c.c_text, workload=w, kinds=KINDS)
    assert ev.check.ok, ev.check.message
    # A @ B^T behind the same signature: mapped as what it computes (B transposed by the
    # preload), and the A @ B code is caught against it
    broken = Workload.from_proc(U.broken_renamed_gemm)
    bt = broken.mapped_c()
    assert "gemmini_extended_config_ex(WS, 0, 0, 1, 0, 1);" in bt.c_text
    assert evaluate(bt.c_text, workload=broken, kinds=KINDS).check.ok
    bad = evaluate(c.c_text, workload=broken, kinds=KINDS)
    assert not bad.check.ok


def test_gemm_with_no_dimension_a_multiple_of_16():
    algorithm = suite.gemm_algorithm(100, 70, 50)
    mapped = map_to_gemmini(algorithm)
    w = Workload.from_proc(mapped, algorithm=algorithm)
    assert_reference_is_numpy(w, U.expect_gemm)
    ev = evaluate(mapped, kinds=KINDS)
    assert ev.check.ok, ev.check.message
    # broken: the last store (the 4x6 corner tile) is missing
    c = compile_proc(mapped).c_text
    last = c.rindex("gemmini_extended_mvout(")
    broken = c[:last] + c[c.index(";", last) + 1:]
    bad = evaluate(broken, workload=w, kinds=KINDS)
    assert not bad.check.ok and "C[96, 64]" in bad.check.message


def _abc_kernel(tmp_path, broken=False):
    """(A, B, C) C kernel from Exo's C of a mapped GEMM: scale 1.0, no activation."""
    c = compile_proc(map_to_gemmini(suite.gemm_algorithm(16, 16, 32))).c_text
    text = U.without_scale_and_act(c, "gemm_16x16x32")
    if broken:
        text = text.replace("ko < 2", "ko < 1")      # the second K block is missing
    path = tmp_path / ("broken_abc.c" if broken else "abc.c")
    path.write_text(text)
    return path


def test_c_kernel_without_scale_checked_by_spec_and_by_reference(tmp_path, capsys):
    good = _abc_kernel(tmp_path)
    assert main(["evaluate", str(good), "--workload", "gemm:16x16x32"]) == 0
    out = capsys.readouterr().out
    assert "yes" in out and "cycles" in out
    ref = f"{U.__file__}:gemm_abc"
    assert main(["evaluate", str(good), "--reference", ref]) == 0
    bad = _abc_kernel(tmp_path, broken=True)
    assert main(["evaluate", str(bad), "--workload", "gemm:16x16x32"]) == 1
    out = capsys.readouterr().out
    assert "no (wrong)" in out and "cycles" in out      # a failed check still times it
    assert main(["evaluate", str(bad), "--reference", ref]) == 1


def test_spec_semantics_follow_the_signature():
    from lowering.workload_spec import workload_for_signature
    from gemmini import ir
    params = (ir.Param("x", "i8", (16, 32), const=True),
              ir.Param("w", "i8", (32, 16), const=True),
              ir.Param("b", "i32", (1, 16), const=True), ir.Param("y", "i8", (16, 16)))
    w = workload_for_signature("gemm:16x16x32+bias", "fc", params)
    for s in make_input_sets(w, kinds=KINDS):
        acc = U.mm(s.inputs["x"], s.inputs["w"]) + s.inputs["b"].astype(np.int64).reshape(1, 16)
        np.testing.assert_array_equal(s.expected["y"], U.requant(acc), err_msg=s.name)
    from gemmini.errors import ConfigError
    with pytest.raises(ConfigError, match=r"gemm:16x16x32\+bias"):
        workload_for_signature("gemm:16x16x32", "fc", params)


def test_fc_bias_kernel_without_scale_by_spec(tmp_path, capsys):
    c = compile_proc(U.fc_bias).c_text
    path = tmp_path / "fc.c"
    path.write_text(U.without_scale_and_act(c, "fc_bias"))
    assert main(["evaluate", str(path), "--workload", "gemm:32x32x32+bias"]) == 0
    broken = tmp_path / "broken_fc.c"
    broken.write_text(U.without_scale_and_act(compile_proc(U.broken_fc_bias).c_text,
                                              "broken_fc_bias"))
    assert main(["evaluate", str(broken), "--workload", "gemm:32x32x32+bias"]) == 1
    assert "cycles" in capsys.readouterr().out


def test_reference_of_instructions_rounds_half_to_even():
    """acc_scale stays the hardware's read-out in the inlined reference (Exo's body alone
    would truncate in the cast after clamp: 1.5 -> 1)."""
    from lowering.reference import run_reference
    w = Workload.from_proc(map_to_gemmini(suite.gemm_algorithm(16, 16, 16)))
    a = np.zeros((16, 16), np.int8)
    b = np.zeros((16, 16), np.int8)
    a[0, 0] = 1
    b[0, :4] = [3, 5, -3, -5]
    out = run_reference(w, {"A": a, "B": b, "scale": np.float32(0.5), "act": False})["C"]
    assert out[0, :4].tolist() == [2, 2, -2, -2]


def test_array_read_and_written_gets_inputs_and_is_checked():
    w = Workload.from_proc(U.accumulate_i32)
    assert w.roles == {"A": "read", "B": "read", "C": "both"} and w.outputs == ("C",)
    for s in make_input_sets(w, kinds=KINDS):
        c_in = np.asarray(s.inputs["C"]).astype(np.int64)
        assert s.inputs["C"].dtype == np.int32 and np.any(c_in != 0)
        want = c_in + U.mm(s.inputs["A"], s.inputs["B"])
        np.testing.assert_array_equal(s.expected["C"], want.astype(np.int32), err_msg=s.name)


def test_float_arrays_and_every_bool_value():
    w = Workload.from_proc(U.axpy_f32)
    assert w.roles == {"x": "read", "y": "both"}
    sets = make_input_sets(w, kinds=("uniform", "unit"))
    assert sorted(s.name for s in sets) == ["uniform_s0", "uniform_s0_flip", "unit_s0",
                                            "unit_s0_flip"]
    for s in sets:
        x, y, alpha = (np.asarray(s.inputs[k], np.float32) for k in ("x", "y", "alpha"))
        assert x.dtype == np.float32 and x.std() > 0.5 and s.saturation is None
        want = y - alpha * x if s.inputs["flip"] else y + alpha * x
        np.testing.assert_array_equal(s.expected["y"], want, err_msg=s.name)
    assert {float(s.inputs["alpha"]) for s in sets if s.name.startswith("unit")} == {1.0}


def test_exo_convolution_c_needs_no_bias_in_the_spec(tmp_path, capsys):
    """A convolution's const int32 array is its bias by definition: Exo's own C of a
    bundled-style convolution checks against ``conv:BxDIMxCINxCOUT`` as written."""
    from lowering.exo_to_c import mapped_c
    from lowering.suite import conv_algorithm
    path = tmp_path / "conv.c"
    path.write_text(mapped_c(conv_algorithm(1, 6, 16, 16)).c_text)
    assert main(["evaluate", str(path), "--workload", "conv:1x6x16x16"]) == 0
    assert "yes" in capsys.readouterr().out


def test_cli_names_what_is_wrong_with_a_spec_or_a_reference(tmp_path, capsys):
    """A bias the spec does not name, an unknown reference proc, a reference of another
    signature: one line each, exit code 3 (bad input), no traceback."""
    path = tmp_path / "fc.c"
    path.write_text(U.without_scale_and_act(compile_proc(U.fc_bias).c_text, "fc_bias"))
    abc = _abc_kernel(tmp_path)
    for argv, needle in (
            ([str(path), "--workload", "gemm:32x32x32"], r"name it: gemm:32x32x32+bias"),
            ([str(abc), "--reference", f"{U.__file__}:nope"], "no 'nope' defined"),
            ([str(abc), "--reference", f"{U.__file__}:fc_bias"], "different parameters")):
        assert main(["evaluate", *argv]) == 3
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
