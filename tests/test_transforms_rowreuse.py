"""row_reuse: one load of the weights serves several output rows of a convolution, each
row with its own accumulator tile. Checked against numpy's convolution on Gemmini's
functional model; the load counts are worked out by hand from the loop trip counts."""


import numpy as np
import pytest

from autocomp_exo.transforms import TRANSFORMS, apply
from autocomp_exo.transforms.base import NotApplicable, app
from gemmini import model
from gemmini.config import get_config
from lowering.parser import parse_c
from transforms_support import EXO_CONV, exo_conv_case

CFG = get_config()
ORUW = (4, 0)           # the orow loop (inside the one-trip batch loop)


@pytest.fixture(scope="module")
def conv():
    """Exo's conv_1x22x22x16 (20 output rows; each row a 16-column tile and a 4-column
    remainder, both loading the 3x3 weights), inputs and numpy's output."""
    fn = parse_c(EXO_CONV.read_text())
    return (fn, *exo_conv_case(fn))


def run(fn, inputs, want):
    r = model.run(fn, inputs, CFG)
    np.testing.assert_array_equal(np.asarray(r.outputs["output"]).reshape(want.shape), want)
    return r.report


def test_offers_the_factors_whose_accumulator_tiles_fit(conv):
    fn, _, _ = conv
    offered = {a.p["factor"] for a in TRANSFORMS["row_reuse"].find(fn, CFG)
               if a.site == ORUW}
    assert offered == {2, 4, 5}         # divisors of 20 up to the limit of 8 (two tiles
                                        # of 16 + 5 rows each fit 1024 rows many times)


@pytest.mark.parametrize("factor", [2, 4, 5])
def test_weights_of_one_column_part_are_loaded_once_per_group_of_rows(conv, factor):
    fn, inputs, want = conv
    before = run(fn, inputs, want)
    new = apply(fn, app("row_reuse", ORUW, "", factor=factor), CFG)
    after = run(new, inputs, want)
    # 20 rows x 9 kernel positions x 2 column parts before; the first part's weights
    # now once per group of `factor` rows
    assert before.counts["mvin2"] == 20 * 9 * 2
    assert after.counts["mvin2"] == (20 // factor) * 9 + 20 * 9
    assert after.counts["mvin3"] == before.counts["mvin3"]
    assert after.busy["load"] < before.busy["load"]
    # the kernel is CPU-bound at the calibrated defaults; factor 2 adds about as many CPU
    # cycles (its extra loop) as it saves in stalls, so only the larger factors pay off
    if factor > 2:
        assert after.cycles < before.cycles


def test_a_loop_that_loads_nothing_invariant_is_refused(conv):
    fn, _, _ = conv
    with pytest.raises(NotApplicable):          # krow: every load moves with it
        apply(fn, app("row_reuse", (4, 0, 0, 2), "", factor=3), CFG)


def test_a_fence_inside_the_loop_is_no_crash():
    """An instruction without operands (a fence) inside a candidate loop: the search of
    sites skips it instead of crashing."""
    fn = parse_c("""void f(int8_t A[32][16], int8_t B[16][16], int8_t C[32][16]) {
  config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, false);
  config_st(16);
  config_ld(16, 1.0f, 0, 0);
  for (int i = 0; i < 2; i++) {
    mvin(&B[0][0], 0, 16, 16);
    mvin(&A[16 * i][0], 16, 16, 16);
    preload(0, 0x80000000, 16, 16, 16, 16);
    compute_preloaded(16, ~((uint32_t)0), 16, 16, 16, 16);
    mvout(&C[16 * i][0], 0x80000000, 16, 16);
    fence();
  }
}
""")
    found = TRANSFORMS["row_reuse"].find(fn, CFG)
    assert all(isinstance(a.p["factor"], int) for a in found)
