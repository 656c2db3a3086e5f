"""Reference semantics (Exo's algorithm C built with gcc) against independent numpy."""

from __future__ import annotations

import numpy as np
import pytest

from lowering.workload import Workload
from lowering import suite as wl
from lowering import reference as ref


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    # one cache for the whole module run, so the reference library is built once
    root = tmp_path_factory.getbasetemp() / "autocomp-cache"
    monkeypatch.setenv("AUTOCOMP_EXO_CACHE", str(root))


def np_requant(acc: np.ndarray, scale: float, act: bool) -> np.ndarray:
    """Hardware read-out, written independently: float32 multiply, half-even, saturate."""
    f = acc.astype(np.float32) * np.float32(scale)
    out = np.clip(np.rint(f), -128, 127)
    if act:
        out = np.maximum(out, 0)
    return out.astype(np.int8)


def np_gemm(a, b, scale, act):
    acc = (a.astype(np.int64) @ b.astype(np.int64)).astype(np.int32)
    return np_requant(acc, scale, act)


def np_conv(inp, weights, bias, scale, act):
    batch, d, _, _ = inp.shape
    od = d - 2
    co = weights.shape[3]
    acc = np.zeros((batch, od, od, co), dtype=np.int64)
    for b in range(batch):
        for r in range(od):
            for c in range(od):
                patch = inp[b, r:r + 3, c:c + 3, :].astype(np.int64)      # 3 x 3 x ci
                acc[b, r, c] = np.tensordot(patch, weights.astype(np.int64), axes=3)
    acc += bias.reshape(co)
    return np_requant(acc.astype(np.int32), scale, act)


def gemm_inputs(a, b, scale, act):
    return {"A": np.asarray(a, np.int8), "B": np.asarray(b, np.int8),
            "scale": np.float32(scale), "act": act}


def test_rounding_ties_are_half_to_even():
    w = Workload.from_spec(wl.gemm(1, 4, 1))
    out = ref.run_reference(w, gemm_inputs([[1]], [[3, 5, -3, -5]], 0.5, False))["C"]
    # 1.5 -> 2, 2.5 -> 2, -1.5 -> -2, -2.5 -> -2 (truncation would give 1, 2, -1, -2)
    assert out.tolist() == [[2, 2, -2, -2]]


def test_saturation_and_relu():
    w = Workload.from_spec(wl.gemm(1, 4, 1))
    inputs = gemm_inputs([[127]], [[127, -128, 1, -1]], 1.0, False)
    assert ref.run_reference(w, inputs)["C"].tolist() == [[127, -128, 127, -127]]
    inputs["act"] = True
    assert ref.run_reference(w, inputs)["C"].tolist() == [[127, 0, 127, 0]]


def test_gemm_matches_numpy_on_all_input_sets():
    w = Workload.from_spec(wl.gemm(20, 24, 36))
    sets = ref.make_input_sets(w, seeds=(0, 1))
    for s in sets:
        want = np_gemm(s.inputs["A"], s.inputs["B"], s.scale, s.act)
        np.testing.assert_array_equal(s.expected["C"], want, err_msg=s.name)


def test_conv_matches_numpy():
    w = Workload.from_spec(wl.conv(2, 5, 16, 32))
    sets = ref.make_input_sets(w, kinds=("uniform", "ties", "extreme"))
    for s in sets:
        want = np_conv(s.inputs["inp"], s.inputs["weights"], s.inputs["bias"], s.scale, s.act)
        np.testing.assert_array_equal(s.expected["output"], want, err_msg=s.name)


def test_saturation_share_is_measured_on_the_accumulator():
    """The share recorded per set is that of numpy's int32 accumulation, scaled, rounded
    half to even, outside [-128, 127] (conv: bias included)."""
    w = Workload.from_spec(wl.conv(1, 4, 16, 16))
    for s in ref.make_input_sets(w, kinds=("uniform", "saturating"), acts=(False,)):
        inp, wt = s.inputs["inp"].astype(np.int64), s.inputs["weights"].astype(np.int64)
        acc = np.zeros((1, 2, 2, 16), np.int64) + s.inputs["bias"].reshape(16)
        for kr in range(3):
            for kc in range(3):
                acc += inp[:, kr:kr + 2, kc:kc + 2, :] @ wt[kr, kc]
        pre = np.rint(acc.astype(np.int32).astype(np.float32) * np.float32(s.scale))
        assert s.saturation == pytest.approx(np.mean((pre > 127) | (pre < -128)))


def test_input_sets_cover_the_required_cases():
    w = Workload.from_spec(wl.gemm(32, 16, 48))
    sets = ref.make_input_sets(w, seeds=(0, 1))
    names = [s.name for s in sets]
    assert len(names) == len(set(names)) == 2 * len(ref.INPUT_KINDS) * 2
    assert ref.INPUT_KINDS[-1] == "unit" and any(s.scale == 1.0 for s in sets)
    assert {s.act for s in sets} == {False, True}
    assert any(s.saturation < 0.05 for s in sets)
    assert any(s.saturation > 0.5 for s in sets)
    extreme = next(s for s in sets if s.name.startswith("extreme"))
    assert set(np.unique(extreme.inputs["A"])) <= {-128, 127}
    sparse = next(s for s in sets if s.name.startswith("sparse"))
    assert np.mean(sparse.inputs["A"] == 0) > 0.8
    ties = next(s for s in sets if s.name.startswith("ties"))
    assert ties.scale == 0.5
    uniform = [s for s in sets if s.name.startswith("uniform")]
    assert uniform[0].inputs["A"].min() < -100 and uniform[0].inputs["A"].max() > 100
    # different seeds give different data
    assert not np.array_equal(uniform[0].inputs["A"], uniform[-1].inputs["A"])
    # small-range inputs still spread over the int8 range
    small = next(s for s in sets if s.name.startswith("small") and not s.act)
    assert small.expected["C"].max() > 60 and small.expected["C"].min() < -60


def test_check_locates_first_wrong_element():
    w = Workload.from_spec(wl.gemm(4, 8, 16))
    sets = ref.make_input_sets(w, kinds=("uniform",), acts=(False,))
    good = [dict(s.expected) for s in sets]
    result = ref.check_sets(good, sets)
    assert result.ok and result.sets_checked == 1
    bad = good[0]["C"].copy()
    bad[2, 5] = bad[2, 5] + 1 if bad[2, 5] < 127 else 0
    bad[3, 1] = bad[3, 1] + 1 if bad[3, 1] < 127 else 0
    result = ref.check([{"C": bad.reshape(-1)}], [s.expected for s in sets], sets)
    assert not result.ok
    assert result.first.index == (2, 5) and result.first.array == "C"
    assert result.first.expected == int(good[0]["C"][2, 5])
    assert result.first.count == 2
    assert "C[2, 5] expected" in result.message and "uniform_s0" in result.message
    with pytest.raises(ref.CheckError):
        result.raise_if_failed()


def test_check_reports_missing_and_misshaped_outputs():
    expected = {"C": np.zeros((2, 2), np.int8)}
    assert "missing" in ref.check({}, expected).message
    assert "3 elements, expected 4" in ref.check({"C": np.zeros(3, np.int8)}, expected).message


def test_bad_inputs_give_clear_errors():
    w = Workload.from_spec(wl.gemm(1, 4, 1))
    with pytest.raises(ref.ReferenceRunError, match="'B'"):
        ref.run_reference(w, gemm_inputs([[1]], [[1, 2, 3]], 1.0, False))
    with pytest.raises(ref.ReferenceRunError, match="no value for 'scale'"):
        ref.run_reference(w, {"A": np.zeros((1, 1), np.int8), "B": np.zeros((1, 4), np.int8),
                              "act": False})
