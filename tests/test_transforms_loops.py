"""Loop transformations: split, interchange, fuse, fission, unroll.

Semantics are checked with the test interpreter (tests/transforms_support.py)
against a numpy GEMM; structure against hand-derived expectations.
"""

import dataclasses

import pytest

from autocomp_exo.transforms import NotApplicable, apply
from autocomp_exo.transforms.base import Application
from autocomp_exo.transforms.ir_util import get, instrs, walk
from gemmini.config import get_config
from gemmini.ir import For
from transforms_support import app_named, basic_gemm, check_gemm, check_program, gemm_kernel, parse

CFG = get_config()
M, N, K = 32, 128, 128     # i: 2 trips, j: 2, ko: 2


@pytest.fixture(scope="module")
def gemm():
    return basic_gemm(M, N, K)


def loops(fn):
    return [(p, s) for p, s, _ in walk(fn.body) if isinstance(s, For)]


def loop_named(fn, var, nth=0):
    return [p for p, s in loops(fn) if s.var == var][nth]


def test_interpreter_agrees_with_numpy_on_the_start(gemm):
    counts = check_gemm(gemm, M, N, K)
    assert counts["compute_preloaded"] == (M // 16) * (N // 16) * (K // 16)


def test_split_keeps_semantics_and_trip_product(gemm):
    site = loop_named(gemm, "k", 1)
    new = apply(gemm, Application("split", site, (("factor", 2),)), CFG)
    outer = get(new.body, site)
    assert (outer.hi.value, outer.body[0].hi.value) == (2, 2)
    check_gemm(new, M, N, K)


def test_split_refuses_a_factor_that_does_not_divide(gemm):
    with pytest.raises(NotApplicable):
        apply(gemm, Application("split", loop_named(gemm, "k"), (("factor", 3),)), CFG)


def test_interchange_of_compute_loops(gemm):
    site = loop_named(gemm, "k", 1)            # for k { for j_in_o { preload; compute } }
    new = apply(gemm, Application("interchange", site), CFG)
    assert get(new.body, site).var == "j_in_o" and get(new.body, site + (0,)).var == "k"
    check_gemm(new, M, N, K)


def test_interchange_of_i_and_j_is_legal(gemm):
    new = apply(gemm, Application("interchange", loop_named(gemm, "i")), CFG)
    assert new.body[loop_named(gemm, "i")[0]].var == "j"
    check_gemm(new, M, N, K, seed=3)


def test_interchange_rejects_a_weight_reuse_chain():
    """compute_accumulated reads the weights of the previous iteration: order matters."""
    text = """
void t(const float* scale, bool act, const int8_t A[32][16], const int8_t B[16][32],
       int8_t C[32][32]) {
  config_st(32, act, *scale);
  config_ex(WEIGHT_STATIONARY, 0, 1, 0, 0);
  config_ld(32, 1.0f, 2);
  config_ld(16, 1.0f, 1);
  config_ld(0, 1.0f, 0);
  for (int j = 0; j < 2; j++) {
    for (int i = 0; i < 2; i++) {
      preload(i == 0 ? 1024 + 16 * j : ~((uint32_t)0), 0x80000000 + 32 * j + 16 * i, 16, 16, 16, 16);
      compute_accumulated(16 * i, ~((uint32_t)0), 16, 16, 16, 16);
    }
  }
}
"""
    fn = parse(text)
    with pytest.raises(NotApplicable):
        apply(fn, Application("interchange", (5,)), CFG)


def test_fission_of_the_block_pair_is_rejected(gemm):
    """Splitting preload from its compute separates a pair that shares the preload state."""
    site = loop_named(gemm, "j_in_o", 1)
    with pytest.raises(NotApplicable):
        apply(gemm, Application("fission", site, (("at", 1),)), CFG)


def test_fission_then_fuse_round_trip(gemm):
    ko = loop_named(gemm, "ko")
    split_fn = apply(gemm, Application("fission", ko, (("at", 1),)), CFG)   # A loads | rest
    parent = get(split_fn.body, ko[:-1])
    assert [s.var for s in parent.body if isinstance(s, For)].count("ko") == 2
    check_gemm(split_fn, M, N, K)
    fused = apply(split_fn, Application("fuse", ko), CFG)
    assert fused == gemm


def test_fuse_rejects_dependent_loops():
    """Second loop reads rows the first loop writes in a later iteration: not fusable."""
    text = """
void t(const float* scale, bool act, const int8_t A[16][32], const int8_t B[32][16],
       int8_t C[16][16]) {
  config_st(16, act, *scale);
  config_ex(WEIGHT_STATIONARY, 0, 1, 0, 0);
  config_ld(16, 1.0f, 2);
  config_ld(32, 1.0f, 1);
  config_ld(0, 1.0f, 0);
  mvin(0, 0x80000000, 16, 16);
  for (int k = 0; k < 2; k++) {
    mvin2(&A[0][16 * (1 - k)], 16 * (1 - k), 16, 16);
  }
  for (int k = 0; k < 2; k++) {
    mvin3(&B[16 * k][0], 1024 + 16 * k, 16, 16);
    preload(1024 + 16 * k, 0xC0000000, 16, 16, 16, 16);
    compute_preloaded(16 * k, ~((uint32_t)0), 16, 16, 16, 16);
  }
  mvout(&C[0][0], 0x80000000, 16, 16);
}
"""
    fn = parse(text)
    check_program(fn)
    with pytest.raises(NotApplicable):
        apply(fn, Application("fuse", (6,)), CFG)


def test_full_unroll_removes_the_loop_and_keeps_semantics(gemm):
    site = loop_named(gemm, "j_in_o", 1)
    new = apply(gemm, Application("unroll", site, (("factor", 0),)), CFG)
    assert sum(1 for _, s in loops(new) if s.var == "j_in_o") == 2
    check_gemm(new, M, N, K)


def test_partial_unroll_uses_a_step(gemm):
    site = loop_named(gemm, "k", 1)
    new = apply(gemm, Application("unroll", site, (("factor", 2),)), CFG)
    loop = get(new.body, site)
    assert loop.step == 2 and len(loop.body) == 2
    check_gemm(new, M, N, K, seed=1)


def test_unroll_renames_declarations_per_copy(gemm):
    new = apply(gemm, Application("unroll", loop_named(gemm, "j"), (("factor", 0),)), CFG)
    check_gemm(new, M, N, K)
    decls = [s.name for _, s, _ in walk(new.body) if type(s).__name__ == "Decl"]
    assert len(decls) == len(set(decls)) == 6


def test_find_lists_only_divisible_factors(gemm):
    from autocomp_exo.transforms.loops import find_split
    for a in find_split(gemm, CFG):
        t = get(gemm.body, a.site)
        assert (t.hi.value - t.lo.value) % a.p["factor"] == 0


def test_every_found_loop_application_keeps_semantics(gemm):
    """Every application the analyses offer either applies correctly or refuses."""
    from autocomp_exo.transforms import applications
    ok = 0
    for a in applications(gemm, CFG, ["split", "interchange", "fuse", "fission", "unroll"]):
        try:
            new = apply(gemm, a, CFG)
        except NotApplicable:
            continue
        check_gemm(new, M, N, K, seed=ok)
        ok += 1
    assert ok >= 10


def test_transforms_do_not_mutate_their_input(gemm):
    before = dataclasses.replace(gemm)
    apply(gemm, app_named(gemm, "unroll", CFG), CFG)
    assert gemm == before
    assert sum(1 for _ in instrs(gemm.body)) == sum(1 for _ in instrs(before.body))


SHADOWED_TEXT = gemm_kernel(32, 64, 64, """
  for (int k = 0; k < 4; k++) {
    mvin3(&B[16 * k][0], 4096 + 64 * k, 64, 16);
  }
  for (int i = 0; i < 2; i++) {
    for (int j = 0; j < 4; j++) {
      mvin(0, 16 * j + 0x80000000, 16, 16);
    }
    mvin2(&A[16 * i][0], 0, 16, 16);
    for (int k = 0; k < 4; k++) {
      if (k < 3) {
        uint32_t a = 16 * k + 16;
        mvin2(&A[16 * i][16 * k + 16], a, 16, 16);
      }
      uint32_t a = 16 * k;
      for (int j = 0; j < 4; j++) {
        preload(4096 + 64 * k + 16 * j, 16 * j + 0xC0000000, 16, 16, 16, 16);
        compute_preloaded(a, ~((uint32_t)0), 16, 16, 16, 16);
      }
    }
    for (int j = 0; j < 4; j++) {
      mvout(&C[16 * i][16 * j], 16 * j + 0x80000000, 16, 16);
    }
  }
""")


@pytest.mark.parametrize("factor", [0, 2])
def test_unroll_renames_a_local_only_where_it_is_in_scope(factor):
    """The k body declares ``a`` after a block that declares its own ``a``: each copy's
    renamed local must not leak into the block (whose ``a`` is another variable)."""
    fn = parse(SHADOWED_TEXT)
    check_program(fn)
    k = [p for p, s, _ in walk(fn.body) if isinstance(s, For) and s.var == "k"][1]
    new = apply(fn, Application("unroll", k, (("factor", factor),)), CFG)
    counts = check_program(new, seed=4)
    assert counts["mvin2"] == 2 * 4


def _unrolled_size(loop) -> int:
    """Instructions of ``loop`` fully unrolled, counted by walking it (inner trips known)."""
    n = 0
    for _, s, outer in walk(loop.body):
        if hasattr(s, "op"):
            k = loop.hi.value - loop.lo.value
            for lp in outer:
                k *= lp.hi.value - lp.lo.value
            n += k
    return n


def test_full_unroll_is_offered_while_the_code_fits_the_instruction_cache_share(gemm):
    from autocomp_exo.transforms.unroll import find_unroll
    sizes = {p: _unrolled_size(s) for p, s in loops(gemm)}
    cut = sorted(set(sizes.values()))[len(set(sizes.values())) // 2]
    # the budget is half the instruction cache at 16 bytes per instruction
    small = CFG.with_timing(icache_sets=1, icache_ways=1, icache_line_bytes=2 * 16 * cut,
                            code_bytes_per_instr=16)
    offered = {a.site for a in find_unroll(gemm, small) if a.p["factor"] == 0}
    assert offered == {p for p, n in sizes.items() if n <= cut}
    assert offered and offered != set(sizes)
    too_big = next(p for p, n in sizes.items() if n > cut)
    with pytest.raises(NotApplicable, match="instruction cache"):
        apply(gemm, Application("unroll", too_big, (("factor", 0),)), small)
    apply(gemm, Application("unroll", too_big, (("factor", 0),)), CFG)
