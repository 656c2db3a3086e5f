"""Printers: parse(print(ir)) == ir for both targets, plus what the text looks like."""

import shutil
from pathlib import Path

import pytest

from gemmini.ir import (
    Assign, BinOp, Cond, Const, Decl, DramAddr, FloatConst, For, Function, If, Instr, Param,
    UnOp, Var,
)
from lowering.parser import parse_c
from lowering.print_compact import to_compact
from lowering.print_toolchain import to_toolchain_c
from tests.ir_trace import c_trace, ir_trace

DATA = Path(__file__).resolve().parent / "data"
SIG = "void f(const float* scale, bool act, int8_t A[32][32], int8_t B[32][32], int32_t D[4][32]) {"

SNIPPETS = [
    "fence();",
    "mvin(0, 0, 16, 16);",
    "mvin(&A[0][0], 0, 16, 16);",
    "mvin(&A[31][31], 5, 1, 1);",
    "mvin2(&A[3][17], 100, 64, 16);",
    "mvin3(&B[16][0], 1u << 31, 16, 16);",
    "mvin(&D[1][0], (1u << 31) | (1u << 30), 16, 4);",
    "mvout(&A[0][0], 0x80000000 | 0x20000000, 16, 16);",
    "config_ld(32, 1.0f, 0);",
    "config_ld(32, 0.5f, 8, 1);",
    "config_ld(0);",
    "config_st(32, act, *scale);",
    "config_st(32, 1, 0.25f);",
    "config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, false);",
    "config_ex(OUTPUT_STATIONARY, 1, 2, 3, 1, 0);",
    "preload(0, ~((uint32_t)0), 16, 16, 16, 16);",
    "compute_preloaded(16, ~((uint32_t)0), 16, 16, 16, 16);",
    "compute_accumulated(16, 32, 16, 16, 16, 16);",
    "loop_ws(2, 2, 2, 0, 0, 0, &A[0][0], &B[0][0], 0, &A[0][0], 32, 32, 0, 32, 0, 0, 0, 0, 0, 1);",
    "uint32_t a = 0;",
    "uint32_t a;",
    "int n = -5;",
    "int n = 3; n = n * 2 - 1;",
    "int n = 3; n += 4; n -= 1; n *= 2; n /= 3; n %= 5; n <<= 1; n >>= 1; n |= 8; n &= 7; n ^= 1;",
    "uint32_t a = 0; a = a + 16 * 2;",
    "for (int i = 0; i < 4; i++) fence();",
    "for (int i = 2; i < 10; i += 3) { fence(); }",
    "for (int i = 0; i < 2; i++) for (int j = i; j < 2 * i + 3; j++) mvin(&A[i][j], i * 16 + j, 16, 16);",
    "for (int i = 0; i < 2; i++) { if (i == 0) fence(); }",
    "for (int i = 0; i < 4; i++) { if (i < 1) fence(); else if (i < 2) { fence(); fence(); } else { } }",
    "for (int i = 0; i < 4; i++) { if (i % 2 == 1 && i != 3 || !i) fence(); }",
    "for (int i = 0; i < 4; i++) { uint32_t x = i > 1 ? 16 * i : 0; mvin(0, x, 16, 16); }",
    "for (int i = 0; i < 4; i++) { mvin(0, (i + 1) / 3 + (i - 1) % 3, 16, 16); }",
    "for (int i = 0; i < 4; i++) { mvin(0, (i << 2) >> 1, 16, 16); }",
    "for (int i = 0; i < 4; i++) { mvin(0, (i & 1) ^ (i | 2), 16, 16); }",
    "for (int i = 0; i < 4; i++) { mvin(0, -i + 64, 16, 16); }",
    "for (int i = 0; i < 4; i++) { mvin(0, ~i, 16, 16); }",
    "for (int i = 0; i < 4; i++) { mvin(0, -(i * i) - 3, 16, 16); }",
    "for (int i = 0; i < 4; i++) { mvin(&A[0][2 * i - 1], 0, 16, 16); }",
    "for (int i = 0; i < 4; i++) { mvin(&D[i / 2][i % 2], 0, 16, 16); }",
    "uint32_t a = gemm_malloc(512); uint32_t acc = gemm_acc_malloc(1024); mvin(0, acc + a, 16, 16);",
    "for (int i = 0; i < 4; i++) { uint32_t t = gemm_malloc(256); mvin(0, t, 16, 16); gemm_free(t); }",
]


@pytest.mark.parametrize("snippet", SNIPPETS)
def test_round_trip_compact(snippet):
    fn = parse_c(f"{SIG}\n{snippet}\n}}")
    assert parse_c(to_compact(fn)) == fn


@pytest.mark.parametrize("snippet", SNIPPETS)
def test_round_trip_toolchain(snippet):
    fn = parse_c(f"{SIG}\n{snippet}\n}}")
    assert parse_c(to_toolchain_c(fn)) == fn


def _fn(body, params=(Param("A", "i8", (4, 8)),), context=None):
    return Function("k", tuple(params), tuple(body), context)


IR_CASES = [
    _fn([Instr("mvin", (DramAddr("A", Const(13)), Const(0), Const(8), Const(1)))]),
    _fn([Instr("mvin", (DramAddr("A", Const(13)), Const(0), Const(8), Const(1)))],
        params=(Param("A", "i8", (4, 8), const=True, flat=True),)),
    _fn([Instr("mvin", (DramAddr("A", Const(13)), Const(0), Const(8), Const(1)))],
        params=(Param("A", "i8", (4, 8), flat=True),), context="gemm_Context"),
    _fn([Decl("x", "int", Const(-7)), Assign("x", "=", BinOp("*", Const(-1), Var("x")))]),
    _fn([Decl("x", "uint32_t", Const(0xFFFFFFFF))]),
    _fn([Decl("x", "int_fast32_t", Const(1)),
         If(BinOp("==", Var("x"), Const(1)), (Assign("x", "+=", Const(1)),),
            (If(BinOp(">", Var("x"), Const(2)), (), (Assign("x", "=", Const(0)),)),))]),
    _fn([For("i", Const(0), Const(4), (
        Instr("mvout", (DramAddr("A", BinOp("+", BinOp("*", Const(8), Var("i")), Const(3))),
                        Cond(BinOp("<", Var("i"), Const(2)), Var("i"), Const(5)),
                        Const(8), Const(1))),), 1)]),
    _fn([Instr("config_st", (Const(8), Var("act"), Var("scale")))],
        params=(Param("scale", "f32", (), const=True, by_pointer=True), Param("act", "bool"))),
    _fn([Instr("config_st", (Const(8), Const(0), Var("scale")))],
        params=(Param("scale", "f32"),)),
    _fn([Instr("config_ld", (Const(8), FloatConst(0.125), Const(0), None, Const(0)))]),
    _fn([Instr("config_ld", (Const(8), FloatConst(1.0), Const(1), Const(4), Const(2)))]),
    _fn([Decl("y", "uint32_t", UnOp("~", Var("y0")))], params=(Param("y0", "i32"),)),
]


@pytest.mark.parametrize("fn", IR_CASES, ids=range(len(IR_CASES)))
def test_round_trip_from_ir(fn):
    assert parse_c(to_compact(fn)) == fn
    assert parse_c(to_toolchain_c(fn)) == fn


def test_compact_text_of_method_example():
    fn = parse_c((DATA / "compact" / "method_gemm_32.c").read_text())
    text = to_compact(fn)
    assert text.startswith("void gemm_32(int8_t A[32][32], int8_t B[32][32], int8_t C[32][32]) {")
    assert "    for (int j = 0; j < 2; j++) {" in text
    assert "mvin(&A[16 * i][16 * k], a_sp + 16 * k, 16, 16);" in text
    assert "preload(b_sp + 16 * k, acc | 0x40000000, 16, 16, 16, 16);" in text
    assert "compute_preloaded(a_sp + 16 * k, ~((uint32_t)0), 16, 16, 16, 16);" in text
    assert "gemmini_" not in text


def test_toolchain_keeps_exo_signature():
    c = (DATA / "exo_c" / "gemm_64x64x64.c").read_text()
    sig = next(line for line in c.splitlines() if line.startswith("void "))
    text = to_toolchain_c(parse_c(c))
    assert sig in text.splitlines()
    assert text.splitlines()[:3] == ["#include <stdint.h>", "#include <stdbool.h>",
                                     '#include "gemmini.h"']
    assert "typedef struct gemm_Context gemm_Context;" in text
    assert "//     A : i8[64, 64] @DRAM," in text
    assert "gemmini_extended_mvin2(&A[1024 * i + 64 * ko], a + 64 * ko, 64, 16);" in text
    assert "gemmini_extended_config_st(64, act, scale[0]);" in text


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
@pytest.mark.parametrize("name", ["gemm_64x64x64", "conv_1x22x22x16"])
def test_toolchain_c_compiles_with_exo_header_and_behaves_the_same(name, tmp_path):
    """The printed .c, compiled by gcc next to Exo's own header, issues exactly the
    instructions Exo's C issues."""
    c = (DATA / "exo_c" / f"{name}.c").read_text()
    h = (DATA / "exo_c" / f"{name}.h").read_text()
    header = name.split("_")[0] + ".h"
    fn = parse_c(c)
    printed = f'#include "{header}"\n' + to_toolchain_c(fn).replace('"gemmini.h"',
                                                                     "<include/gemmini.h>")
    expected = c_trace(c, h, header, fn, tmp_path / "exo", {"act": 1})
    got = c_trace(printed, h, header, fn, tmp_path / "ours", {"act": 1})
    assert got == expected
    assert ir_trace(fn, {"act": 1}) == expected
