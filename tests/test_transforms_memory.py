"""Residency, distinct locations, double buffering, bank placement, pipelining.

Instruction counts after a rewrite are compared with hand-derived values for the
32x128x128 basic mapping (i: 2, j: 2, ko: 2, four B row-tiles per ko).
"""

import pytest

from autocomp_exo.transforms import NotApplicable, apply
from autocomp_exo.transforms.base import Application
from autocomp_exo.transforms.ir_util import instrs, walk
from autocomp_exo.transforms.regions import extents
from gemmini import model
from gemmini.config import get_config
from gemmini.ir import If
from transforms_support import app_named, basic_gemm, check_gemm, gemm_inputs

CFG = get_config()
M, N, K = 32, 128, 128
I, J, KO = M // 16, N // 64, K // 64


@pytest.fixture(scope="module")
def gemm():
    return basic_gemm(M, N, K)


def load_path(fn, op):
    return next(p for p, i, _ in instrs(fn.body) if i.op == op)


def test_resident_b_loads_each_tile_once(gemm):
    a = app_named(gemm, "resident", CFG, lambda a: "mvin3" in a.note)
    new = apply(gemm, a, CFG)
    counts = check_gemm(new, M, N, K)
    assert counts["mvin3"] == J * KO * 4          # was I * J * KO * 4
    assert any(isinstance(s, If) for _, s, _ in walk(new.body))


def test_resident_a_reuses_the_row_tile_across_columns(gemm):
    a = app_named(gemm, "resident", CFG, lambda a: "mvin2" in a.note)
    new = apply(gemm, a, CFG)
    counts = check_gemm(new, M, N, K, seed=2)
    assert counts["mvin2"] == I * KO                # was I * J * KO


def test_resident_with_tiling_when_b_does_not_fit():
    """512 x 512 x 512: B needs the whole scratchpad; the j loop is tiled first."""
    fn = basic_gemm(32, 512, 512)
    a = app_named(fn, "resident", CFG, lambda a: "mvin3" in a.note)
    assert a.p.get("tile"), a.note
    new = apply(fn, a, CFG)
    counts = check_gemm(new, 32, 512, 512)
    assert counts["mvin3"] == (512 // 64) * (512 // 64) * 4     # each B tile once
    report = model.run(new, gemm_inputs(32, 512, 512), CFG).report
    assert report.sp_kib_used <= CFG.sp_kib


def test_resident_rejects_a_guard_loop_the_load_depends_on(gemm):
    with pytest.raises(NotApplicable):
        apply(gemm, Application("resident", load_path(gemm, "mvin2"),
                                (("guard", (5,)),)), CFG)    # loop i: A depends on i


def test_distinct_gives_each_iteration_its_own_rows(gemm):
    a = app_named(gemm, "distinct", CFG, lambda a: "mvin2" in a.note)
    new = apply(gemm, a, CFG)
    check_gemm(new, M, N, K)
    ext = [e for e in extents(new, CFG) if e.path == load_path(new, "mvin2") and e.arg == 1]
    assert ext[0].hi - ext[0].lo >= 2 * 64 * KO - 64


def test_double_buffer_alternates_two_copies(gemm):
    a = app_named(gemm, "double_buffer", CFG, lambda a: "mvin2" in a.note)
    new = apply(gemm, a, CFG)
    check_gemm(new, M, N, K, seed=5)
    x = next(i for _, i, _ in instrs(new.body) if i.op == "mvin2")
    assert "%" in repr(x.args[1])


def test_bank_moves_a_to_another_bank(gemm):
    a = app_named(gemm, "bank", CFG, lambda a: "mvin2" in a.note)
    new = apply(gemm, a, CFG)
    check_gemm(new, M, N, K)
    ext = extents(new, CFG)
    a_rows = [e for e in ext if e.path == load_path(new, "mvin2") and e.arg == 1][0]
    b_rows = [e for e in ext if e.path == load_path(new, "mvin3") and e.arg == 1][0]
    assert a_rows.lo // CFG.sp_bank_rows != b_rows.lo // CFG.sp_bank_rows


def test_pipeline_issues_next_loads_first():
    """Loads of ko + 1 go to rows distinct from those ko reads: legal to issue early."""
    fn = basic_gemm(32, 64, 128)
    a = app_named(fn, "pipeline", CFG, lambda a: "ko" in a.note)
    new = apply(fn, a, CFG)
    counts = check_gemm(new, 32, 64, 128)
    assert counts["mvin2"] == 2 * 2 and counts["mvin3"] == 2 * 2 * 4


def test_pipeline_is_refused_when_the_next_load_overwrites_live_rows():
    """After reusing one row tile for every ko (rows a + 0), early loads would clobber it."""
    from lowering.parser import parse_c
    from lowering.print_compact import to_compact
    fn = basic_gemm(32, 64, 128)
    text = to_compact(fn).replace("a + 64 * ko", "a").replace("a + 16 * k + 64 * ko", "a + 16 * k")
    bad = parse_c(text)
    check_gemm(bad, 32, 64, 128)
    a = app_named(bad, "pipeline", CFG, lambda a: "ko" in a.note)
    with pytest.raises(NotApplicable):
        apply(bad, a, CFG)


def test_every_found_memory_application_keeps_semantics(gemm):
    from autocomp_exo.transforms import applications
    ok = 0
    for a in applications(gemm, CFG, ["resident", "distinct", "double_buffer", "bank",
                                      "pipeline", "move_up"]):
        try:
            new = apply(gemm, a, CFG)
        except NotApplicable:
            continue
        check_gemm(new, M, N, K, seed=ok)
        ok += 1
    assert ok >= 8


def test_composition_of_the_expert_recipe(gemm):
    """B resident, A reused across j, A in its own bank: all correct, loads minimal."""
    fn = gemm
    for pred in (lambda a: "mvin3" in a.note, lambda a: "mvin2" in a.note):
        fn = apply(fn, app_named(fn, "resident", CFG, pred), CFG)
    fn = apply(fn, app_named(fn, "bank", CFG, lambda a: "mvin2" in a.note), CFG)
    counts = check_gemm(fn, M, N, K, seed=9)
    assert counts["mvin2"] == I * KO and counts["mvin3"] == J * KO * 4


def test_copies_one_bank_apart_are_two_pieces_of_one_operand(gemm):
    """An address that alternates between two copies one bank apart touches two separate
    row ranges; its extents say so, and the region holds both."""
    from autocomp_exo.transforms.regions import region_of
    a = app_named(gemm, "double_buffer", CFG, lambda a: "mvin2" in a.note and a.p.get("apart"))
    new = apply(gemm, a, CFG)
    check_gemm(new, M, N, K, seed=6)
    site = load_path(new, "mvin2")
    pieces = sorted((e.lo, e.hi) for e in extents(new, CFG) if e.path == site and e.arg == 1)
    assert len(pieces) == 2
    (lo0, hi0), (lo1, hi1) = pieces
    assert lo1 - lo0 == CFG.sp_bank_rows and hi0 - lo0 == hi1 - lo1 == 64 * KO
    seed = next(e for e in extents(new, CFG) if e.path == site and e.arg == 1)
    region = region_of(extents(new, CFG), seed)
    assert {(e.lo, e.hi) for e in region if e.path == site} == set(pieces)



def test_a_free_pair_is_found_beside_an_operand_that_runs_past_the_memory():
    """An operand's interval may overshoot the scratchpad's rows (an over-approximated
    address); the search for a free pair must still work: it avoids the operand's rows
    inside the memory and never places a copy past the capacity."""
    from autocomp_exo.transforms.regions import Extent, find_free_pair
    cfg = get_config("int8_16")
    cap = cfg.sp_rows
    past = Extent((0,), 0, "sp", cap - 64, cap + 200, "r")
    low = Extent((1,), 0, "sp", -32, 16, "r")
    pos = find_free_pair([past, low], [], "sp", 64, 128, cfg)
    assert pos is not None and pos >= 16 and pos + 128 + 64 <= cap - 64


def test_a_buffer_of_an_array_the_kernel_writes_moves_bank_but_gets_no_copies(
        tinympc_workloads):
    """The backward pass loads p[s + 1] and stores p[s]. Moving the buffer p is loaded into
    to another bank changes no value (checked against the reference); copies of it per
    iteration could be loaded before the store they must follow, so they stay refused."""
    from autocomp_exo.evaluation import ModelEvaluator
    from autocomp_exo.transforms.buffering import find_bank
    from autocomp_exo.transforms.residency import expand
    from benchmarks.baselines.tinympc_hand import hand_proc
    from lowering.exo_to_c import compile_proc
    from lowering.parser import parse_c
    fp32 = get_config("fp32_4")
    w = tinympc_workloads["tinympc_backward"]
    c = compile_proc(hand_proc(w.name))
    fn = parse_c(c.c_text, filename=f"{c.name}.c", function=c.name)
    p_loads = [path for path, x, loops in instrs(fn.body)
               if x.op.startswith("mvin") and getattr(x.args[0], "array", "") == "p"
               and len(loops) == 2]           # in the horizon loop, p[s + 1] by chunk
    moves = [a for a in find_bank(fn, fp32) if a.site in p_loads]
    assert moves
    assert ModelEvaluator.for_workload(w, "fp32_4").evaluate(apply(fn, moves[0], fp32)).ok
    with pytest.raises(NotApplicable, match="also written"):     # copies across s
        expand(fn, moves[0].site, (), fp32, copies=2)
