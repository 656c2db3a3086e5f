"""Overlap transformations: accumulator double buffering, copies one bank apart,
interleaved software pipelining, and the analyses seeing through scalar locals.

Semantics are checked with the independent interpreter of transforms_support against
numpy; cycle effects on gemmini.model on cases built for them."""

import dataclasses

import pytest

from autocomp_exo.transforms import NotApplicable, apply, applications
from autocomp_exo.transforms.base import Application
from autocomp_exo.transforms.buffering import is_load_stmt
from autocomp_exo.transforms.estimate import estimate
from autocomp_exo.transforms.ir_util import get, instrs, walk
from autocomp_exo.transforms.regions import extents
from gemmini.config import get_config
from gemmini.ir import BinOp, Const, For, If, Var
from transforms_support import FAST_CPU, app_named, basic_gemm, check_gemm, check_program, gemm_kernel, \
    model_cycles, parse

CFG = get_config()
M, N, K = 32, 128, 128


def loop(fn, var, nth=0):
    return [p for p, s, _ in walk(fn.body) if isinstance(s, For) and s.var == var][nth]


def path_of(fn, op, nth=0):
    return [p for p, i, _ in instrs(fn.body) if i.op == op][nth]


def rows_of(fn, path):
    """The operand's extent, its pieces (copies in two places) merged into one range."""
    pieces = [e for e in extents(fn, CFG) if e.path == path and e.arg == 1]
    return dataclasses.replace(pieces[0], lo=min(e.lo for e in pieces),
                               hi=max(e.hi for e in pieces))


@pytest.fixture(scope="module")
def resident():
    """Basic mapping with B and A resident: the accumulator tile is the only reuse left."""
    fn = basic_gemm(M, N, K)
    for pred in (lambda a: "mvin3" in a.note, lambda a: "mvin2" in a.note):
        fn = apply(fn, app_named(fn, "resident", CFG, pred), CFG)
    return fn


def test_double_buffer_of_the_accumulator_tile(resident):
    fn = resident
    a = Application("double_buffer", path_of(fn, "mvout"), (("loop", loop(fn, "j")),))
    new = apply(fn, a, CFG)
    check_gemm(new, M, N, K, seed=3)
    before, after = rows_of(fn, path_of(fn, "mvout")), rows_of(new, path_of(new, "mvout"))
    assert after.space == "acc" and after.hi - after.lo == 2 * (before.hi - before.lo)
    # the zero mvins and the preloads' C moved with the mvouts
    zero = rows_of(new, path_of(new, "mvin"))
    assert (zero.lo, zero.hi) == (after.lo, after.hi)
    assert model_cycles(new, config=FAST_CPU) < model_cycles(fn, config=FAST_CPU)


def test_double_buffer_apart_puts_the_copies_in_two_banks():
    fn = basic_gemm(M, N, K)
    a = [x for x in applications(fn, CFG, ["double_buffer"])
         if x.p.get("apart") and "mvin2" in x.note and x.p["loop"] == loop(fn, "i")][0]
    new = apply(fn, a, CFG)
    check_gemm(new, M, N, K, seed=4)
    site = path_of(new, "mvin2")
    x = get(new.body, site)
    env0 = {"i": 0, "ko": 0}
    env1 = {"i": 1, "ko": 0}
    from autocomp_exo.transforms.ir_util import const_decls, eval_expr
    consts = const_decls(new)
    r0 = eval_expr(x.args[1], {**consts, **env0})
    r1 = eval_expr(x.args[1], {**consts, **env1})
    assert r1 - r0 == CFG.sp_bank_rows
    # A next to B in one bank, double-buffered in place vs one bank apart: apart steals
    # no execute cycles, so it is faster
    near = apply(fn, Application("double_buffer", a.site, (("loop", a.p["loop"]),)), CFG)
    assert model_cycles(new, config=FAST_CPU) < model_cycles(near, config=FAST_CPU)


def test_analyses_see_through_scalar_locals():
    """After strength reduction the addresses use locals; residency and buffering still
    find their sites and stay correct."""
    fn = basic_gemm(M, N, K)
    fn = apply(fn, Application("strength", loop(fn, "ko")), CFG)
    assert extents(fn, CFG) is not None
    found = applications(fn, CFG, ["resident", "double_buffer", "distinct"])
    assert {a.transform for a in found} == {"resident", "double_buffer", "distinct"}
    ok = 0
    for a in found:
        try:
            new = apply(fn, a, CFG)
        except NotApplicable:
            continue
        check_gemm(new, M, N, K, seed=ok)
        ok += 1
    assert ok >= 4


def test_strength_combines_the_bases_of_nested_loops(resident):
    fn = apply(resident, Application("unroll", loop(resident, "j_in_o", 1), (("factor", 0),)),
               CFG)
    fn = apply(fn, Application("unroll", loop(fn, "k", 1), (("factor", 0),)), CFG)
    once = apply(fn, Application("strength", loop(fn, "j")), CFG)
    twice = apply(once, Application("strength", loop(once, "ko")), CFG)
    for new in (once, twice):
        check_gemm(new, M, N, K, seed=5)
    assert estimate(twice, CFG).cpu < estimate(once, CFG).cpu < estimate(fn, CFG).cpu
    # inside ko every local operand is now a base plus at most one constant
    ko = get(twice.body, loop(twice, "ko"))
    for _, ins, _ in instrs(ko.body):
        if ins.op in ("preload", "compute_preloaded"):
            for arg in ins.args[:2]:
                assert isinstance(arg, (Var, Const)) or (
                    isinstance(arg, BinOp) and arg.op == "+" and isinstance(arg.lhs, Var)
                    and isinstance(arg.rhs, Const)), arg


def test_interleave_spreads_the_next_loads_over_the_computes():
    """B's row tiles alternate between two banks across ko and A sits in a third bank,
    so the next B can stream in while the current one is computed on."""
    from lowering.print_compact import to_compact
    text = to_compact(basic_gemm(16, 64, 256)).replace("256 * ko", "4096 * (ko % 2)") \
        .replace("uint32_t a = 0;", "uint32_t a = 12288;")
    fn = parse(text)
    check_program(fn)
    a = app_named(fn, "interleave", CFG, lambda a: "loop k for iteration ko" in a.note)
    new = apply(fn, a, CFG)
    counts = check_gemm(new, 16, 64, 256, seed=6)
    assert counts["mvin3"] == 1 * 1 * 4 * 4          # every B row tile still loaded once
    work = get(new.body, loop(new, "k", 1))
    assert any(i.op == "mvin3" for _, i, _ in instrs(work.body))
    assert model_cycles(new) < model_cycles(fn)


def test_interleave_double_buffers_loads_that_would_overwrite_live_rows():
    """One B buffer reused by every ko: loading ko + 1 during ko needs a second copy,
    which interleave makes itself (one bank apart); the result stays correct."""
    from lowering.print_compact import to_compact
    fn = basic_gemm(16, 64, 256)
    text = to_compact(fn).replace("b + 64 * k + 256 * ko", "b + 64 * k") \
        .replace("b + 16 * j_in_o + 64 * k + 256 * ko", "b + 16 * j_in_o + 64 * k")
    shared = parse(text)
    check_program(shared)
    a = app_named(shared, "interleave", CFG, lambda a: "loop k for iteration ko" in a.note)
    new = apply(shared, a, CFG)
    check_program(new, seed=7)
    x = [i for _, i, _ in instrs(new.body) if i.op == "mvin3"][-1]     # inside the work
    assert "ko" in repr(x.args[1]) and "%" in repr(x.args[1])


def test_interleave_needs_whole_chunks_of_work():
    from lowering.print_compact import to_compact
    text = to_compact(basic_gemm(16, 64, 256)).replace(
        "for (int k = 0; k < 4; k++) {\n          mvin3", "for (int k = 0; k < 3; k++) {\n          mvin3")
    fn = parse(text)
    bad = Application("interleave", loop(fn, "ko"), (("load", 1), ("work", 2)))
    with pytest.raises(NotApplicable):
        apply(fn, bad, CFG)


def test_extents_use_the_configured_block_stride():
    text = """
void f(const float* scale, bool act, const int8_t A[14][64], const int8_t B[16][16],
       int8_t C[14][16]) {
  config_st(16, act, *scale);
  config_ex(WEIGHT_STATIONARY, 0, 1, 0, 0);
  config_ld(64, 1.0f, 14, 1);
  mvin2(&A[0][0], 0, 64, 14);
  mvout(&C[0][0], 0x80000000, 16, 14);
}
"""
    fn = parse(text)
    e = rows_of(fn, path_of(fn, "mvin2"))
    assert (e.lo, e.hi) == (0, 3 * 14 + 14)


def test_interleave_issues_several_loads_per_work_iteration():
    """Work loop split in two halves, four B row tiles: two loads per half."""
    from lowering.print_compact import to_compact
    text = to_compact(basic_gemm(16, 64, 256)).replace("256 * ko", "4096 * (ko % 2)") \
        .replace("uint32_t a = 0;", "uint32_t a = 12288;")
    fn = parse(text)
    work = loop(fn, "k", 1)
    fn = apply(fn, Application("split", work, (("factor", 2),)), CFG)
    a = Application("interleave", loop(fn, "ko"), (("load", 1), ("work", 2)))
    new = apply(fn, a, CFG)
    counts = check_program(new, seed=8)
    assert counts["mvin3"] == 1 * 4 * 4
    # i > j > ko > work half > the two loads of that half
    assert max(len(loops) for _, x, loops in instrs(new.body) if x.op == "mvin3") == 5


def _b_resident(M, N, K):
    fn = basic_gemm(M, N, K)
    return apply(fn, app_named(fn, "resident", CFG, lambda a: "mvin3" in a.note
                               and not a.p.get("hoist")), CFG)


def test_resident_hoist_loads_the_row_tile_before_the_column_loop():
    fn = _b_resident(M, N, K)
    a = app_named(fn, "resident", CFG, lambda a: "mvin2" in a.note and a.p.get("hoist"))
    new = apply(fn, a, CFG)
    counts = check_gemm(new, M, N, K, seed=9)
    assert counts["mvin2"] == (M // 16) * (K // 64)          # once per row tile
    loops = [lp.var for _, x, lps in instrs(new.body) if x.op == "mvin2" for lp in lps]
    assert "j" not in loops and "i" in loops


def test_prefetching_the_next_row_tile_beats_reusing_it_in_place():
    """B resident; A either loaded at j == 0 (guard) or hoisted before the j loop and then
    prefetched for i + 1 during i (interleave, copies one bank apart); both polished by
    the proposer's clean-up (strength reduction, unrolling)."""
    from autocomp_exo.proposers.builtin import BuiltinProposer
    polish = BuiltinProposer(CFG)._cleanup
    m, n, k = 64, 128, 256
    fn = _b_resident(m, n, k)
    guard = apply(fn, app_named(fn, "resident", CFG, lambda a: "mvin2" in a.note
                                and not a.p.get("hoist")), CFG)
    hoist = apply(fn, app_named(fn, "resident", CFG, lambda a: "mvin2" in a.note
                                and a.p.get("hoist")), CFG)
    pre = apply(hoist, app_named(hoist, "interleave", CFG, lambda a: "iteration i " in a.note),
                CFG)
    guard, pre = polish(guard) or guard, polish(pre) or pre
    check_gemm(pre, m, n, k, seed=10)
    assert model_cycles(pre) < 0.8 * model_cycles(guard)


def test_resident_all_hoisting_guards_b_and_hoists_a():
    fn = basic_gemm(M, N, K)
    a = app_named(fn, "resident_all", CFG, lambda a: a.p.get("hoist"))
    new = apply(fn, a, CFG)
    counts = check_gemm(new, M, N, K, seed=11)
    assert counts["mvin2"] == I_TILES * (K // 64) and counts["mvin3"] == (N // 64) * (K // 64) * 4
    b_loops = {lp.var for _, x, lps in instrs(new.body) if x.op == "mvin3" for lp in lps}
    a_loops = {lp.var for _, x, lps in instrs(new.body) if x.op == "mvin2" for lp in lps}
    assert "i" in b_loops and "j" not in a_loops


I_TILES = M // 16


def _conv_case(seed=0, rows=3):
    """Exo's conv_1x22x22x16 computing only its first ``rows`` output rows (so the weights
    are reused fewer than MIN_REUSE times and streaming them is the right call)."""
    from pathlib import Path

    import numpy as np

    from lowering.parser import parse_c
    from benchmarks.numpy_reference import numpy_conv
    text = (Path(__file__).parent / "data" / "exo_c" / "conv_1x22x22x16.c").read_text()
    assert "orow < 20;" in text
    fn = parse_c(text.replace("orow < 20;", f"orow < {rows};"))
    shapes = {p.name: p.shape for p in fn.params}
    rng = np.random.default_rng(seed)
    inp = rng.integers(-128, 128, shapes["inp"], dtype=np.int8)
    w = rng.integers(-128, 128, shapes["weights"], dtype=np.int8)
    bias = rng.integers(-20000, 20000, shapes["bias"], dtype=np.int32)
    scale = np.float32(1.0 / (16 * 200))
    inputs = {"inp": inp, "weights": w, "bias": bias, "scale": scale, "act": True}
    want = numpy_conv(inp, w, bias, scale, True)
    want[:, rows:] = 0                       # rows the kernel leaves untouched
    return fn, inputs, want


def _conv_cycles(fn, inputs, want):
    import numpy as np

    from gemmini import model
    r = model.run(fn, inputs, CFG)
    np.testing.assert_array_equal(np.asarray(r.outputs["output"]).reshape(want.shape), want)
    return r.report.cycles


def test_interleave_all_covers_both_column_parts_of_a_convolution():
    """Exo's conv mapping has a full column tile and a remainder tile that share one weight
    buffer; interleave_all splits the buffer and pipelines the weights in both parts."""
    fn, inputs, want = _conv_case()
    new = apply(fn, app_named(fn, "interleave_all", CFG), CFG)
    prefetched = [x for p, x, lps in instrs(new.body) if x.op == "mvin2"
                  and {"kcol", "kch_o"} <= {lp.var for lp in lps}
                  and any(isinstance(get(new.body, p[:n]), If) for n in range(1, len(p)))]
    assert len(prefetched) == 2                       # one per column part, inside the work
    # one weight block per kernel position: the CPU work of the pipelining shows unless
    # both sides get the proposer's polish
    from autocomp_exo.proposers.builtin import BuiltinProposer
    polish = BuiltinProposer(CFG)._cleanup
    base, piped = polish(fn) or fn, polish(new) or new
    assert _conv_cycles(piped, inputs, want) < _conv_cycles(base, inputs, want)


def test_interleave_leaves_loads_that_residency_can_keep():
    """With four row tiles, B's loads repeat across i with the same source: they should be
    kept resident, not streamed, so interleave does not offer them."""
    fn = basic_gemm(64, 64, 256)
    assert any("mvin3" in a.note for a in applications(fn, CFG, ["resident"]))
    assert not applications(fn, CFG, ["interleave"])
    single = basic_gemm(16, 64, 256)
    assert applications(single, CFG, ["interleave"])


ZERO_AND_LOAD_TEXT = """
void f(const float* scale, bool act, const int8_t A[64][256], const int8_t B[256][64],
       int8_t C[64][64]) {
  config_st(64, act, *scale);
  config_ex(WEIGHT_STATIONARY, 0, 1, 0, 0);
  config_ld(64, 1.0f, 2);
  config_ld(256, 1.0f, 1);
  config_ld(0, 1.0f, 0);
  for (int k = 0; k < 16; k++) {
    mvin3(&B[16 * k][0], 4096 + 64 * k, 64, 16);
  }
  for (int i = 0; i < 4; i++) {
    for (int j = 0; j < 4; j++) {
      mvin(0, 16 * j + 0x80000000, 16, 16);
      mvin2(&A[16 * i][64 * j], 64 * j, 64, 16);
    }
    for (int k = 0; k < 16; k++) {
      for (int j = 0; j < 4; j++) {
        preload(4096 + 64 * k + 16 * j, 16 * j + 0xC0000000, 16, 16, 16, 16);
        compute_preloaded(16 * k, ~((uint32_t)0), 16, 16, 16, 16);
      }
    }
    for (int j = 0; j < 4; j++) {
      mvout(&C[16 * i][16 * j], 16 * j + 0x80000000, 16, 16);
    }
  }
}
"""


SEPARATE_LOADS_TEXT = ZERO_AND_LOAD_TEXT.replace("""
      mvin(0, 16 * j + 0x80000000, 16, 16);
      mvin2(&A[16 * i][64 * j], 64 * j, 64, 16);""", """
      mvin(0, 16 * j + 0x80000000, 16, 16);
    }
    for (int ko = 0; ko < 4; ko++) {
      mvin2(&A[16 * i][64 * ko], 64 * ko, 64, 16);""")


@pytest.mark.parametrize("text,load,work", [(ZERO_AND_LOAD_TEXT, 0, 1),
                                            (SEPARATE_LOADS_TEXT, 0, 2),
                                            (SEPARATE_LOADS_TEXT, 1, 2)])
def test_interleave_double_buffers_a_zeroed_accumulator_tile(text, load, work):
    """The load loop zeroes the accumulator tile and loads A: prefetching iteration i + 1
    during i needs second copies of both, the tile's through its mvouts. Separate load
    loops with the same bounds are fused first, whichever one the application names."""
    fn = parse(text)
    check_program(fn)
    a = Application("interleave", loop(fn, "i"), (("load", load), ("work", work)))
    new = apply(fn, a, CFG)
    i_loop = get(new.body, loop(new, "i"))
    assert not any(is_load_stmt(s) for s in i_loop.body)   # every load loop prefetched
    counts = check_program(new, seed=9)
    assert counts["mvout"] == 4 * 4
    before, after = rows_of(fn, path_of(fn, "mvout")), rows_of(new, path_of(new, "mvout"))
    assert after.space == "acc" and after.hi - after.lo >= 2 * (before.hi - before.lo)
    store = get(new.body, path_of(new, "mvout"))
    assert "%" in repr(store.args[1])               # alternates between two copies
    # the copies' address arithmetic is the clean-up's job; the overlap itself pays
    assert model_cycles(new, config=FAST_CPU) < model_cycles(fn, config=FAST_CPU)


def test_interleave_after_the_accumulator_tile_was_double_buffered_apart():
    """The tile already alternates one accumulator bank apart across i: interleave
    prefetches the zeroing and A without expanding the tile again (it has its copies)."""
    fn = parse(ZERO_AND_LOAD_TEXT)
    i = loop(fn, "i")
    fn = apply(fn, Application("double_buffer", path_of(fn, "mvout"),
                               (("apart", True), ("loop", i))), CFG)
    check_program(fn, seed=10)
    new = apply(fn, Application("interleave", i, (("load", 0), ("work", 1))), CFG)
    i_loop = get(new.body, loop(new, "i"))
    assert not any(is_load_stmt(s) for s in i_loop.body)   # every load loop prefetched
    check_program(new, seed=11)
    store = get(new.body, path_of(new, "mvout"))
    assert repr(store.args[1]) == repr(get(fn.body, path_of(fn, "mvout")).args[1])


LOADS_IN_WORK_TEXT = """
void f(const float* scale, bool act, const int8_t A[64][256], const int8_t B[256][64],
       int8_t C[64][64]) {
  config_st(64, act, *scale);
  config_ex(WEIGHT_STATIONARY, 0, 1, 0, 0);
  config_ld(64, 1.0f, 2);
  config_ld(256, 1.0f, 1);
  config_ld(0, 1.0f, 0);
  for (int k = 0; k < 16; k++) {
    mvin3(&B[16 * k][0], 4096 + 64 * k, 64, 16);
  }
  for (int i = 0; i < 4; i++) {
    for (int j = 0; j < 4; j++) {
      mvin(0, 16 * j + 0x80000000, 16, 16);
    }
    for (int ko = 0; ko < 4; ko++) {
      mvin2(&A[16 * i][64 * ko], 64 * ko, 64, 16);
      for (int k = 0; k < 4; k++) {
        for (int j = 0; j < 4; j++) {
          preload(4096 + 256 * ko + 64 * k + 16 * j, 16 * j + 0xC0000000, 16, 16, 16, 16);
          compute_preloaded(64 * ko + 16 * k, ~((uint32_t)0), 16, 16, 16, 16);
        }
      }
    }
    for (int j = 0; j < 4; j++) {
      mvout(&C[16 * i][16 * j], 16 * j + 0x80000000, 16, 16);
    }
  }
}
"""


def test_interleave_splits_loads_off_the_top_of_the_work_loop():
    """A is loaded at the top of each ko iteration: interleave fissions those loads into
    their own loop (with the zeroing loop next to it) and prefetches them a row tile ahead."""
    fn = parse(LOADS_IN_WORK_TEXT)
    check_program(fn)
    a = app_named(fn, "interleave", CFG, lambda a: a.p["load"] == a.p["work"])
    assert a.site == loop(fn, "i")
    new = apply(fn, a, CFG)
    counts = check_program(new, seed=10)
    assert counts["mvin2"] == 4 * 4
    i_loop = get(new.body, loop(new, "i"))
    assert not any(is_load_stmt(s) for s in i_loop.body)
    assert model_cycles(new, config=FAST_CPU) < model_cycles(fn, config=FAST_CPU)


def test_interleave_refuses_a_work_loop_without_leading_loads():
    fn = parse(LOADS_IN_WORK_TEXT)
    k_loop = loop(fn, "k")
    with pytest.raises(NotApplicable):
        apply(fn, Application("interleave", k_loop[:-1], (("load", k_loop[-1]),
                                                          ("work", k_loop[-1]))), CFG)


UNROLLED_TILE_TEXT = """
void f(const float* scale, bool act, const int8_t A[32][64], const int8_t B[64][256],
       int8_t C[32][256]) {
  config_st(256, act, *scale);
  config_ex(WEIGHT_STATIONARY, 0, 1, 0, 0);
  config_ld(256, 1.0f, 2);
  config_ld(64, 1.0f, 1);
  config_ld(0, 1.0f, 0);
  for (int k = 0; k < 4; k++) {
    for (int j = 0; j < 4; j++) {
      mvin3(&B[16 * k][64 * j], 4096 + 256 * j + 64 * k, 64, 16);
    }
  }
  for (int i = 0; i < 2; i++) {
    mvin2(&A[16 * i][0], 0, 64, 16);
    for (int j = 0; j < 4; j++) {
      mvin(0, 0x80000000, 16, 16);
      mvin(0, 0x80000010, 16, 16);
      mvin(0, 0x80000020, 16, 16);
      mvin(0, 0x80000030, 16, 16);
      for (int k = 0; k < 4; k++) {
        preload(4096 + 256 * j + 64 * k, 0xC0000000, 16, 16, 16, 16);
        compute_preloaded(16 * k, ~((uint32_t)0), 16, 16, 16, 16);
        preload(4096 + 256 * j + 64 * k + 16, 0xC0000010, 16, 16, 16, 16);
        compute_preloaded(16 * k, ~((uint32_t)0), 16, 16, 16, 16);
        preload(4096 + 256 * j + 64 * k + 32, 0xC0000020, 16, 16, 16, 16);
        compute_preloaded(16 * k, ~((uint32_t)0), 16, 16, 16, 16);
        preload(4096 + 256 * j + 64 * k + 48, 0xC0000030, 16, 16, 16, 16);
        compute_preloaded(16 * k, ~((uint32_t)0), 16, 16, 16, 16);
      }
      mvout(&C[16 * i][64 * j], 0x80000000, 16, 16);
      mvout(&C[16 * i][64 * j + 16], 0x80000010, 16, 16);
      mvout(&C[16 * i][64 * j + 32], 0x80000020, 16, 16);
      mvout(&C[16 * i][64 * j + 48], 0x80000030, 16, 16);
    }
  }
}
"""


def test_double_buffer_takes_every_block_of_an_unrolled_tile():
    """Four mvouts store one 64-row accumulator tile: double-buffering one of them across
    j gives the whole tile (all four blocks, their zeroing and preloads) two copies."""
    fn = parse(UNROLLED_TILE_TEXT)
    check_program(fn)
    a = Application("double_buffer", path_of(fn, "mvout", 2), (("loop", loop(fn, "j", 1)),))
    new = apply(fn, a, CFG)
    check_program(new, seed=11)
    for n in range(4):
        store = get(new.body, path_of(new, "mvout", n))
        assert "%" in repr(store.args[1]), n
    assert model_cycles(new, config=FAST_CPU) < model_cycles(fn, config=FAST_CPU)


def test_double_buffer_apart_puts_the_accumulator_copies_in_two_banks():
    """The accumulator tile double-buffered one accumulator bank apart: the next tile's
    zeroing and this tile's mvouts go through the other bank's port than the computes
    write, so (with accumulator port contention) they steal no execute cycles, and the
    run is faster than with the two copies side by side in one bank."""
    fn = parse(UNROLLED_TILE_TEXT)
    site, j = path_of(fn, "mvout", 2), loop(fn, "j", 1)
    found = [a for a in applications(fn, CFG, ["double_buffer"])
             if a.site == site and a.p.get("apart") and a.p["loop"] == j]
    assert found and "accumulator banks" in found[0].note
    new = apply(fn, found[0], CFG)
    check_program(new, seed=13)
    from autocomp_exo.transforms.ir_util import const_decls, eval_expr
    consts = const_decls(new)
    for n in range(4):
        store = get(new.body, path_of(new, "mvout", n))
        r0, r1 = (eval_expr(store.args[1], {**consts, "i": 0, "j": v}) for v in (0, 1))
        assert r1 - r0 == CFG.acc_bank_rows, n
    near = apply(fn, Application("double_buffer", site, (("loop", j),)), CFG)
    contended = FAST_CPU.with_timing(acc_port_contention=True)
    assert model_cycles(new, config=contended) < model_cycles(near, config=contended)


def test_resident_hoists_a_load_that_residency_guarded():
    """A guarded by ``if (j == 0)`` inside the column loop: the unguard variant hoists the
    same loads before the loop (the guard dropped), ready for interleave's prefetch."""
    fn = basic_gemm(M, N, K)
    guarded = apply(fn, app_named(fn, "resident", CFG, lambda a: "mvin2" in a.note
                                  and not a.p.get("hoist")), CFG)
    a = app_named(guarded, "resident", CFG, lambda a: a.p.get("unguard"))
    new = apply(guarded, a, CFG)
    counts = check_gemm(new, M, N, K, seed=12)
    assert counts["mvin2"] == I_TILES * (K // 64)
    a_loops = {lp.var for _, x, lps in instrs(new.body) if x.op == "mvin2" for lp in lps}
    assert "j" not in a_loops
    assert not any(isinstance(s, If) and "j" in repr(s.cond) for _, s, _ in walk(new.body))
    assert model_cycles(new) <= model_cycles(guarded)


LOCAL_BASE_TEXT = ZERO_AND_LOAD_TEXT.replace("""  for (int i = 0; i < 4; i++) {
    for (int j = 0; j < 4; j++) {
      mvin(0, 16 * j + 0x80000000, 16, 16);
      mvin2(&A[16 * i][64 * j], 64 * j, 64, 16);
    }""", """  for (int i = 0; i < 4; i++) {
    uint32_t a_base = 64;
    for (int j = 0; j < 4; j++) {
      mvin(0, 16 * j + 0x80000000, 16, 16);
    }
    for (int ko = 0; ko < 4; ko += 2) {
      mvin2(&A[16 * i][64 * ko], a_base + 64 * ko - 64, 64, 16);
      mvin2(&A[16 * i][64 * ko + 64], a_base + 64 * ko, 64, 16);
    }""")


def test_interleave_takes_loads_with_a_step_and_loop_locals():
    """A partially unrolled load loop (step 2) reading a local of the loop it is
    prefetched across: the local is inlined into the prefetch and the prologue."""
    fn = parse(LOCAL_BASE_TEXT)
    check_program(fn)
    new = apply(fn, Application("interleave", loop(fn, "i"), (("load", 2), ("work", 3))), CFG)
    counts = check_program(new, seed=13)
    assert counts["mvin2"] == 4 * 4
    i_loop = get(new.body, loop(new, "i"))
    assert not any(is_load_stmt(s) and "mvin2" in repr(s) for s in i_loop.body)


BARE_LOAD_TEXT = gemm_kernel(64, 64, 64, """
  for (int k = 0; k < 4; k++) {
    mvin3(&B[16 * k][0], 64 + 64 * k, 64, 16);
  }
  for (int i = 0; i < 4; i++) {
    for (int j = 0; j < 4; j++) {
      mvin(0, 16 * j + 0x80000000, 16, 16);
    }
    mvin2(&A[16 * i][0], 8192, 64, 16);
    for (int k = 0; k < 4; k++) {
      for (int j = 0; j < 4; j++) {
        preload(64 + 64 * k + 16 * j, 16 * j + 0xC0000000, 16, 16, 16, 16);
        compute_preloaded(8192 + 16 * k, ~((uint32_t)0), 16, 16, 16, 16);
      }
    }
    for (int j = 0; j < 4; j++) {
      mvout(&C[16 * i][16 * j], 16 * j + 0x80000000, 16, 16);
    }
  }
""")


@pytest.mark.parametrize("wrap", [1, 2])
def test_interleave_prefetches_a_bare_load(wrap):
    """A is one mvin2 of the whole row tile, not a loop: interleave wraps it (alone, or
    with the zeroing loop before it) in a one-trip loop and prefetches it a row tile
    ahead; both A and the zeroed accumulator tile get second copies."""
    fn = parse(BARE_LOAD_TEXT)
    check_program(fn)
    a = app_named(fn, "interleave", CFG, lambda a: a.p.get("wrap") == wrap)
    assert a.site == loop(fn, "i") and a.p["work"] == 2
    new = apply(fn, a, CFG)
    counts = check_program(new, seed=11)
    assert counts["mvin2"] == 4 and counts["mvout"] == 16
    i_loop = get(new.body, loop(new, "i"))
    assert sum(is_load_stmt(s) for s in i_loop.body) == 2 - wrap
    assert "%" in repr(get(new.body, path_of(new, "mvin2", 1)).args[1])
    assert model_cycles(new, config=FAST_CPU) < model_cycles(fn, config=FAST_CPU)


def test_interleave_refuses_to_wrap_a_non_load():
    fn = parse(BARE_LOAD_TEXT)
    i_loop = loop(fn, "i")
    with pytest.raises(NotApplicable):
        apply(fn, Application("interleave", i_loop, (("load", 1), ("work", 3), ("wrap", 2))),
              CFG)


NEST_LOADS_TEXT = gemm_kernel(32, 64, 256, """
  for (int k = 0; k < 16; k++) {
    mvin3(&B[16 * k][0], 4096 + 64 * k, 64, 16);
  }
  for (int i = 0; i < 2; i++) {
    for (int j = 0; j < 4; j++) {
      mvin(0, 16 * j + 0x80000000, 16, 16);
    }
    for (int ko = 0; ko < 4; ko++) {
      for (int k = 0; k < 4; k++) {
        mvin2(&A[16 * i][64 * ko + 16 * k], 16 * k, 16, 16);
        for (int j = 0; j < 4; j++) {
          preload(4096 + 256 * ko + 64 * k + 16 * j, 16 * j + 0xC0000000, 16, 16, 16, 16);
          compute_preloaded(16 * k, ~((uint32_t)0), 16, 16, 16, 16);
        }
      }
    }
    for (int j = 0; j < 4; j++) {
      mvout(&C[16 * i][16 * j], 16 * j + 0x80000000, 16, 16);
    }
  }
""")


def test_interleave_splits_loads_off_a_loop_nest():
    """The loads sit at the top of the innermost loop k of the nest ko > k, into buffers
    that every ko iteration reuses: interleave splits them off level by level (giving
    each ko iteration its own copies so the load nest may run ahead), then prefetches
    the whole load nest of row tile i + 1 during the computes of tile i."""
    fn = parse(NEST_LOADS_TEXT)
    check_program(fn)
    i_path = loop(fn, "i")
    a = app_named(fn, "interleave", CFG, lambda a: a.site == i_path and
                  a.p["load"] == a.p["work"] == 1)
    new = apply(fn, a, CFG)
    counts = check_program(new, seed=12)
    assert counts["mvin2"] == 2 * 4 * 4
    i_loop = get(new.body, loop(new, "i"))
    assert not any(is_load_stmt(s) for s in i_loop.body)   # all loads are prefetched
    a_rows = rows_of(new, path_of(new, "mvin2"))
    assert a_rows.hi - a_rows.lo >= 4 * 64                  # a copy of A per ko iteration
    assert model_cycles(new, config=FAST_CPU) < model_cycles(fn, config=FAST_CPU)


def test_distinct_after_double_buffering_packs_copies_beside_each_piece():
    """A's buffer already alternates between two banks across i; giving each ko iteration
    its own copy as well puts the ko copies next to each piece, in the piece's bank (one
    block spanning both banks would need more room than the copies)."""
    fn = parse(NEST_LOADS_TEXT)
    site = path_of(fn, "mvin2")
    a = Application("double_buffer", site, (("apart", True), ("loop", loop(fn, "i"))))
    fn = apply(fn, a, CFG)
    before = sorted((e.lo, e.hi) for e in extents(fn, CFG) if e.path == site and e.arg == 1)
    x = app_named(fn, "distinct", CFG, lambda a: a.site == site and
                  a.p["outer"] == loop(fn, "i"))            # copies across ko only
    new = apply(fn, x, CFG)
    check_program(new, seed=13)
    after = sorted((e.lo, e.hi) for e in extents(new, CFG)
                   if e.path == path_of(new, "mvin2") and e.arg == 1)
    assert len(before) == len(after) == 2
    for (lo, hi), (lo2, hi2) in zip(before, after):
        assert lo2 // CFG.sp_bank_rows == lo // CFG.sp_bank_rows      # same bank as before
        assert hi2 - lo2 >= 4 * (hi - lo)                              # a copy per ko


def test_distinct_offers_inner_loop_levels():
    """A's buffer is reused across i and ko: distinct offers copies across both (the
    outermost level) and across the inner loop ko only."""
    fn = parse(NEST_LOADS_TEXT)
    site = path_of(fn, "mvin2")
    outers = {a.p["outer"] for a in applications(fn, CFG, ["distinct"]) if a.site == site}
    assert outers == {(), loop(fn, "i")}
