"""lowering.signature: the one reader of C signatures, on every format the project meets.

Expectations are written by hand from the C text (Exo 1.0.0's fixtures, a printed
toolchain file, the compact dialect).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gemmini.errors import ParseError, UnsupportedConstruct
from gemmini.ir import Function, Param
from lowering.print_toolchain import to_toolchain_c
from lowering.signature import Signature, read_signature

EXO_C = Path(__file__).resolve().parent / "data" / "exo_c"


def test_exo_gemm():
    sig = read_signature((EXO_C / "gemm_64x64x64.c").read_text())
    assert sig == Signature("gemm_64x64x64", (
        Param("scale", "f32", (), const=True, by_pointer=True),
        Param("act", "bool"),
        Param("A", "i8", (64, 64), const=True),
        Param("B", "i8", (64, 64), const=True),
        Param("C", "i8", (64, 64)),
    ), "gemm_Context")


def test_exo_conv_with_its_header_in_front():
    text = (EXO_C / "conv_1x22x22x16.h").read_text() + (EXO_C / "conv_1x22x22x16.c").read_text()
    sig = read_signature(text)
    assert sig == Signature("conv_1x22x22x16", (
        Param("output", "i8", (1, 20, 20, 16)),
        Param("bias", "i32", (1, 16), const=True),
        Param("inp", "i8", (1, 22, 22, 16), const=True),
        Param("weights", "i8", (3, 3, 16, 16), const=True),
        Param("act", "bool"),
        Param("scale", "f32", (), const=True, by_pointer=True),
    ), "conv_Context")
    assert sig.param("bias").size == 16


def test_printed_toolchain_c():
    params = (Param("scale", "f32", (), const=True, by_pointer=True), Param("act", "bool"),
              Param("A", "i8", (32, 16), const=True), Param("C", "i32", (32, 8)))
    text = to_toolchain_c(Function("mm_32", params, (), "mm_Context"))
    assert "void mm_32( mm_Context *ctxt, const float* scale, bool act, " in text
    assert read_signature(text) == Signature("mm_32", params, "mm_Context")


def test_compact_dialect():
    text = """
    static int helper(int x) { return x; }
    void gemm_16(const int8_t A[16][32], const int8_t B[32][16], int8_t C[16][16],
                 const float* scale, bool act) {
      for (int i = 0; i < 4; i++) { mvin(&A[i][0], 0, 16, 16); }
    }
    """
    assert read_signature(text) == Signature("gemm_16", (
        Param("A", "i8", (16, 32), const=True, flat=False),
        Param("B", "i8", (32, 16), const=True, flat=False),
        Param("C", "i8", (16, 16), flat=False),
        Param("scale", "f32", (), const=True, by_pointer=True),
        Param("act", "bool"),
    ))


def test_function_is_picked_by_name_and_the_body_is_not_read():
    text = "void a(int8_t A[4]) { not C at all }\nvoid b(bool act) { }\n"
    assert read_signature(text).name == "b"
    assert read_signature(text, function="a").params == (Param("A", "i8", (4,), flat=False),)


def test_pointer_of_unknown_extent():
    text = "void k(int8_t* o8, const int32_t* i32) { }"
    with pytest.raises(ParseError, match="shape of pointer parameter 'o8' is unknown"):
        read_signature(text)
    assert read_signature(text, require_shapes=False).params == (
        Param("o8", "i8", (), by_pointer=True), Param("i32", "i32", (), const=True,
                                                      by_pointer=True))


@pytest.mark.parametrize("text, error, where, what", [
    ("void k(bool act,\n       int8_t A[4] B) { }", ParseError, "k.c:2:", "unexpected 'B'"),
    ("void k(bool act,\n       int8_t A[4][) { }", ParseError, "k.c:2:", "unbalanced ')'"),
    ("void k(bool act,\n       double x) { }", UnsupportedConstruct, "k.c:2", "'x'"),
    ("void k(bool act, int8_t) { }", ParseError, "k.c", "without a name"),
    ("int x = 3;", ParseError, "k.c", "no function definition"),
])
def test_malformed_signature_is_a_clear_error(text, error, where, what):
    with pytest.raises(error) as info:
        read_signature(text, filename="k.c")
    assert str(info.value).startswith(where) and what in str(info.value)


def test_missing_function_names_the_ones_found():
    with pytest.raises(ParseError, match=r"no definition of function 'g' \(found: f\)"):
        read_signature("void f(void) { }", function="g")
