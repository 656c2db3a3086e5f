"""Arithmetic, hoisting, reordering, mvin merging and weight reuse."""

import pytest

from autocomp_exo.transforms import NotApplicable, apply
from autocomp_exo.transforms.base import Application
from autocomp_exo.transforms.estimate import estimate
from autocomp_exo.transforms.ir_util import instrs, walk
from gemmini.config import get_config
from gemmini.ir import BinOp, Const, Decl, For, Instr
from transforms_support import (NARROW_LOADS_TEXT, WEIGHT_REUSE_TEXT, app_named, basic_gemm,
                                check_gemm, check_program, gemm_kernel, parse)

CFG = get_config()
M, N, K = 32, 128, 128


@pytest.fixture(scope="module")
def gemm():
    return basic_gemm(M, N, K)


def test_const_prop_inlines_buffer_bases(gemm):
    new = apply(gemm, Application("const_prop", ()), CFG)
    assert not any(isinstance(s, Decl) for _, s, _ in walk(new.body))
    pre = next(i for _, i, _ in instrs(new.body) if i.op == "compute_preloaded")
    assert "Var(name='a')" not in repr(pre.args[0])
    check_gemm(new, M, N, K)


def test_simplify_turns_flag_or_into_a_folded_add(gemm):
    before = next(i for _, i, _ in instrs(gemm.body) if i.op == "preload")
    assert isinstance(before.args[1], BinOp) and before.args[1].op == "|"
    new = apply(gemm, Application("simplify", ()), CFG)
    pre = next(i for _, i, _ in instrs(new.body) if i.op == "preload")
    assert not (isinstance(pre.args[1], BinOp) and pre.args[1].op == "|")
    check_gemm(new, M, N, K)
    folded = apply(gemm, Application("const_prop", ()), CFG)      # const_prop folds too
    pre = next(i for _, i, _ in instrs(folded.body) if i.op == "preload")
    assert not (isinstance(pre.args[1], BinOp) and pre.args[1].op == "|")


def test_strength_reduction_precomputes_bases(gemm):
    ko = next(p for p, s, _ in walk(gemm.body) if isinstance(s, For) and s.var == "ko")
    new = apply(gemm, Application("strength", ko), CFG)
    from autocomp_exo.transforms.ir_util import get
    body = get(new.body, ko).body
    assert isinstance(body[0], Decl)
    assert estimate(new, CFG).cpu < estimate(gemm, CFG).cpu
    check_gemm(new, M, N, K)


def test_hoist_moves_an_invariant_load_out_of_its_loop():
    fn = parse(WEIGHT_REUSE_TEXT.replace(
        "  mvin3(&B[0][0], 1024, 16, 16);\n  for (int i = 0; i < 4; i++) {\n",
        "  for (int i = 0; i < 4; i++) {\n    mvin3(&B[0][0], 1024, 16, 16);\n"))
    assert check_program(fn)["mvin3"] == 4
    a = app_named(fn, "hoist", CFG, lambda a: "mvin3" in a.note)
    new = apply(fn, a, CFG)
    assert check_program(new)["mvin3"] == 1


def test_hoist_refuses_a_load_whose_rows_the_loop_overwrites():
    text = WEIGHT_REUSE_TEXT.replace(
        "  mvin3(&B[0][0], 1024, 16, 16);\n  for (int i = 0; i < 4; i++) {\n",
        "  for (int i = 0; i < 4; i++) {\n    mvin3(&B[0][0], 1024, 16, 16);\n"
        "    mvin(0, 1024, 16, 16);\n")
    fn = parse(text)
    from autocomp_exo.transforms.ir_util import instrs as _instrs
    path = next(p for p, i, _ in _instrs(fn.body) if i.op == "mvin3")
    with pytest.raises(NotApplicable):
        apply(fn, Application("hoist", path), CFG)


def test_hoist_decls_moves_buffer_declarations_to_the_top(gemm):
    new = apply(gemm, Application("hoist_decls", ()), CFG)
    assert [s.name for s in new.body if isinstance(s, Decl)] == ["res", "a", "b"]
    check_gemm(new, M, N, K)


def test_drop_configs_removes_a_repeat():
    fn = parse(WEIGHT_REUSE_TEXT.replace("  config_ld(0, 1.0f, 0);\n",
                                         "  config_ld(0, 1.0f, 0);\n  config_ld(16, 1.0f, 2);\n"))
    new = apply(fn, Application("drop_configs", ()), CFG)
    assert sum(1 for _, i, _ in instrs(new.body) if i.op == "config_ld") == 3
    check_program(new)


def test_mvin_merge_widens_zero_and_data_loads():
    fn = parse(NARROW_LOADS_TEXT)
    for pred, op in ((lambda a: "mvins of loop z" in a.note, "mvin"),
                     (lambda a: "mvin2s" in a.note, "mvin2")):
        a = app_named(fn, "mvin_merge", CFG, pred)
        new = apply(fn, a, CFG)
        wide = [i for _, i, _ in instrs(new.body) if i.op == op and i.args[2] == Const(64)]
        assert len(wide) == 1
        check_program(new)


def test_mvin_merge_respects_the_accumulator_width():
    text = NARROW_LOADS_TEXT.replace("mvin(0, 512 + 16 * z, 16, 16)",
                                     "mvin(0, 0x80000100 + 16 * z, 16, 16)")
    fn = parse(text)
    from autocomp_exo.transforms.mvin_merge import find_merge
    assert not [a for a in find_merge(fn, CFG) if "loop z" in a.note]


def test_mvin_merge_refuses_non_contiguous_columns():
    text = NARROW_LOADS_TEXT.replace("mvin2(&A[0][16 * k], 16 * k, 16, 16)",
                                     "mvin2(&A[0][16 * (3 - k)], 48 - 16 * k, 16, 16)")
    fn = parse(text)
    check_program(fn)
    from autocomp_exo.transforms.mvin_merge import find_merge
    assert not [a for a in find_merge(fn, CFG) if "mvin2" in a.note]


def test_reuse_weights_uses_compute_accumulated():
    fn = parse(WEIGHT_REUSE_TEXT)
    a = app_named(fn, "reuse_weights", CFG)
    new = apply(fn, a, CFG)
    counts = check_program(new)
    assert counts["compute_accumulated"] == 3 and counts["compute_preloaded"] == 1
    garbage_b = [i for _, i, _ in instrs(new.body)
                 if i.op == "preload" and i.args[0] == Const(0xFFFFFFFF)]
    assert len(garbage_b) == 1


def test_reuse_weights_needs_fixed_weights(gemm):
    from autocomp_exo.transforms.weights import find_reuse_weights
    assert find_reuse_weights(gemm, CFG) == []      # every block of Exo's mapping has new B


def test_move_up_issues_loads_earlier():
    text = NARROW_LOADS_TEXT.replace("  for (int k = 0; k < 4; k++) {\n    mvin3",
                                     "  fence();\n  for (int k = 0; k < 4; k++) {\n    mvin3")
    fn = parse(text)
    a = app_named(fn, "move_up", CFG)
    new = apply(fn, a, CFG)
    check_program(new)
    ops = [s.op if isinstance(s, Instr) else type(s).__name__ for s in new.body]
    assert ops.index("fence") > 7          # the B loads now come before the fence


def test_move_up_refuses_to_pass_the_compute_that_reads_the_rows():
    store = "  mvout(&C[0][0], 0x80000000, 16, 16);"
    text = NARROW_LOADS_TEXT.replace(store, "  mvin(0, 512, 16, 16);\n" + store)
    fn = parse(text)
    path = (10,)
    assert isinstance(fn.body[10], Instr) and fn.body[10].args[1] == Const(512)
    with pytest.raises(NotApplicable):
        apply(fn, Application("move_up", path, (("up", 1),)), CFG)


def test_every_found_misc_application_keeps_semantics(gemm):
    from autocomp_exo.transforms import applications
    n = 0
    for fn, check in ((gemm, lambda f, s: check_gemm(f, M, N, K, seed=s)),
                      (parse(NARROW_LOADS_TEXT), lambda f, s: check_program(f, seed=s)),
                      (parse(WEIGHT_REUSE_TEXT), lambda f, s: check_program(f, seed=s))):
        for a in applications(fn, CFG, ["const_prop", "simplify", "strength", "hoist",
                                        "hoist_decls", "drop_configs", "mvin_merge",
                                        "reuse_weights", "move_up"]):
            try:
                new = apply(fn, a, CFG)
            except NotApplicable:
                continue
            check(new, n)
            n += 1
    assert n >= 10


def test_instruction_nodes_stay_canonical(gemm):
    """Every rewrite's operands are IR expressions (no Python ints leak in)."""
    from autocomp_exo.transforms import applications
    for a in applications(gemm, CFG)[:40]:
        try:
            new = apply(gemm, a, CFG)
        except NotApplicable:
            continue
        for _, i, _ in instrs(new.body):
            assert isinstance(i, Instr)
            assert all(not isinstance(x, int) for x in i.args)


def _unrolled_gemm():
    fn = basic_gemm(32, 128, 64)
    for name, pred in (("resident_all", lambda a: True),
                       ("unroll_nest", lambda a: "loop j" in a.note),
                       ("const_prop", lambda a: True)):
        fn = apply(fn, app_named(fn, name, CFG, pred), CFG)
    return fn


def test_fold_zeroing_replaces_zero_mvins_by_overwriting_preloads():
    fn = _unrolled_gemm()
    assert check_gemm(fn, 32, 128, 64)["mvin"] == 2 * 2 * 4
    new = apply(fn, Application("fold_zeroing", ()), CFG)
    counts = check_gemm(new, 32, 128, 64)
    assert counts.get("mvin", 0) == 0
    overwrite = [i for _, i, _ in instrs(new.body) if i.op == "preload"
                 and isinstance(i.args[1], Const) and not i.args[1].value & (1 << 30)]
    assert len(overwrite) == 4              # the first product of each of the 4 C blocks


def test_fold_zeroing_keeps_a_zero_that_is_read_before_the_product():
    text = NARROW_LOADS_TEXT.replace(
        "  mvin(0, 0x80000000, 16, 16);\n",
        "  mvin(0, 0x80000000, 16, 16);\n  mvout(&C[0][0], 0x80000000, 16, 16);\n")
    fn = parse(text)
    with pytest.raises(NotApplicable):
        apply(fn, Application("fold_zeroing", ()), CFG)


def test_const_prop_inlines_loops_that_run_once():
    fn = basic_gemm(32, 64, 128)                   # N = 64: the column loop runs once
    once = [s for _, s, _ in walk(fn.body) if isinstance(s, For) and s.var == "j"]
    assert once and all(s.hi.value - s.lo.value == 1 for s in once)
    new = apply(fn, Application("const_prop", ()), CFG)
    assert not [s for _, s, _ in walk(new.body) if isinstance(s, For) and s.var == "j"]
    check_gemm(new, 32, 64, 128)
    assert estimate(new, CFG).cycles < estimate(fn, CFG).cycles


SYMBOLIC_ZERO_TEXT = gemm_kernel(32, 128, 16, """
  for (int i = 0; i < 2; i++) {
    mvin2(&A[16 * i][0], 0, 16, 16);
    for (int j = 0; j < 2; j++) {
      mvin3(&B[0][64 * j], 64 * j + 4096, 64, 16);
      mvin(0, 512 * (j % 2) + 0x80000000, 16, 16);
      mvin(0, 512 * (j % 2) + 0x80000010, 16, 16);
      mvin(0, 512 * (j % 2) + 0x80000020, 16, 16);
      mvin(0, 512 * (j % 2) + 0x80000030, 16, 16);
      preload(64 * j + 4096, 512 * (j % 2) + 0xC0000000, 16, 16, 16, 16);
      compute_preloaded(0, ~((uint32_t)0), 16, 16, 16, 16);
      preload(64 * j + 4112, 512 * (j % 2) + 0xC0000010, 16, 16, 16, 16);
      compute_preloaded(0, ~((uint32_t)0), 16, 16, 16, 16);
      preload(64 * j + 4128, 512 * (j % 2) + 0xC0000020, 16, 16, 16, 16);
      compute_preloaded(0, ~((uint32_t)0), 16, 16, 16, 16);
      preload(64 * j + 4144, 512 * (j % 2) + 0xC0000030, 16, 16, 16, 16);
      compute_preloaded(0, ~((uint32_t)0), 16, 16, 16, 16);
      mvout(&C[16 * i][64 * j], 512 * (j % 2) + 0x80000000, 16, 16);
      mvout(&C[16 * i][64 * j + 16], 512 * (j % 2) + 0x80000010, 16, 16);
      mvout(&C[16 * i][64 * j + 32], 512 * (j % 2) + 0x80000020, 16, 16);
      mvout(&C[16 * i][64 * j + 48], 512 * (j % 2) + 0x80000030, 16, 16);
    }
  }
""")


def test_fold_zeroing_of_a_double_buffered_tile():
    """The zero mvins and first preloads of an accumulator tile whose copies alternate
    (``512 * (j % 2)``) fold like constant ones: same summands, accumulate bit apart."""
    fn = parse(SYMBOLIC_ZERO_TEXT)
    assert check_program(fn)["mvin"] == 2 * 2 * 4
    new = apply(fn, Application("fold_zeroing", ()), CFG)
    assert check_program(new, seed=2).get("mvin", 0) == 0


def test_fold_zeroing_keeps_a_symbolic_zero_read_before_the_product():
    text = SYMBOLIC_ZERO_TEXT.replace(
        "      mvin(0, 512 * (j % 2) + 0x80000030, 16, 16);\n",
        "      mvin(0, 512 * (j % 2) + 0x80000030, 16, 16);\n"
        "      mvout(&C[16 * i][64 * j], 512 * (j % 2) + 0x80000000, 16, 16);\n")
    fn = parse(text)
    new = apply(fn, Application("fold_zeroing", ()), CFG)
    assert check_program(new, seed=3)["mvin"] == 2 * 2 * 1    # block 0's zero stays
