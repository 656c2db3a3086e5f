"""The dependence enumeration: exact when small, truncated (and still answering) when
large. Expectations are rows worked out by hand from the instructions' addresses."""

from autocomp_exo.transforms.base import summary_of
from autocomp_exo.transforms.deps import FULL_EVENTS, row_keys
from gemmini.config import get_config
from transforms_support import parse

CFG = get_config()

ZERO_THEN_STORE = """
void f(const float* scale, bool act, int8_t C[16][64]) {
  config_st(64, act, *scale);
  config_ld(0, 1.0f, 0);
  for (int j = 0; j < N; j++) {
    mvin(0, 16 * j + 0x80000000, 16, 16);
  }
  mvout(&C[0][32], 0x80000020, 16, 16);
}
"""


def acc_rows(rows):
    return {k for r in rows for k in row_keys("acc", r, r + 1)}


def summary(text):
    fn = parse(text)
    return summary_of(fn, CFG, fn.body, {})


def test_every_iteration_of_a_small_loop_is_enumerated():
    """The third of four zeroing iterations writes rows 32..47, which the mvout then reads:
    nothing the body reads is exposed (truncating to iterations 0, 1, 3 would expose them)."""
    s = summary(ZERO_THEN_STORE.replace("N", "4"))
    assert acc_rows(range(64)) <= s.writes
    assert not s.exposed & acc_rows(range(64))


def test_a_large_enumeration_falls_back_to_truncated_loops():
    """Past the exact budget the loop runs its first two and last iterations only; the
    summary still answers (conservatively: the mvout's rows look exposed)."""
    n = FULL_EVENTS + 8
    text = ZERO_THEN_STORE.replace("N", str(n)).replace("C[16][64]", f"C[16][{16 * n}]")
    s = summary(text)
    last = 16 * (n - 1)
    assert acc_rows(range(32)) | acc_rows(range(last, last + 16)) <= s.writes
    assert not s.writes & acc_rows(range(32, 48))
    assert acc_rows(range(32, 48)) <= s.exposed


def test_a_large_enumeration_still_runs_small_inner_loops_in_full():
    """Only the large outer loop is truncated: the 4-trip zeroing loop inside it runs every
    iteration, so the rows 32..47 its third iteration writes are not exposed to the mvout
    (truncating every loop would expose them, as in the first test's failure mode)."""
    n = FULL_EVENTS // 5 + 8           # 5 instructions per outer iteration: past the budget
    fn = parse(f"""
void f(const float* scale, bool act, int8_t C[{16 * n}][64]) {{
  config_st(64, act, *scale);
  config_ld(0, 1.0f, 0);
  for (int i = 0; i < {n}; i++) {{
    for (int j = 0; j < 4; j++) {{
      mvin(0, 16 * j + 0x80000000, 16, 16);
    }}
    mvout(&C[16 * i][32], 0x80000020, 16, 16);
  }}
}}
""")
    s = summary_of(fn, CFG, fn.body, {})
    assert acc_rows(range(64)) <= s.writes
    assert not s.exposed & acc_rows(range(64))
