"""The dependence enumeration: exact when small, truncated (and still answering) when
large. Expectations are rows worked out by hand from the instructions' addresses."""

import pytest

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


PREFETCHED_A = """
void f(const float* scale, bool act, const int8_t A[160][256], const int8_t B[256][1024],
       int8_t C[160][1024]) {
  config_st(1024, act, *scale);
  config_ex(WEIGHT_STATIONARY, 0, 1, 0, 0);
  config_ld(1024, 1.0f, 2);
  config_ld(256, 1.0f, 1);
  config_ld(0, 1.0f, 0);
  for (int jo = 0; jo < 2; jo++) {
    mvin2(&A[0][0], 8448, 64, 16);
    mvin2(&A[0][64], 8512, 64, 16);
    mvin2(&A[0][128], 8576, 64, 16);
    mvin2(&A[0][192], 8640, 64, 16);
    for (int i = 0; i < 10; i++) {
      for (int ji = 0; ji < 8; ji++) {
        for (int j_in_o = 0; j_in_o < 4; j_in_o++) {
          mvin(0, 16 * j_in_o + 0x80000000, 16, 16);
        }
        if (i + 1 < 10 && ji % 2 == 0) {
          mvin2(&A[16 * i + 16][64 * (ji / 2)], 4096 * ((i + 1) % 2) + 64 * (ji / 2) + 8448, 64, 16);
        }
        for (int ko = 0; ko < 4; ko++) {
          uint32_t b = 1024 * ji + 256 * ko + 256;
          uint32_t a = 64 * ko + 4096 * (i % 2) + 8448;
          if (i == 0) {
            for (int k = 0; k < 4; k++) {
              mvin3(&B[64 * ko + 16 * k][64 * ji + 512 * jo], b + 64 * k, 64, 16);
            }
          }
          for (int kk = 0; kk < 4; kk++) {
            for (int jj = 0; jj < 4; jj++) {
              preload(b + 64 * kk + 16 * jj, 0xC0000000 + 16 * jj, 16, 16, 16, 16);
              compute_preloaded(a + 16 * kk, ~((uint32_t)0), 16, 16, 16, 16);
            }
          }
        }
        for (int jj = 0; jj < 4; jj++) {
          mvout(&C[16 * i][64 * ji + 512 * jo + 16 * jj], 0x80000000 + 16 * jj, 16, 16);
        }
      }
    }
  }
}
"""


def test_residency_sees_a_prefetch_in_the_third_iteration_of_a_small_loop(monkeypatch):
    """A GEMM (from a search on 784x1024x256, M cut to 160) whose prefetch of the next row
    tile of A writes the rows of the first row tile's block 1 when ``ji / 2 == 1``
    (iterations 2 and 3 of the 8-trip ``ji`` loop). Keeping that block resident across
    ``jo`` is wrong: with every loop truncated to its first two and last iterations the
    check missed the overwrite (and the numpy comparison fails); with the small loops
    enumerated in full it refuses the rewrite."""
    from autocomp_exo.transforms import apply
    from autocomp_exo.transforms import deps
    from autocomp_exo.transforms.base import NotApplicable, app
    from transforms_support import check_program
    fn = parse(PREFETCHED_A)
    check_program(fn)                                       # the kernel itself is right
    a = app("resident", (5, 1), "", guard=(5,))
    with pytest.raises(NotApplicable):
        apply(fn, a, CFG)
    monkeypatch.setattr(deps, "full_trips", lambda body, env: 0)    # the old truncation
    wrong = apply(fn, a, CFG)
    with pytest.raises(AssertionError, match="elements differ"):
        check_program(wrong)
