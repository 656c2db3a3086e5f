"""map_to_gemmini: the basic Gemmini mapping, its C, the C cache, and end-to-end runs."""

from __future__ import annotations

import importlib

import re
from collections import Counter

import pytest

from lowering import mapping
from lowering.workload import Workload
from lowering import suite as wl
from lowering import exo_to_c
from gemmini.errors import UnsupportedConstruct

SHAPES = {  # none of these is in the suite
    "gemm_32x64x64": wl.gemm(32, 64, 64),      # Exo's own basic mapping
    "gemm_8x24x12": wl.gemm(8, 24, 12),        # not a multiple of 16: edge tiles
    "conv_6x6x16_b1": wl.conv(1, 6, 16, 16),   # 4 output columns: the remainder part only
}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("autocomp-cache")


@pytest.fixture(autouse=True)
def _private_cache(cache_dir, monkeypatch):
    monkeypatch.setenv("AUTOCOMP_EXO_CACHE", str(cache_dir))


@pytest.fixture(scope="module")
def mapped(cache_dir):
    """Name -> ExoC of the mapped proc, mapped once per test session."""
    done = {}

    def get(name):
        if name not in done:
            done[name] = exo_to_c.compile_proc(mapping.map_to_gemmini(SHAPES[name].algorithm()))
        return done[name]
    return get


def instr_counts(c_text: str) -> Counter:
    body = c_text[c_text.index("{", c_text.index("void ")):]
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    return Counter(re.findall(r"\b(gemmini_\w+)\s*\(", body))


def calls(c_text: str, op: str) -> list[str]:
    """Argument texts of every call of ``op`` in the function body."""
    body = c_text[c_text.index("{", c_text.index("void ")):]
    return re.findall(rf"\b{op}\s*\((.*)\);", body)


def configs_before_loops(c_text: str) -> bool:
    body = c_text[c_text.index("{", c_text.index("void ")):]
    first_loop = body.index("for (")
    return all(body.index(f"{cfg}(") < first_loop for cfg in
               ("gemmini_extended_config_st", "gemmini_extended_config_ex"))


def test_gemm_multiple_of_64_uses_exos_mapping(mapped):
    c = mapped("gemm_32x64x64").c_text
    n = instr_counts(c)
    assert n["gemmini_extended_config_st"] == 1 and n["gemmini_extended_config_ex"] == 1
    assert n["gemmini_extended3_config_ld"] == 3          # zero, A (id 1), B (id 2)
    for op in ("gemmini_extended_mvin", "gemmini_extended_mvin2", "gemmini_extended_mvin3",
               "gemmini_extended_preload", "gemmini_extended_compute_preloaded",
               "gemmini_extended_mvout"):
        assert n[op] == 1, op                              # each inside loops, once in text
    assert configs_before_loops(c)
    assert "16*(4 + 0)" in calls(c, "gemmini_extended_mvin2")[0]   # 16 x 64 block loads
    assert "void gemm_32x64x64( gemm_Context *ctxt, const float* scale, bool act, " \
           "const int8_t* A, const int8_t* B, int8_t* C )" in c


def test_gemm_edge_tiles(mapped):
    c = mapped("gemm_8x24x12").c_text
    n = instr_counts(c)
    assert n["gemmini_extended_config_st"] == 1 and n["gemmini_extended_config_ex"] == 1
    assert n["gemmini_extended3_config_ld"] == 3
    assert configs_before_loops(c)
    # two column blocks (16 + 8); K = 12 and M = 8 are partial everywhere
    assert n["gemmini_extended_preload"] == 2 and n["gemmini_extended_mvout"] == 2
    a_loads = calls(c, "gemmini_extended_mvin2")
    assert all(re.search(r"\(12\), \(8\) $", a) for a in a_loads), a_loads
    b_cols = sorted(re.search(r"\((\d+)\), \(12\) $", b).group(1)
                    for b in calls(c, "gemmini_extended_mvin3"))
    assert b_cols == ["16", "8"]


def test_conv_remainder_only(mapped):
    c = mapped("conv_6x6x16_b1").c_text
    n = instr_counts(c)
    for op in ("gemmini_extended_mvin", "gemmini_extended_mvin2", "gemmini_extended_mvin3",
               "gemmini_extended4_config_ld", "gemmini_extended_preload",
               "gemmini_extended_compute_preloaded", "gemmini_extended_mvout"):
        assert n[op] >= 1, op
    assert "&bias[" in calls(c, "gemmini_extended_mvin")[0]
    assert configs_before_loops(c)
    assert "conv_Context *ctxt, int8_t* output, const int32_t* bias, const int8_t* inp, " \
           "const int8_t* weights, bool act, const float* scale" in c


def _conv_maps_with_edge_tiles(in_ch: int, out_ch: int) -> None:
    """A channel count Exo's conv helpers cannot take maps as edge-tile GEMMs: correct on
    the model against the algorithm, and the kernel without its last store is caught."""
    from autocomp_exo.evaluation import evaluate
    algorithm = wl.conv_algorithm(1, 6, in_ch, out_ch)
    mapped_proc = mapping.map_to_gemmini(algorithm)       # checked against the algorithm
    w = Workload.from_proc(mapped_proc, algorithm=algorithm)
    c = exo_to_c.compile_proc(mapped_proc).c_text
    ev = evaluate(c, workload=w, kinds=("uniform", "extreme"))
    assert ev.check.ok, ev.check.message
    assert configs_before_loops(c)
    start = c.index(f"void {algorithm.name()}(")
    end = c.find("/* relying on", start)          # Exo's notes quote the instructions
    last = c.rindex("gemmini_extended_mvout(", start, end if end > 0 else len(c))
    bad = evaluate(c[:last] + c[c.index(";", last) + 1:], workload=w,
                   kinds=("uniform", "extreme"))
    assert not bad.check.ok


def test_conv_channels_below_dim_map_with_edge_tiles():
    _conv_maps_with_edge_tiles(8, 16)


@pytest.mark.slow
def test_conv_channels_above_64_not_a_multiple_of_64_map_with_edge_tiles():
    _conv_maps_with_edge_tiles(80, 24)


def test_compile_proc_is_cached_on_disk(cache_dir):
    p = wl.gemm_algorithm(4, 4, 4)
    first = exo_to_c.compile_proc(p)
    files = list((cache_dir / "exo_c").glob("proc-*.json"))
    assert files
    assert exo_to_c.compile_proc(p) == first
    assert first.name == "gemm_4x4x4" and first.header_name == "gemm.h"
    assert "void gemm_4x4x4(" in first.c_text and "gemm_4x4x4" in first.h_text


def test_mapped_c_hits_the_cache_without_mapping(mapped, monkeypatch):
    spec = SHAPES["gemm_32x64x64"]
    first = exo_to_c.mapped_c(Workload.from_spec(spec))
    # Exo orders the terms of index sums differently from run to run: compare instructions
    assert instr_counts(first.c_text) == instr_counts(mapped("gemm_32x64x64").c_text)

    def boom(proc):
        raise AssertionError("map_to_gemmini must not run on a cache hit")
    monkeypatch.setattr(mapping, "map_to_gemmini", boom)
    assert exo_to_c.mapped_c(spec.algorithm()) == first


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_mapped_code_matches_reference_on_the_model(mapped, name):
    parser = importlib.import_module("lowering.parser")
    model = importlib.import_module("gemmini.model")
    from lowering import reference as ref
    exo_c = mapped(name)
    fn = parser.parse_c(exo_c.c_text, function=exo_c.name)
    w = Workload.from_spec(SHAPES[name])
    sets = ref.make_input_sets(w, kinds=("uniform", "ties", "extreme"))
    outputs = [model.run(fn, s.inputs, timing=False).outputs for s in sets]
    result = ref.check_sets(outputs, sets)
    assert result.ok, result.message


SLOW_SHAPES = {
    "gemm_20x40x36": wl.gemm(20, 40, 36),        # all four kinds of edge block
    "gemm_48x32x80": wl.gemm(48, 32, 80),        # multiples of 16, not of 64
    "conv_20x20x16_o32_b1": wl.conv(1, 20, 16, 32),  # full and remainder column parts
    "conv_6x6x128_b1": wl.conv(1, 6, 128, 128),  # channel blocks split by 4
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SLOW_SHAPES))
def test_more_shapes_match_reference_on_the_model(name):
    from gemmini import model
    from lowering import reference as ref
    from lowering.parser import parse_c
    exo_c = exo_to_c.compile_proc(mapping.map_to_gemmini(SLOW_SHAPES[name].algorithm()))
    fn = parse_c(exo_c.c_text, function=exo_c.name)
    w = Workload.from_spec(SLOW_SHAPES[name])
    sets = ref.make_input_sets(w, kinds=("uniform", "ties", "extreme"))
    outputs = [model.run(fn, s.inputs, timing=False).outputs for s in sets]
    result = ref.check_sets(outputs, sets)
    assert result.ok, result.message


def test_foreign_or_mapped_procs_are_rejected_clearly():
    from exo import DRAM, proc  # noqa: F401  (DRAM is read by the @proc parser)

    @proc
    def my_gemm(scale: f32, act: bool, A: i8[16, 16] @ DRAM, B: i8[16, 16] @ DRAM,
                C: i8[16, 16] @ DRAM):
        for x in seq(0, 16):
            for y in seq(0, 16):
                C[x, y] = A[x, y]

    with pytest.raises(UnsupportedConstruct, match="test_mapping.py:.*'C' without a sum of products.*not a matmul") as e:
        mapping.map_to_gemmini(my_gemm)
    assert "\n" not in str(e.value)

    @proc
    def transposed(scale: f32, act: bool, A: i8[16, 16] @ DRAM, B: i8[16, 16] @ DRAM,
                   C: i8[16, 16] @ DRAM):
        for i in seq(0, 16):
            for j in seq(0, 16):
                res: i32
                res = 0.0
                for k in seq(0, 16):
                    a: i8
                    a = A[i, k]
                    b: i8
                    b = B[j, k]
                    a2: i32
                    b2: i32
                    a2 = a
                    b2 = b
                    res += a2 * b2
                C[i, j] = res

    # the suite's names on another structure (B read transposed) is matched by structure,
    # which finds what Gemmini cannot do here and says where, in one line
    with pytest.raises(UnsupportedConstruct, match=r"test_mapping.py:\d+: .*not clamped") as e:
        mapping.map_to_gemmini(transposed)
    assert "\n" not in str(e.value)
