"""Weight reuse (compute_accumulated after a GARBAGE preload) is priced as the RTL runs it.

Gemmini's ExecuteController (WS dataflow) reads no scratchpad bank for a preload whose
B is GARBAGE: such a pair has no B read, hence no A/B bank conflict; alone the preload
takes `garbage_preload_cycles`, and the compute streams max(A rows, `feed_min_rows`)
rows. Each test builds a GEMM twice, once preloading B for every row tile and once
preloading it for the first tile only, and checks the difference in execute cycles
against the value worked out by hand from the parameters.
"""

import numpy as np

from gemmini import model
from gemmini.config import get_config
from tests.model_helpers import (ACC, GARBAGE, I, add, config_ex, config_ld,
                                 config_st, dram, fn, loop, mul)

TILES = 8
# a CPU fast enough that every preload after the first is queued before the compute
# ahead of it ends (so it hides behind it) in both versions
FAST_CPU = dict(cpu_issue=1, cpu_arith_op=0, cpu_loop_iter=0, cpu_local_assign=0, cpu_branch=0)


def gemm(reuse: bool, b_row: int, a_rows: int = 16, fenced: bool = False):
    """C[16*TILES, 16] = A[16*TILES, 16] @ B[16, 16]; A at rows 0.., B at `b_row`.

    All loads finish (fence) before the first compute, so no DMA write competes with
    the computes for a bank. ``fenced`` also fences after every pair, so every
    preload runs alone.
    """
    after = [I("fence")] if fenced else []
    body = [config_ld(16), config_ex(), config_st(16),
            loop("i", TILES, I("mvin", dram("A", mul("i", 256)), mul("i", 16), 16, a_rows)),
            I("mvin", dram("B", 0), b_row, 16, 16),
            I("fence"),
            I("preload", b_row, ACC, 16, 16, 16, a_rows),
            I("compute_preloaded", 0, GARBAGE, 16, a_rows, 16, 16), *after]
    if reuse:
        pair = (I("preload", GARBAGE, add(ACC, mul("i", 16)), 16, 16, 16, a_rows),
                I("compute_accumulated", mul("i", 16), GARBAGE, 16, a_rows, 16, 16))
    else:
        pair = (I("preload", b_row, add(ACC, mul("i", 16)), 16, 16, 16, a_rows),
                I("compute_preloaded", mul("i", 16), GARBAGE, 16, a_rows, 16, 16))
    body.append(loop("i", TILES, *pair, *after, lo=1))
    body.append(loop("i", TILES, I("mvout", dram("C", mul("i", 256)), add(ACC, mul("i", 16)),
                                   16, a_rows)))
    return fn([("A", "i8", (16 * TILES, 16), True), ("B", "i8", (16, 16), True),
               ("C", "i8", (16 * TILES, 16), False)], *body)


def inputs(seed=0):
    rng = np.random.default_rng(seed)
    return {"A": rng.integers(-3, 4, (16 * TILES, 16), dtype=np.int8),
            "B": rng.integers(-3, 4, (16, 16), dtype=np.int8)}


def run_pair(b_row, a_rows=16, fenced=False):
    cfg = get_config().with_timing(**FAST_CPU)
    x = inputs()
    fresh = model.run(gemm(False, b_row, a_rows, fenced), x, cfg)
    reused = model.run(gemm(True, b_row, a_rows, fenced), x, cfg)
    expect = x["A"].astype(np.int32) @ x["B"].astype(np.int32)
    expect[np.arange(16 * TILES) % 16 >= a_rows] = 0
    for r in (fresh, reused):
        assert r.outputs["C"].tolist() == expect.astype(np.int8).tolist()
    return cfg.timing, fresh.report, reused.report


def test_reuse_removes_the_bank_conflict_of_a_b_sharing_as_bank():
    tp, fresh, reused = run_pair(b_row=16 * TILES)            # A and B both in bank 0
    conflict = round(tp.block_cycles * tp.bank_conflict_factor)   # 28 with the defaults
    assert fresh.bank_conflicts == TILES and reused.bank_conflicts == 1
    # by hand: TILES - 1 computes drop from the conflict rate to a plain block
    assert fresh.busy["execute"] - reused.busy["execute"] == \
        (TILES - 1) * (conflict - tp.block_cycles)


def test_reuse_saves_nothing_when_a_and_b_sit_in_different_banks():
    _, fresh, reused = run_pair(b_row=8192)                   # B in bank 2
    assert fresh.bank_conflicts == reused.bank_conflicts == 0
    assert fresh.busy["execute"] == reused.busy["execute"]


def test_short_a_blocks_stream_fewer_rows_with_held_weights():
    tp, fresh, reused = run_pair(b_row=8192, a_rows=6)
    held = max(6, tp.feed_min_rows)                           # 6 rows instead of DIM
    assert fresh.busy["execute"] - reused.busy["execute"] == \
        (TILES - 1) * (tp.block_cycles - held)
    _, fresh2, reused2 = run_pair(b_row=8192, a_rows=2)
    assert fresh2.busy["execute"] - reused2.busy["execute"] == \
        (TILES - 1) * (tp.block_cycles - tp.feed_min_rows)    # never below 4 rows


def test_a_lone_garbage_preload_is_short():
    tp, fresh, reused = run_pair(b_row=8192, fenced=True)
    assert fresh.exposed_preloads == reused.exposed_preloads == TILES
    assert fresh.busy["execute"] - reused.busy["execute"] == \
        (TILES - 1) * (tp.preload_cycles - tp.garbage_preload_cycles)
