"""Configuration states that hold one value for the whole run (`deps.steady_configs`):
the dependence analysis ignores their writes and reads, so a loop whose parts re-issue the
same configuration can be split (the convolutions' remainder tiles re-issue the weights'
load configuration). Expectations are worked out by hand; the fissioned program is
checked against numpy."""

import pytest

from autocomp_exo.transforms import NotApplicable, apply
from autocomp_exo.transforms.base import Application
from autocomp_exo.transforms.deps import steady_configs
from gemmini.config import get_config
from transforms_support import check_program, gemm_kernel, parse

CFG = get_config()

# C[16][32] = A[16][16] @ B[16][32], one 16-column tile per iteration; the second part of
# the body re-issues load state 1 (A's, stride 16) before its own loads
TWO_PARTS = """
  for (int j = 0; j < 2; j++) {
    mvin2(&A[0][0], 16 * j, 16, 16);
    mvin(0, 0x80000000 + 16 * j, 16, 16);
    config_ld(LD1, 1.0f, 1);
    mvin3(&B[0][16 * j], 64 + 16 * j, 16, 16);
    preload(64 + 16 * j, (0x80000000 + 16 * j) | 0x40000000, 16, 16, 16, 16);
    compute_preloaded(16 * j, ~((uint32_t)0), 16, 16, 16, 16);
    mvout(&C[0][16 * j], 0x80000000 + 16 * j, 16, 16);
  }
"""


def program(ld1: str = "16", body: str = TWO_PARTS):
    return parse(gemm_kernel(16, 32, 16, body.replace("LD1", ld1)))


def test_states_written_once_at_the_top_or_always_alike_are_steady():
    # gemm_kernel's prologue writes st (from the scalar parameters scale and act), ex and
    # load states 2, 1, 0 before the loop
    assert steady_configs(program()) == {("cfg", "st"), ("cfg", "ex"), ("cfg", "ld", 0),
                                         ("cfg", "ld", 1), ("cfg", "ld", 2)}


def test_a_state_written_with_another_value_or_a_loop_variable_is_not_steady():
    assert ("cfg", "ld", 1) not in steady_configs(program("32"))
    assert ("cfg", "ld", 1) not in steady_configs(program("16 + 16 * j"))
    assert ("cfg", "ld", 2) in steady_configs(program("16 + 16 * j"))


def test_a_state_read_before_its_first_write_is_not_steady():
    fn = parse("""
void f(const int8_t A[16][16], int8_t C[16][16]) {
  mvin2(&A[0][0], 0, 16, 16);
  config_ld(16, 1.0f, 1);
  for (int j = 0; j < 2; j++) {
    config_ld(16, 1.0f, 1);
    mvin2(&A[0][0], 16 * j, 16, 16);
  }
}
""")
    assert ("cfg", "ld", 1) not in steady_configs(fn)


def test_a_loop_re_issuing_a_steady_configuration_can_be_split():
    fn = program()
    loop = next(i for i, s in enumerate(fn.body) if type(s).__name__ == "For")
    split = apply(fn, Application("fission", (loop,), (("at", 2),)), CFG)
    assert len(split.body) == len(fn.body) + 1
    check_program(fn)
    check_program(split)


def test_a_loop_re_issuing_another_value_is_not_split():
    fn = program("24")       # part 2 leaves load state 1 at 24 for the next part 1
    loop = next(i for i, s in enumerate(fn.body) if type(s).__name__ == "For")
    with pytest.raises(NotApplicable):
        apply(fn, Application("fission", (loop,), (("at", 2),)), CFG)
