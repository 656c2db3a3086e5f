"""Baselines (lowering/generators/vendor_lib.py, fsm.py): tilers, structure, and semantics
against numpy through the host emulator (printer output) and the model."""

from __future__ import annotations

import numpy as np
import pytest

from lowering.generators import fsm, vendor_lib
from lowering.generators.vendor_lib import ConvTiles, GemmTiles, conv_tile_rows, loop_ws_fits
from lowering.suite import SUITE
from gemmini.config import get_config
from lowering.emulator.build import run_ir
from gemmini import ir
from benchmarks.numpy_reference import numpy_gemm, numpy_conv

CFG = get_config("int8_16")






def gemm_inputs(M, N, K, seed, act):
    rng = np.random.default_rng(seed)
    return {"A": rng.integers(-128, 128, (M, K), dtype=np.int8),
            "B": rng.integers(-128, 128, (K, N), dtype=np.int8),
            "scale": np.float32(0.002), "act": act}


def conv_inputs(batch, in_dim, in_ch, out_ch, seed, act):
    rng = np.random.default_rng(seed)
    return {"inp": rng.integers(-128, 128, (batch, in_dim, in_dim, in_ch), dtype=np.int8),
            "weights": rng.integers(-128, 128, (3, 3, in_ch, out_ch), dtype=np.int8),
            "bias": rng.integers(-20000, 20000, (1, out_ch), dtype=np.int32),
            "scale": np.float32(0.003), "act": act}


def count(stmts, op) -> int:
    """Static count of an instruction in an IR body (loops not multiplied)."""
    n = 0
    for s in stmts:
        if isinstance(s, ir.Instr):
            n += s.op == op
        elif isinstance(s, ir.For):
            n += count(s.body, op)
        elif isinstance(s, ir.If):
            n += count(s.then, op) + count(s.orelse, op)
    return n


# ---------------------------------------------------------------------------
# tilers
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape, tiles", [
    # start 5x5 (isqrt(512 acc rows / 16)); K = whole (<= 51 blocks). J 5->6 (acc 480 rows);
    # I 5->6 would need 576 > 512 rows; J 6->7 needs 560: stop.
    ((512, 512, 512), (5, 6, 32)),
    ((12544, 256, 64), (5, 6, 4)),
    # N is only 4 blocks: J stays 4, I grows 5->8 (8*4*16 = 512 rows)
    ((12544, 64, 256), (8, 4, 16)),
    ((16, 16, 16), (1, 1, 1)),
])
def test_gemm_tiler_matches_hand_derivation(shape, tiles):
    assert vendor_lib.gemm_tiles(*shape, CFG) == GemmTiles(*tiles)


def test_tiles_fit_the_loop_fsm_for_the_suite():
    for spec in SUITE:
        s = spec.shape_dict
        if spec.kind == "gemm":
            for t in (vendor_lib.gemm_tiles(s["M"], s["N"], s["K"], CFG),
                      fsm.best_gemm_tiles(s["M"], s["N"], s["K"], CFG, score="analytic")):
                assert loop_ws_fits(CFG, t.I, t.J, t.K), (spec.name, t)
        else:
            t = vendor_lib.conv_tiles(s["batch"], s["in_dim"], s["in_ch"], s["out_ch"], CFG)
            sp, acc = conv_tile_rows(CFG, t.as_list())
            assert sp <= CFG.sp_rows // 2 and acc <= CFG.acc_rows // 2
            assert t.ochs % 16 == 0 and t.kchs % 16 == 0


@pytest.mark.parametrize("spec", [s for s in SUITE if s.kind == "conv"], ids=lambda s: s.name)
def test_conv_tiler_result_is_maximal(spec):
    s = spec.shape_dict
    od = s["in_dim"] - 2
    t = vendor_lib.conv_tiles(s["batch"], s["in_dim"], s["in_ch"], s["out_ch"], CFG).as_list()
    limits = [s["batch"], od, od, s["out_ch"], 3, 3, s["in_ch"]]
    for i in range(7):   # the final growth pass stops only when no single size can grow
        if t[i] < limits[i]:
            grown = list(t)
            grown[i] += 1
            sp, acc = conv_tile_rows(CFG, grown)
            assert sp > CFG.sp_rows // 2 or acc > CFG.acc_rows // 2, (i, grown)


def test_fsm_candidates_all_fit_and_best_is_no_worse_than_vendor():
    for M, N, K in [(512, 512, 512), (12544, 256, 64), (3136, 128, 512)]:
        cands = fsm.gemm_candidates(M, N, K, CFG)
        assert cands and all(loop_ws_fits(CFG, t.I, t.J, t.K) for t in cands)
        best = fsm.best_gemm_tiles(M, N, K, CFG, score="analytic")
        vend = vendor_lib.gemm_tiles(M, N, K, CFG)
        assert fsm.analytic_cycles(M, N, K, best, CFG) <= fsm.analytic_cycles(M, N, K, vend, CFG)
        # never below the ideal M*N*K / 256 cycles
        assert fsm.analytic_cycles(M, N, K, best, CFG) >= M * N * K / 256


# ---------------------------------------------------------------------------
# structure
# ---------------------------------------------------------------------------

def test_vendor_gemm_structure_and_signature():
    fn = vendor_lib.vendor_gemm(100, 90, 200, CFG, tiles=GemmTiles(2, 3, 4))
    assert [p.name for p in fn.params] == ["scale", "act", "A", "B", "C"]
    assert fn.param("C").shape == (100, 90) and not fn.param("C").const
    assert fn.param("scale").by_pointer and fn.context == "gemm_Context"
    ops = [s.op for s in fn.body if isinstance(s, ir.Instr)]
    assert ops == ["config_ex", "config_st", "config_ld", "config_ld", "config_ld", "fence"]
    # the tile holding the matrix's last block is peeled off on every axis: rows 7 blocks
    # in 2s -> [3 tiles of 2, 1 of 1]; cols 6 in 3s -> [1 of 3, last 1 of 3 (padded)];
    # K 13 in 4s -> [3 chained tiles, the storing last one]: 2 * 2 * 2 loop_ws statements
    assert count(fn.body, "loop_ws") == 2 * 2 * 2


def test_conv_signature_follows_exo_order():
    fn = vendor_lib.vendor_conv(1, 10, 16, 32, CFG)
    assert [p.name for p in fn.params] == ["output", "bias", "inp", "weights", "act", "scale"]
    assert fn.param("output").shape == (1, 8, 8, 32)
    assert fsm.fsm_conv(1, 10, 16, 32, CFG).params == fn.params


@pytest.mark.slow
def test_signatures_equal_exo_proc_signature():
    from lowering.workload import Workload
    from lowering.suite import conv, gemm
    for spec, fn in [(gemm(64, 48, 32), vendor_lib.vendor_gemm(64, 48, 32)),
                     (conv(1, 10, 16, 32), vendor_lib.vendor_conv(1, 10, 16, 32))]:
        assert fn.params == Workload.from_spec(spec).signature


# ---------------------------------------------------------------------------
# semantics through the emulator (toolchain printer output) and the model
# ---------------------------------------------------------------------------

GEMM_CASES = [
    (100, 70, 50, None),
    (64, 64, 64, None),
    (100, 90, 200, GemmTiles(2, 3, 4)),     # pads on every axis, K chains of 4 tiles
    (33, 130, 47, GemmTiles(1, 2, 1)),
]


@pytest.mark.parametrize("M, N, K, tiles", GEMM_CASES)
@pytest.mark.parametrize("sequencer", ["fsm", "cpu"])
def test_vendor_gemm_matches_numpy_on_emulator_and_model(M, N, K, tiles, sequencer):
    from gemmini import model
    fn = vendor_lib.vendor_gemm(M, N, K, CFG, tiles=tiles, sequencer=sequencer)
    for act in (False, True):
        inputs = gemm_inputs(M, N, K, M + N + K, act)
        expect = numpy_gemm(inputs["A"], inputs["B"], inputs["scale"], act)
        emu = run_ir(fn, inputs)
        np.testing.assert_array_equal(emu.outputs["C"], expect)
        if act:
            np.testing.assert_array_equal(model.run(fn, inputs, timing=False).outputs["C"], expect)
    if sequencer == "fsm":
        d = 16
        tiles = tiles or vendor_lib.gemm_tiles(M, N, K, CFG)
        n_tiles = [-(-x // d // t) for x, t in zip((M, N, K), (tiles.I, tiles.J, tiles.K))]
        assert emu.counts["loop_ws"] == n_tiles[0] * n_tiles[1] * n_tiles[2]
        assert emu.counts["preload"] == 0
    else:
        assert emu.counts["loop_ws"] == 0
        blocks = -(-M // 16) * -(-N // 16) * -(-K // 16)
        assert emu.counts["preload"] == blocks
        assert emu.counts["compute_preloaded"] + emu.counts["compute_accumulated"] == blocks


@pytest.mark.parametrize("M, N, K", [(100, 70, 50), (48, 200, 300)])
def test_fsm_gemm_matches_numpy(M, N, K):
    fn = fsm.fsm_gemm(M, N, K, CFG, score="analytic")
    inputs = gemm_inputs(M, N, K, 11, True)
    np.testing.assert_array_equal(run_ir(fn, inputs).outputs["C"],
                                  numpy_gemm(inputs["A"], inputs["B"], inputs["scale"], True))


CONV_CASES = [
    ((2, 10, 32, 48), None),
    ((2, 8, 32, 32), ConvTiles(1, 4, 5, 16, 2, 3, 16)),    # remainders in most sizes
    ((1, 20, 16, 16), ConvTiles(1, 2, 17, 16, 3, 1, 16)),  # more than DIM out cols
]


@pytest.mark.parametrize("shape, tiles", CONV_CASES)
def test_vendor_conv_matches_numpy_on_emulator_and_model(shape, tiles):
    from gemmini import model
    fn = vendor_lib.vendor_conv(*shape, CFG, tiles=tiles)
    for act in (False, True):
        inputs = conv_inputs(*shape, sum(shape), act)
        expect = numpy_conv(inputs["inp"], inputs["weights"], inputs["bias"], inputs["scale"], act)
        emu = run_ir(fn, inputs)
        np.testing.assert_array_equal(emu.outputs["output"], expect)
        if act:   # the model is slow per instruction: one setting is enough for it
            np.testing.assert_array_equal(model.run(fn, inputs, timing=False).outputs["output"],
                                          expect)
    b, in_dim, ich, och = shape
    od = in_dim - 2
    if tiles is None:   # whole-problem tile: one weight preload per (kr, kc, in block, out block)
        assert emu.counts["compute_preloaded"] == 9 * (ich // 16) * (och // 16)
        assert emu.counts["preload"] == 9 * (ich // 16) * (och // 16) * b * od * -(-od // 16)


@pytest.mark.parametrize("shape", [(2, 10, 32, 48), (1, 20, 16, 64)])
def test_fsm_conv_matches_numpy_on_emulator(shape):
    fn = fsm.fsm_conv(*shape, CFG)
    inputs = conv_inputs(*shape, 3, True)
    emu = run_ir(fn, inputs)
    np.testing.assert_array_equal(
        emu.outputs["output"],
        numpy_conv(inputs["inp"], inputs["weights"], inputs["bias"], inputs["scale"], True))
    b, in_dim, _, _ = shape
    assert emu.counts["loop_ws"] == b * (in_dim - 2) * 9


def test_fsm_conv_on_the_model():
    """The model gives loop_ws's D the hardware meaning (D overwrites the tile, then
    ex_accumulate adds A @ B to it), as the emulator does."""
    from gemmini import model
    fn = fsm.fsm_conv(2, 10, 32, 48, CFG)
    inputs = conv_inputs(2, 10, 32, 48, 4, False)
    out = model.run(fn, inputs, timing=False).outputs["output"]
    np.testing.assert_array_equal(
        out, numpy_conv(inputs["inp"], inputs["weights"], inputs["bias"], inputs["scale"], False))


def test_baselines_on_the_int8_32_configuration():
    cfg = get_config("int8_32")
    inputs = gemm_inputs(100, 90, 200, 1, True)
    expect = numpy_gemm(inputs["A"], inputs["B"], inputs["scale"], True)
    for fn in (vendor_lib.vendor_gemm(100, 90, 200, cfg, tiles=GemmTiles(2, 1, 3)),
               vendor_lib.vendor_gemm(100, 90, 200, cfg, sequencer="cpu"),
               fsm.fsm_gemm(100, 90, 200, cfg, score="analytic")):
        np.testing.assert_array_equal(run_ir(fn, inputs, cfg).outputs["C"], expect)
    conv = conv_inputs(1, 10, 32, 64, 2, True)
    expect = numpy_conv(conv["inp"], conv["weights"], conv["bias"], conv["scale"], True)
    for fn in (vendor_lib.vendor_conv(1, 10, 32, 64, cfg), fsm.fsm_conv(1, 10, 32, 64, cfg)):
        np.testing.assert_array_equal(run_ir(fn, conv, cfg).outputs["output"], expect)
