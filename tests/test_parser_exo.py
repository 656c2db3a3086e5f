"""parse_c on Exo 1.0.0's real output (fixtures from tools/gen_exo_fixtures.py)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gemmini.ir import Const, Decl, DramAddr, For, Instr, Param
from lowering.parser import parse_c
from lowering.print_compact import to_compact
from lowering.print_toolchain import to_toolchain_c
from tests.ir_trace import c_trace, ir_trace

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "exo_c"
GEMMS = ["gemm_512x512x512", "gemm_12544x256x64", "gemm_12544x64x256", "gemm_3136x512x128",
         "gemm_3136x128x512", "gemm_784x1024x256"]
CONVS = ["conv_1x22x22x16", "conv_4x30x30x128"]
ALL = ["gemm_64x64x64", *GEMMS, *CONVS]


def load(name):
    return (DATA / f"{name}.c").read_text(), (DATA / f"{name}.h").read_text()


def walk(body):
    for s in body:
        yield s
        for attr in ("body", "then", "orelse"):
            yield from walk(getattr(s, attr, ()))


@pytest.mark.parametrize("name", ALL)
def test_fixture_parses_and_round_trips(name):
    c, _h = load(name)
    fn = parse_c(c, filename=f"{name}.c")
    assert fn.name == name
    assert parse_c(to_compact(fn)) == fn
    assert parse_c(to_toolchain_c(fn)) == fn


@pytest.mark.parametrize("name", ["gemm_64x64x64", "conv_1x22x22x16"])
def test_header_prepended_gives_same_ir(name):
    c, h = load(name)
    assert parse_c(h + "\n" + c) == parse_c(c)


@pytest.mark.parametrize("name", GEMMS)
def test_gemm_signature_and_shapes(name):
    m, n, k = (int(x) for x in name.split("_")[1].split("x"))
    fn = parse_c(load(name)[0])
    assert fn.context == "gemm_Context"
    assert fn.params == (
        Param("scale", "f32", (), const=True, by_pointer=True),
        Param("act", "bool"),
        Param("A", "i8", (m, k), const=True),
        Param("B", "i8", (k, n), const=True),
        Param("C", "i8", (m, n)),
    )


def test_conv_signature():
    fn = parse_c(load("conv_4x30x30x128")[0])
    assert fn.context == "conv_Context"
    shapes = {p.name: p.shape for p in fn.params}
    assert shapes == {"output": (4, 28, 28, 128), "bias": (1, 128), "inp": (4, 30, 30, 128),
                      "weights": (3, 3, 128, 128), "act": (), "scale": ()}


def test_gemm_allocations_resolved():
    fn = parse_c(load("gemm_64x64x64")[0])
    decls = {s.name: s for s in walk(fn.body) if isinstance(s, Decl)}
    # exo 1.0.0: accumulator row 0 with the accumulator bit; scratchpad first fit from 0,
    # a: 16*16*4 bytes = 64 rows, then b after it.
    assert decls["res"].init == Const(0x80000000)
    assert decls["a"].init == Const(0)
    assert decls["b"].init == Const(64)
    assert all(d.ctype == "uint32_t" for d in decls.values())


def test_window_arithmetic_becomes_row_arithmetic():
    fn = parse_c(load("gemm_64x64x64")[0])
    compute = next(s for s in walk(fn.body) if isinstance(s, Instr) and s.op == "compute_preloaded")
    text = to_compact(fn)
    assert "a + 16 * k + 64 * ko" in text
    assert compute.args[1] == Const(0xFFFFFFFF)
    mvin2 = next(s for s in walk(fn.body) if isinstance(s, Instr) and s.op == "mvin2")
    assert isinstance(mvin2.args[0], DramAddr) and mvin2.args[0].array == "A"


def test_conv_window_stride_literal_is_a_constant():
    fn = parse_c(load("conv_1x22x22x16")[0])
    lds = [s for s in walk(fn.body) if isinstance(s, Instr) and s.op == "config_ld"]
    strided = [s for s in lds if s.args[3] is not None]
    assert strided and all(s.args[0] == Const(16) for s in strided)


def test_gemm_loops_cover_the_shape():
    fn = parse_c(load("gemm_512x512x512")[0])
    outer = [s for s in fn.body if isinstance(s, For)][0]
    assert outer.var == "i" and outer.hi == Const(512 // 16)


needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


@needs_gcc
@pytest.mark.parametrize("name,act", [("gemm_64x64x64", 0), ("gemm_64x64x64", 1),
                                      ("conv_1x22x22x16", 1)])
def test_ir_matches_compiled_exo_c(name, act, tmp_path):
    """Every instruction and operand value the real C issues (gcc + exo's allocators)
    equals what the IR denotes."""
    c, h = load(name)
    fn = parse_c(c)
    expected = c_trace(c, h, name.split("_")[0] + ".h", fn, tmp_path, {"act": act})
    assert len(expected) > 50
    got = ir_trace(fn, {"act": act})
    assert got == expected


@needs_gcc
@pytest.mark.slow
@pytest.mark.parametrize("name", ["gemm_512x512x512", "conv_4x30x30x128"])
def test_ir_matches_compiled_exo_c_big(name, tmp_path):
    c, h = load(name)
    fn = parse_c(c)
    assert ir_trace(fn) == c_trace(c, h, name.split("_")[0] + ".h", fn, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gemm_64x64x64", "conv_1x22x22x16"])
def test_fixtures_up_to_date(name, tmp_path):
    """Regenerating with Exo gives the same IR (Exo's term order varies run to run)."""
    subprocess.run([sys.executable, str(ROOT / "tools" / "gen_exo_fixtures.py"), "--out",
                    str(tmp_path), name], check=True, capture_output=True, cwd=ROOT)
    assert parse_c((tmp_path / f"{name}.c").read_text()) == parse_c(load(name)[0])
