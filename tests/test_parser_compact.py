"""parse_c on the compact dialect (method.md section 10) as a person or an LLM writes it."""

from pathlib import Path

import pytest

from gemmini.ir import (
    Assign, BinOp, Const, Decl, DramAddr, FloatConst, For, Function, If, Instr, Param, Var,
)
from lowering.parser import parse_c

DATA = Path(__file__).resolve().parent / "data"


def body_of(src: str, params: str = "int8_t A[32][32], int8_t C[32][32]"):
    return parse_c(f"void f({params}) {{\n{src}\n}}").body


def one(src: str, params: str = "int8_t A[32][32], int8_t C[32][32]"):
    (s,) = body_of(src, params)
    return s


def test_method_md_example():
    fn = parse_c((DATA / "compact" / "method_gemm_32.c").read_text())
    assert fn.name == "gemm_32" and fn.context is None
    assert fn.params == tuple(Param(n, "i8", (32, 32), flat=False) for n in "ABC")
    cfg_ex, cfg_st, cfg_ld, a_sp, b_sp, acc, loop, fence = fn.body
    assert cfg_ex == Instr("config_ex", (Const(1), Const(0), Const(0), Const(1), Const(0), Const(0)))
    assert cfg_st == Instr("config_st", (Const(32), Const(0), FloatConst(1.0)))
    assert cfg_ld == Instr("config_ld", (Const(32), FloatConst(1.0), Const(0), Const(16), Const(0)))
    assert acc == Decl("acc", "uint32_t", Const(0x80000000))
    assert fence == Instr("fence", ())
    k_loop = loop.body[0].body[1]
    mvin_a, mvin_b, preload, compute = k_loop.body
    i, j, k = Var("i"), Var("j"), Var("k")
    # &A[16*i][16*k] of a [32][32] array: element 16*i*32 + 16*k
    assert mvin_a.args[0] == DramAddr("A", BinOp("+", BinOp("*", Const(512), i),
                                                 BinOp("*", Const(16), k)))
    assert mvin_b.args[0] == DramAddr("B", BinOp("+", BinOp("*", Const(16), j),
                                                 BinOp("*", Const(512), k)))
    assert preload.args[1] == BinOp("|", Var("acc"), Const(0x40000000))
    assert compute.args[1] == Const(0xFFFFFFFF)


def test_compact_twin_equals_exo_output():
    twin = parse_c((DATA / "compact" / "gemm_64_twin.c").read_text())
    exo = parse_c((DATA / "exo_c" / "gemm_64x64x64.c").read_text())
    assert twin == exo


@pytest.mark.parametrize("loop", [
    "for (int i = 0; i < 4; i++) fence();",
    "for (int i = 0; i < 4; ++i) fence();",
    "for (int i = 0; i < 4; i += 1) fence();",
    "for (int i = 0; i <= 3; i++) fence();",
    "for (int_fast32_t i = 0; i < 4; i = i + 1) { fence(); }",
    "for (uint32_t i = 0; i < 2 * 2; i++) { fence(); }",
    "for (size_t i = 0; 4 > i; i++) fence();",
    "int i; for (i = 0; i < 4; i++) fence();",
])
def test_loop_spellings(loop):
    body = body_of(loop)
    f = body[-1]
    assert f == For("i", Const(0), Const(4), (Instr("fence", ()),), 1)


def test_loop_step():
    assert one("for (int i = 0; i < 8; i += 2) fence();").step == 2


def test_if_else_if_else():
    _decl, s = body_of("int x = 0;\nif (x == 0) x = 1; else if (x < 3) { x += 2; } else x = 3;")
    assert s == If(BinOp("==", Var("x"), Const(0)), (Assign("x", "=", Const(1)),),
                   (If(BinOp("<", Var("x"), Const(3)), (Assign("x", "+=", Const(2)),),
                       (Assign("x", "=", Const(3)),)),))


def test_scalar_locals():
    body = body_of("uint32_t a = 1u << 31; int n; n = 0x10; n++; ++n; n--; a |= 1u << 30;"
                   " unsigned b = 0xFFu; int32_t c = 7;")
    assert body == (
        Decl("a", "uint32_t", Const(0x80000000)), Decl("n", "int", None),
        Assign("n", "=", Const(16)), Assign("n", "+=", Const(1)), Assign("n", "+=", Const(1)),
        Assign("n", "-=", Const(1)), Assign("a", "|=", Const(0x40000000)),
        Decl("b", "uint32_t", Const(255)), Decl("c", "int32_t", Const(7)),
    )


def test_short_and_long_names_same_ir():
    short = body_of("mvin(&A[0][0], 0, 16, 16); preload(0, 1u<<31, 16, 16, 16, 16);")
    long = body_of("gemmini_extended_mvin(&A[0][0], 0, 16, 16);\n"
                   "gemmini_extended_preload(0, 0x80000000, 16, 16, 16, 16);")
    assert short == long


def test_config_spellings():
    a = body_of("config_ld(64, 1.0f, 0); config_ex(WS, NO_ACTIVATION, 1, false, false);"
                "config_st(64, RELU, 0.5f);")
    b = body_of("gemmini_extended3_config_ld(64, 1.0f, 0, 0);"
                "gemmini_extended_config_ex(WEIGHT_STATIONARY, 0, 0, 1, 0, 0);"
                "gemmini_extended_config_st(64, 1, 0.5);")
    assert a == b


def test_scale_params():
    by_value = parse_c("void f(float scale, bool act, int8_t C[16][16]) {"
                       " config_st(16, act, scale); }")
    assert by_value.params[0] == Param("scale", "f32", (), by_pointer=False)
    assert by_value.body[0].args == (Const(16), Var("act"), Var("scale"))
    by_ptr = parse_c("void f(const float* scale, bool act) { config_st(16, act, scale[0]);"
                     " config_st(16, act, (scale)[0]); config_st(16, act, *scale); }")
    assert by_ptr.params[0] == Param("scale", "f32", (), const=True, by_pointer=True)
    assert len({s.args for s in by_ptr.body}) == 1


def test_flat_pointer_with_signature_comment():
    fn = parse_c("// g(\n//     A : i8[4, 32] @DRAM\n// )\n"
                 "void g(const int8_t* A) { mvin(&A[2 * 32 + 16], 0, 16, 4); mvin(A + 5, 0, 1, 1); }")
    assert fn.params == (Param("A", "i8", (4, 32), const=True, flat=True),)
    assert fn.body[0].args[0] == DramAddr("A", Const(80))
    assert fn.body[1].args[0] == DramAddr("A", Const(5))


def test_array_decay_and_pointer_arithmetic():
    body = body_of("mvin(A[1], 0, 16, 16); mvin(&A[1][2], 0, 16, 16); mvin(*A + 3, 0, 1, 1);"
                   " mvin(A + 2, 0, 1, 1);")
    assert [s.args[0] for s in body] == [DramAddr("A", Const(32)), DramAddr("A", Const(34)),
                                         DramAddr("A", Const(3)), DramAddr("A", Const(64))]


def test_exo_idioms():
    src = """
    int8_t *buf = (int8_t*) ((uint64_t)gemm_malloc (16 * 16 * 2 * sizeof(int8_t)));
    int32_t *acc = (int32_t*) ((uint32_t)gemm_acc_malloc (16 * 16 * 4));
    for (int_fast32_t k = 0; k < 2; k++) {
      EXO_ASSUME(k < 2);
      gemmini_extended_mvin( ((uint64_t) &A[(16 * k) * (32)]), ((uint64_t) &*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)buf)) + ((k) * (256))/16))), 16, (16 + 0) );
      gemmini_extended_preload((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)buf)) + ((k) * (256))/16))), (uint32_t)(&*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)acc)) + (0)/16))) | 0x40000000, (16), (16), (16), (16));
      gemmini_extended4_config_ld(((struct exo_win_2i8c){ &A[(16 * k) * (32)], { 32, 1 } }).strides[0]*1, 1.0f, 0, (16), 2);
    }
    gemm_free((uint64_t)(buf));
    gemm_acc_free((uint32_t)(acc));
    """
    fn = parse_c("// f(\n//     A : i8[32, 32] @DRAM\n// )\nvoid f(const int8_t* A) {" + src + "}")
    buf, acc, loop = fn.body
    assert buf == Decl("buf", "uint32_t", Const(0))
    assert acc == Decl("acc", "uint32_t", Const(0x80000000))
    mvin, preload, cfg = loop.body
    k = Var("k")
    assert mvin == Instr("mvin", (DramAddr("A", BinOp("*", Const(512), k)),
                                  BinOp("+", Var("buf"), BinOp("*", Const(16), k)),
                                  Const(16), Const(16)))
    assert preload.args[1] == BinOp("|", Var("acc"), Const(0x40000000))
    assert cfg.args == (Const(32), FloatConst(1.0), Const(0), Const(16), Const(2))


def test_allocation_first_fit_reuse():
    fn = parse_c("void f(int8_t A[4][4]) {"
                 " uint32_t x = gemm_malloc(100); uint32_t y = gemm_malloc(16);"
                 " gemm_free(x); uint32_t z = gemm_malloc(50); uint32_t w = gemm_malloc(200); }")
    # x: 7 rows at 0; y: 1 row at 7; z reuses x's block; w (13 rows) appends at 8
    assert [d.init for d in fn.body] == [Const(0), Const(7), Const(0), Const(8)]


def test_comments_everywhere():
    fn = parse_c("/* head { ' \" */ void /* a */ f( // x\n int8_t A[4][4] /* } */ ) {\n"
                 " fence(); // done }\n /* \"unbalanced ' */ }\n")
    assert fn.body == (Instr("fence", ()),)


def test_preprocessor_lines_and_extern_c():
    src = ('#include <stdint.h>\n#define M(a, b) \\\n   ((a) + \\\n   (b))\n'
           'typedef struct gemm_Context { struct X { int y; } X; } gemm_Context;\n'
           'struct exo_win_2i8c { const int8_t * const data; const int_fast32_t strides[2]; };\n'
           '#ifdef __cplusplus\nextern "C" {\n#endif\n'
           'static inline int helper(int a) { while (a) { a--; } return a; }\n'
           'void f(gemm_Context *ctxt, int8_t A[4][4]);\n'
           'void f(gemm_Context *ctxt, int8_t A[4][4]) {\n  fence();\n}\n'
           '#ifdef __cplusplus\n}\n#endif\n')
    fn = parse_c(src)
    assert fn.name == "f" and fn.context == "gemm_Context"
    assert fn.body[0].line == 13


def test_function_selection():
    src = "void a(int8_t A[4][4]) { fence(); }\nvoid b(int8_t A[4][4]) { }\n"
    assert parse_c(src).name == "b"
    assert parse_c(src, function="a").body == (Instr("fence", ()),)


def test_hex_unsigned_literals():
    s = one("uint32_t a = 0X1Fu + 10UL + 0x0;")
    assert s.init == Const(41)


def test_cast_of_negative_to_uint32():
    assert one("uint32_t g = (uint32_t)-1;").init == Const(0xFFFFFFFF)


def test_line_numbers_recorded():
    fn = parse_c("void f(int8_t A[4][4]) {\n\n  fence();\n  for (int i = 0; i < 2; i++)\n"
                 "    fence();\n}")
    assert fn.body[0].line == 3 and fn.body[1].line == 4 and fn.body[1].body[0].line == 5


def test_function_is_an_ir_function():
    assert isinstance(parse_c("void f() {}"), Function)
    assert parse_c("void f(void) { fence(); }").params == ()


@pytest.mark.parametrize("text, value", [
    ("~((uint32_t)0)", 0xFFFFFFFF),      # Exo's garbage address
    ("1u << 31", 0x80000000), ("1 << 31", -(1 << 31)), ("0x7fffffff << 3", -8),
    ("(uint32_t)0x7fffffff << 3", 0xFFFFFFF8), ("(int64_t)0x7fffffff << 3", 0x3FFFFFFF8),
    ("2147483647 + 1", -(1 << 31)), ("2147483648 - 1", 2147483647), ("-2147483648", -(1 << 31)),
    ("(uint32_t)-1", 0xFFFFFFFF), ("(int)0xFFFFFFFF", -1), ("-1 < 0u", 0), ("0u - 1 > 0", 1),
    ("sizeof(int8_t) - 2 > 0", 1), ("7 / -2", -3), ("-7 % 2", -1)])
def test_constant_expressions_fold_with_their_c_types(text, value):
    # expected values: what gcc prints for the same C (LP64, -fwrapv)
    assert one(f"int_fast32_t x = {text};").init == Const(value)
