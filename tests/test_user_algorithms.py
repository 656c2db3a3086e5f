"""map_to_gemmini on user-style algorithm procs (tests/data/user_procs/algorithms.py): each is
recognized by its loop and index structure whatever its names, mapped, checked against
its own semantics (numpy is the independent expectation), and a broken twin (which maps
too) is caught by the check against the good proc. What cannot be mapped is refused in
one line that names the statement."""

from __future__ import annotations

import numpy as np
import pytest

from autocomp_exo.evaluation import evaluate
from gemmini.errors import CheckError, UnsupportedConstruct
from lowering.exo_to_c import compile_proc
from lowering.mapping import map_to_gemmini
from lowering.mapping_build import canonical, wrap
from lowering.mapping_match import match_contraction
from lowering.mapping_pad import ConvShape, padded_conv_proc
from lowering.reference import make_input_sets
from lowering.workload import Workload
from tests import user_procs as U
from tests.data.user_procs import algorithms as A

KINDS = ("uniform", "extreme")
FAST = ("gemm_relu", "conv_rgb")            # the others take a minute or more each to map
SLOW = tuple(sorted(set(A.CASES) - set(FAST)))


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOCOMP_EXO_CACHE", str(tmp_path / "cache"))


def assert_reference_is_numpy(w: Workload, expect) -> None:
    for s in make_input_sets(w, kinds=KINDS):
        inputs = {k: np.asarray(v) for k, v in s.inputs.items()}
        inputs.setdefault("scale", 1.0)
        inputs.setdefault("act", False)
        for array, want in expect(inputs).items():
            np.testing.assert_array_equal(s.expected[array], want, err_msg=s.name)


def check_case(name: str) -> None:
    good, broken, expect = A.CASES[name]
    mapped = map_to_gemmini(good)
    assert mapped.name() == good.name()
    assert [str(a.name()) for a in mapped.args()] == [str(a.name()) for a in good.args()]
    c = compile_proc(mapped).c_text
    assert "gemmini_extended_preload" in c and "gemmini_extended_mvout" in c
    w = Workload.from_proc(mapped, algorithm=good)     # mapped vs unmapped, random inputs
    assert_reference_is_numpy(w, expect)
    ev = evaluate(mapped, kinds=KINDS)
    assert ev.check.ok, ev.check.message
    assert ev.report.cycles > 0
    # the broken twin is a matmul / convolution too: it maps, and only the check catches it
    broken_mapped = map_to_gemmini(broken)
    bad = evaluate(compile_proc(broken_mapped).c_text, workload=w, kinds=KINDS)
    assert not bad.check.ok and "expected" in bad.check.message
    with pytest.raises(CheckError, match="does not compute what"):
        Workload.from_proc(broken_mapped, algorithm=good)


@pytest.mark.parametrize("name", FAST)
def test_user_algorithm_is_mapped_and_checked(name):
    check_case(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_user_algorithm_is_mapped_and_checked_slow(name):
    check_case(name)


@pytest.mark.slow
def test_renamed_gemm_maps_by_structure():
    mapped = map_to_gemmini(U.renamed_gemm)
    w = Workload.from_proc(mapped, algorithm=U.renamed_gemm)
    assert_reference_is_numpy(w, U.expect_gemm)


def test_structure_is_recognized_whatever_the_names():
    c = match_contraction(A.fc_bias)
    assert (c.out.array, c.x.array, c.y.array, c.bias.array) == ("y", "x", "w", "bias")
    assert c.loops == {"r": 20, "c": 40} and c.reduction == {"t": 24}
    assert (c.scale, c.act) == ("scale", "act")
    c = match_contraction(A.gemm_relu)
    assert (c.scale, c.act, c.bias) == ("scale", True, None)
    c = match_contraction(A.gemm_100x70x50)
    assert (c.scale, c.act) == ("s", "relu_on")
    c = match_contraction(A.gemm_unscaled)
    assert (c.scale, c.act) == (None, False)
    c = match_contraction(A.batched)
    assert c.loops == {"bt": 2, "m": 20, "n": 16}
    c = match_contraction(A.conv_named)
    assert c.reduction == {"dy": 3, "dx": 3, "ic": 16} and c.bias.array == "shift"


def test_harness_convention_without_scale_maps():
    """No scale parameter: the mapped proc passes a local 1.0 (checked against the proc by
    map_to_gemmini); the model's C parser reads that local as the literal it holds."""
    mapped = map_to_gemmini(A.gemm_unscaled)
    assert [str(a.name()) for a in mapped.args()] == ["A", "B", "C"]
    w = Workload.from_proc(mapped, algorithm=A.gemm_unscaled)
    assert_reference_is_numpy(w, A.expect_gemm_unscaled)
    ev = evaluate(mapped, kinds=KINDS)
    assert ev.check.ok, ev.check.message
    c = compile_proc(mapped).c_text
    last = c.rindex("gemmini_extended_mvout(")
    bad = evaluate(c[:last] + c[c.index(";", last) + 1:], workload=w, kinds=KINDS)
    assert not bad.check.ok


def one_line_error(proc_, match: str) -> str:
    with pytest.raises(UnsupportedConstruct, match=match) as info:
        map_to_gemmini(proc_)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    assert f"proc {proc_.name()!r}" in message
    return message


def test_unmappable_procs_are_refused_in_one_line_with_their_statement():
    message = one_line_error(A.truncating_gemm, "not clamped to int8")
    assert message.startswith(f"{A.__file__}:")             # file:line of the store
    line = int(message.split(":")[1])
    assert "C[i, j] = acc" in open(A.__file__).read().splitlines()[line - 1]
    message = one_line_error(A.non_affine_gemm, "not an affine expression")
    assert message.startswith(f"{A.__file__}:")
    line = int(message.split(":")[1])
    assert "A[i, k / 2]" in open(A.__file__).read().splitlines()[line - 1]
    message = one_line_error(A.gemm_atb, r"'A' is read transposed \(\[k, i\]\)")
    line = int(message.split(":")[1])
    assert "C[i, j] = q" in open(A.__file__).read().splitlines()[line - 1]


def test_a_times_b_transposed_is_mapped_with_the_preload_transposing_b():
    """C = A @ B^T: B's tiles are moved in as stored ([j, k]) and config_ex's B_transpose
    makes the preload transpose them; correct against numpy and the proc's semantics,
    and the same code without B_transpose is caught."""
    mapped = map_to_gemmini(U.matmul_abt)
    assert [str(a.name()) for a in mapped.args()] == [str(a.name()) for a in U.matmul_abt.args()]
    w = Workload.from_proc(mapped, algorithm=U.matmul_abt)     # mapped vs the proc
    assert_reference_is_numpy(w, U.expect_matmul_abt)
    c = compile_proc(mapped).c_text
    code = c[c.index("void matmul_abt("):].split("/* relying on")[0]   # without Exo's notes
    assert code.count("gemmini_extended_config_ex(WS, 0, 0, 1, 0, 1);") == 1
    ev = evaluate(c, workload=w, kinds=KINDS)
    assert ev.check.ok, ev.check.message
    untransposed = c.replace("gemmini_extended_config_ex(WS, 0, 0, 1, 0, 1);",
                             "gemmini_extended_config_ex(WS, 0, 0, 1, 0, 0);")
    bad = evaluate(untransposed, workload=w, kinds=KINDS)
    assert not bad.check.ok and "expected" in bad.check.message
    # the hardware's unroller adds one garbage compute per transposed block (16 rows of A):
    # 16 x 24 x 32 is 1 x 2 x 2 blocks
    computes = 1 * 2 * 2
    extra = ev.report.busy["execute"] - bad.report.busy["execute"]
    assert extra == computes * 16


def test_convolution_channels_that_are_not_multiples_of_dim_are_recognized():
    c = match_contraction(A.conv_20x24)
    assert c.reduction == {"u": 3, "v": 3, "ch": 20} and c.bias.array == "bias"
    c = match_contraction(A.batched_abt)
    assert c.loops == {"n": 2, "i": 20, "j": 18} and c.y.simple() == ("n", "j", "k")


def test_a_proc_exo_cannot_compile_is_refused_in_one_line():
    """Exo's own checks of the user's proc (here: clamp of an int32) come out as one line."""
    from exo import DRAM, proc
    from exo.platforms.gemmini import clamp
    _ = (DRAM, clamp)

    @proc
    def int_clamp(A: i8[16, 16] @ DRAM, B: i8[16, 16] @ DRAM, C: i8[16, 16] @ DRAM):
        for i in seq(0, 16):
            for j in seq(0, 16):
                acc: i32
                acc = 0.0
                for k in seq(0, 16):
                    a: i32
                    b: i32
                    a = A[i, k]
                    b = B[k, j]
                    acc += a * b
                o: i8
                clamp(acc, o)
                C[i, j] = o
    with pytest.raises(UnsupportedConstruct, match="expected precision f32") as info:
        map_to_gemmini(int_clamp)
    assert "\n" not in str(info.value)


PADDED = ("conv_pad1", "conv_pad_rgb", "conv_pad2")     # the last two take minutes


def test_padded_convolution_guards_are_recognized():
    """The bound guards of a padded convolution (one `if`, or nested ifs between the
    reduction loops) become the window of valid input rows and columns."""
    for name, rows, cols in (("conv_pad1", (0, 8), (0, 8)), ("conv_pad_rgb", (0, 6), (0, 6)),
                             ("conv_pad2", (0, 7), (0, 7)),
                             ("broken_conv_pad1", (0, 7), (0, 8)),
                             ("broken_conv_pad_rgb", (0, 6), (1, 6)),
                             ("broken_conv_pad2", (0, 7), (0, 6))):
        p = getattr(A, name)
        shape, _ = canonical(p, match_contraction(p))
        assert isinstance(shape, ConvShape), name
        assert (shape.rows, shape.cols) == (rows, cols), name
    shape, binding = canonical(A.conv_pad2, match_contraction(A.conv_pad2))
    assert (shape.kernel_rows, shape.row_offset, shape.col_offset, shape.bias) == (5, -2, -2, False)
    assert "bias" not in binding


@pytest.mark.parametrize("name", [PADDED[0], *(pytest.param(n, marks=pytest.mark.slow)
                                               for n in PADDED[1:])])
def test_padded_convolution_pieces_compute_the_proc(name):
    """The clipped GEMM pieces (before their configurations are hoisted, which the slow
    tests cover) compute what the user's proc computes (numpy as the expectation), on
    the model too; the broken twin's pieces do not."""
    good, broken, expect = A.CASES[name]
    shape, binding = canonical(good, match_contraction(good))
    pieces = wrap(good, padded_conv_proc(shape, f"{name}_pieces"), binding)
    w = Workload.from_proc(pieces, algorithm=good)
    assert_reference_is_numpy(w, expect)
    ev = evaluate(pieces, kinds=KINDS)
    assert ev.check.ok, ev.check.message
    bad_shape, _ = canonical(broken, match_contraction(broken))
    bad = wrap(broken, padded_conv_proc(bad_shape, f"{name}_broken"), binding)
    with pytest.raises(CheckError, match="does not compute what"):
        Workload.from_proc(bad, algorithm=good)


def test_unpaddable_convolutions_are_refused_in_one_line():
    message = one_line_error(A.conv_stride2, "stride-1 convolution")
    line = int(message.split(":")[1])
    assert "y[n, r, c, o] = q" in open(A.__file__).read().splitlines()[line - 1]
    one_line_error(A.conv_kernel_guard, "a guard bounds something else than the input row")


def test_batched_gemm_with_a_shared_b_is_recognized():
    """A[n, i, k] @ B[k, j]: the batched GEMM whose B is the same for every batch (B[j, k]
    in the broken twin: the preload transposes it)."""
    algorithm, binding = canonical(A.batched_shared, match_contraction(A.batched_shared))
    shapes = {str(a.name()): a.shape() for a in algorithm.args() if a.is_tensor()}
    assert len(shapes["B"]) == 2 and len(shapes["A"]) == 3 and "bias" in shapes
    assert (binding["B"], binding["bias"]) == (("arg", "W"), ("arg", "bias"))
    algorithm, _ = canonical(A.broken_batched_shared,
                             match_contraction(A.broken_batched_shared))
    assert "B[j, k]" in str(algorithm)
