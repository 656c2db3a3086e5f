"""hold_weights: a preloaded weight block kept in the array across the iterations of an
outer loop (moved down to the pair), the later computes `compute_accumulated`. Checked
against numpy (GEMM and convolution) on the independent interpreter of
`transforms_support` and on Gemmini's model; the counts are worked out by hand."""


import numpy as np
import pytest

from autocomp_exo.transforms import TRANSFORMS, apply
from autocomp_exo.transforms.base import NotApplicable, app
from autocomp_exo.transforms.estimate import estimate
from autocomp_exo.transforms.ir_util import get
from gemmini import model
from gemmini.config import get_config
from lowering.parser import parse_c

from transforms_support import EXO_CONV, exo_conv_case
from transforms_support import run as interpret

CFG = get_config()


def short_rows(c_base: str = "0x80000000", weights: str = "0") -> str:
    """Four 12-row tiles of A times one weight block; the pair loop is `i`."""
    return f"""void f(int8_t A[48][16], int8_t B[16][16], int8_t C[48][16]) {{
  config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, false);
  config_st(16);
  config_ld(16, 1.0f, 0, 0);
  mvin(&B[0][0], 0, 16, 16);
  for (int i = 0; i < 4; i++) {{
    mvin(&A[12 * i][0], 16 + 16 * i, 16, 12);
  }}
  for (int i = 0; i < 4; i++) {{
    preload({weights}, {c_base} + 16 * i, 16, 16, 16, 12);
    compute_preloaded(16 + 16 * i, ~((uint32_t)0), 16, 12, 16, 16);
  }}
  for (int i = 0; i < 4; i++) {{
    mvout(&C[12 * i][0], 0x80000000 + 16 * i, 16, 12);
  }}
  fence();
}}
"""


def short_inputs():
    rng = np.random.default_rng(5)
    a = rng.integers(-3, 4, (48, 16), dtype=np.int8)
    b = rng.integers(-3, 4, (16, 16), dtype=np.int8)
    return {"A": a, "B": b, "C": np.zeros((48, 16), np.int8)}, a.astype(int) @ b.astype(int)


def test_short_rows_keep_the_weights_and_stream_only_their_rows():
    fn = parse_c(short_rows())
    found = TRANSFORMS["hold_weights"].find(fn, CFG)
    assert [(a.site, a.p["depth"]) for a in found] == [((5, 0), 1)]
    new = apply(fn, found[0], CFG)
    inputs, want = short_inputs()
    out, counts = interpret(new, inputs)
    np.testing.assert_array_equal(out["C"].reshape(48, 16), want)
    assert counts["compute_preloaded"] == 1 and counts["compute_accumulated"] == 3
    before, after = (model.run(f, inputs, CFG) for f in (fn, new))
    np.testing.assert_array_equal(np.asarray(after.outputs["C"]).reshape(48, 16), want)
    # one full block of 16 rows, then three held computes of 12 rows each (was 4 x 16)
    assert before.report.busy["execute"] - after.report.busy["execute"] >= 3 * (16 - 12)
    # the estimate prices it alike: A and B share bank 0, so every compute that reads B
    # conflicts (x bank_conflict_factor); the three held ones read no B and feed 12 rows
    conflict = 16 * CFG.timing.bank_conflict_factor
    assert estimate(fn, CFG).execute - estimate(new, CFG).execute == 3 * (conflict - 12)


def test_an_output_in_the_scratchpad_is_refused():
    fn = parse_c(short_rows(c_base="64"))      # C rows in the scratchpad: could be B's
    with pytest.raises(NotApplicable):
        apply(fn, app("hold_weights", (5, 0), "", depth=1), CFG)


def test_weights_that_move_with_the_loop_are_refused():
    fn = parse_c(short_rows(weights="16 * i"))
    assert TRANSFORMS["hold_weights"].find(fn, CFG) == []
    with pytest.raises(NotApplicable):
        apply(fn, app("hold_weights", (5, 0), "", depth=1), CFG)


@pytest.fixture(scope="module")
def conv():
    """Exo's conv_1x22x22x16 after `row_reuse` of its 20 output rows by 4 (the weights of
    the 16-column part loaded once for four rows), inputs and numpy's output."""
    fn = parse_c(EXO_CONV.read_text())
    fn = apply(fn, app("row_reuse", (4, 0), "", factor=4), CFG)
    return (fn, *exo_conv_case(fn))


def _offer(fn, var):
    return [a for a in TRANSFORMS["hold_weights"].find(fn, CFG)
            if get(fn.body, a.site[:a.p["depth"]]).var == var]


def test_rows_sharing_a_weight_load_share_the_preload(conv):
    fn, inputs, want = conv
    full, rest = _offer(fn, "orowi")            # the 16-column part and the remainder
    new = apply(fn, full, CFG)
    r = model.run(new, inputs, CFG)
    np.testing.assert_array_equal(np.asarray(r.outputs["output"]).reshape(want.shape), want)
    # 5 groups of 4 rows x 9 kernel positions: the first row preloads, three hold
    assert r.report.counts["compute_accumulated"] == 5 * 9 * 3
    assert r.report.counts["compute_preloaded"] == 20 * 9 * 2 - 5 * 9 * 3
    # the remainder reloads its weights into the same rows for every row: refused
    with pytest.raises(NotApplicable):
        apply(fn, rest, CFG)


def test_a_loop_whose_iterations_reload_the_weights_is_refused(conv):
    fn, _, _ = conv
    kcol = _offer(fn, "kcol")       # same scratchpad rows, new weights every kcol
    assert kcol
    for a in kcol:
        with pytest.raises(NotApplicable):
            apply(fn, a, CFG)


def test_only_the_pairs_writing_the_accumulator_hold_their_weights():
    """Two pairs in the loop: the one whose C is in the scratchpad (it could overwrite
    weight rows) keeps its own preloads; the other holds its weights."""
    fn = parse_c(short_rows().replace(
        "    compute_preloaded(16 + 16 * i, ~((uint32_t)0), 16, 12, 16, 16);\n",
        "    compute_preloaded(16 + 16 * i, ~((uint32_t)0), 16, 12, 16, 16);\n"
        "    preload(0, 128 + 16 * i, 16, 16, 16, 12);\n"
        "    compute_preloaded(16 + 16 * i, ~((uint32_t)0), 16, 12, 16, 16);\n"))
    new = apply(fn, app("hold_weights", (5, 0), "", depth=1), CFG)
    inputs, want = short_inputs()
    out, counts = interpret(new, inputs)
    np.testing.assert_array_equal(out["C"].reshape(48, 16), want)
    assert counts["compute_accumulated"] == 3 and counts["compute_preloaded"] == 1 + 4
