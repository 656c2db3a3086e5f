"""Dead-guard elimination (`guards.fold_guards`, part of every rewrite's normalization)
and residency of a buffer whose copies alternate. Semantics are checked with the
independent interpreter of transforms_support against numpy."""

from autocomp_exo.transforms import apply
from autocomp_exo.transforms.guards import fold_guards, truth
from autocomp_exo.transforms.ir_util import instrs, walk
from autocomp_exo.transforms.regions import extents
from gemmini.config import get_config
from gemmini.ir import BinOp, Const, If, Var
from transforms_support import app_named, check_program, gemm_kernel, parse

CFG = get_config()

GUARDED_TEXT = gemm_kernel(64, 64, 64, """
  for (int i = 0; i < 4; i++) {
    if (1) {
      for (int j = 0; j < 4; j++) {
        mvin(0, 16 * j + 0x80000000, 16, 16);
      }
    }
    if (i + 1 == 0) {
      mvin2(&A[0][0], 0, 64, 16);
    }
    if (i < 4 && i >= 0) {
      mvin2(&A[16 * i][0], 0, 64, 16);
    } else {
      mvin2(&A[0][0], 0, 64, 16);
    }
    for (int k = 0; k < 4; k++) {
      if (i == 0) {
        mvin3(&B[16 * k][0], 4096 + 64 * k, 64, 16);
      }
      for (int j = 0; j < 4; j++) {
        preload(4096 + 64 * k + 16 * j, 16 * j + 0xC0000000, 16, 16, 16, 16);
        compute_preloaded(16 * k, ~((uint32_t)0), 16, 16, 16, 16);
      }
    }
    for (int j = 0; j < 4; j++) {
      mvout(&C[16 * i][16 * j], 16 * j + 0x80000000, 16, 16);
    }
  }
""")


def test_truth_decides_conditions_from_variable_ranges():
    i = Var("i")
    rng = {"i": (0, 3)}
    assert truth(BinOp("==", BinOp("+", i, Const(1)), Const(0)), rng) is False
    assert truth(BinOp("<", i, Const(4)), rng) is True
    assert truth(BinOp("==", i, Const(0)), rng) is None
    assert truth(BinOp("&&", BinOp("<", i, Const(4)), BinOp(">=", i, Const(0))), rng) is True
    assert truth(BinOp("||", BinOp("==", i, Const(9)), BinOp("<", i, Const(0))), rng) is False
    assert truth(Const(1), rng) is True and truth(Var("act"), rng) is None


def test_fold_guards_keeps_semantics_and_only_undecided_ifs():
    fn = parse(GUARDED_TEXT)
    want = check_program(fn)
    new = fold_guards(fn)
    got = check_program(new, seed=0)
    ifs = [s for _, s, _ in walk(new.body) if isinstance(s, If)]
    assert len(ifs) == 1 and ifs[0].cond == BinOp("==", Var("i"), Const(0))   # B's guard
    assert got["mvin2"] == want["mvin2"] == 4                                   # dead one gone
    assert sum(1 for _, x, _ in instrs(new.body) if x.op == "mvin2") == 1


def test_every_rewrite_comes_out_with_decided_guards_folded():
    fn = parse(GUARDED_TEXT)
    a = app_named(fn, "unroll", CFG)
    new = apply(fn, a, CFG)
    assert not any(isinstance(s, If) and s.cond in (Const(1), BinOp("==", BinOp(
        "+", Var("i"), Const(1)), Const(0))) for _, s, _ in walk(new.body))
    check_program(new, seed=1)


ALTERNATING_TEXT = gemm_kernel(64, 64, 64, """
  for (int i = 0; i < 4; i++) {
    for (int j = 0; j < 4; j++) {
      mvin(0, 16 * j + 0x80000000, 16, 16);
    }
    mvin2(&A[16 * i][0], 0, 64, 16);
    for (int k = 0; k < 4; k++) {
      mvin3(&B[16 * k][0], 4096 * (k % 2) + 4096, 64, 16);
      for (int j = 0; j < 4; j++) {
        preload(4096 * (k % 2) + 4096 + 16 * j, 16 * j + 0xC0000000, 16, 16, 16, 16);
        compute_preloaded(16 * k, ~((uint32_t)0), 16, 16, 16, 16);
      }
    }
    for (int j = 0; j < 4; j++) {
      mvout(&C[16 * i][16 * j], 16 * j + 0x80000000, 16, 16);
    }
  }
""")


def test_resident_gives_each_tile_its_copy_when_the_buffer_alternates():
    """B's blocks alternate between two banks (k % 2), so k = 0 and k = 2 share rows:
    keeping B resident across i needs a copy per k, beside each bank's piece."""
    fn = parse(ALTERNATING_TEXT)
    check_program(fn)
    site = next(p for p, x, _ in instrs(fn.body) if x.op == "mvin3")
    pieces = [e for e in extents(fn, CFG) if e.path == site and e.arg == 1]
    assert len(pieces) == 2                                 # the two banks
    a = app_named(fn, "resident", CFG, lambda a: a.site == site and not a.p.get("hoist"))
    new = apply(fn, a, CFG)
    counts = check_program(new, seed=2)
    assert counts["mvin3"] == 4                             # was 16
    new_site = next(p for p, x, _ in instrs(new.body) if x.op == "mvin3")
    after = sorted((e.lo, e.hi) for e in extents(new, CFG) if e.path == new_site and e.arg == 1)
    banks = {lo // CFG.sp_bank_rows for lo, _ in after}
    assert len(banks) == 2                                  # still one bank apart
