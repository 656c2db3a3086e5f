"""Exo's C for sub-procs and constant locals: ``void`` helpers called as statements are
inlined (checked against numpy and the same C under gcc), a float local holding one
literal is a valid instruction operand, and what cannot be inlined is named in one line."""

from __future__ import annotations

import numpy as np
import pytest

from gemmini import ir
from gemmini.errors import UnsupportedConstruct
from gemmini.model import run
from lowering.emulator.build import run_c
from lowering.parser import parse_c
from lowering.print_toolchain import to_toolchain_c

HELPERS = """
float _select_float(float x, float v, float y, float z) {
    if (x < v) return y;
    else return z;
}
static void clamp8( void *ctxt, const float* src, int8_t* dst ) {
  float l;
  float h;
  l = -128.0f;
  h = 127.0f;
  float tmp;
  tmp = _select_float((float)h, (float)*src, (float)h, (float)*src);
  tmp = _select_float((float)*src, (float)l, (float)l, (float)tmp);
  *dst = (int8_t)(tmp);
}
static void axpy1( void *ctxt, float f, const float* x, float* y ) {
  float t;
  t = f * x[0];
  *y = *y + t;
}
void k( void *ctxt, const float* a, int8_t* q ) {
  for (int_fast32_t i = 0; i < 8; i++) {
    float s;
    s = a[i];
    float t;
    t = 0.5f;
    axpy1(ctxt, 100.0f, &s, &t);
    int8_t o;
    clamp8(ctxt, &t, &o);
    q[i] = o;
  }
}
"""


def test_void_helpers_are_inlined_and_match_numpy_and_gcc():
    fn = parse_c(HELPERS.replace("const float* a, int8_t* q",
                                 "const float a[8], int8_t q[8]"), filename="h.c")
    assert not any(isinstance(e, ir.Call) for e in ir.walk_exprs(fn.body))
    a = np.array([0.3, -2, 0.9, 2, 0.755, -0.6, 1.27, -1.3], np.float32)
    got = run(fn, {"a": a}).outputs["q"]
    t = np.float32(0.5) + np.float32(100) * a
    assert np.array_equal(got, np.clip(t, -128, 127).astype(np.int8))
    gcc = run_c(HELPERS, {"a": a, "q": np.zeros(8, np.int8)}, function="k").outputs["q"]
    assert np.array_equal(gcc, got)
    # Exo's `void *ctxt` (no configuration state) declares no context struct
    text = to_toolchain_c(fn)
    assert "void k( void *ctxt," in text and "typedef struct void" not in text


@pytest.mark.parametrize("call, needle", [
    ("clamp8(ctxt, &q[i], &o);", "needs the address of a scalar variable"),
    ("bad(ctxt, &t);", "reads 'glob', which is not its own"),
    ("ret(ctxt, &t);", "has a return or jump statement"),
    ("uses_ctxt(ctxt, &t);", "reads its context pointer 'ctxt'"),
])
def test_a_void_helper_that_cannot_be_inlined_is_named(call, needle):
    extra = ("static void bad( void *ctxt, float* y ) {\n  *y = glob;\n}\n"
             "static void ret( void *ctxt, float* y ) {\n  return;\n}\n"
             "static void uses_ctxt( void *ctxt, float* y ) {\n  *y = ctxt;\n}\n")
    src = extra + HELPERS.replace("clamp8(ctxt, &t, &o);", call)
    with pytest.raises(UnsupportedConstruct, match=needle) as info:
        parse_c(src.replace("const float* a, int8_t* q", "const float a[8], int8_t q[8]"),
                filename="h.c")
    message = str(info.value)
    assert message.startswith("h.c:") and "is not inlined" in message and "\n" not in message


ONE = """
void k( void *ctxt, const int8_t A[16][16], const int8_t B[16][16], int8_t C[16][16] ) {
  float one;
  one = 1.0f;
%s
  gemmini_extended_config_st(16, 0, (&one)[0]);
  gemmini_extended_config_ex(WS, 0, 0, 1, 0, 0);
  gemmini_extended3_config_ld(16, 1.0f, 0, 0);
  gemmini_extended_mvin(&A[0][0], 0, 16, 16);
  gemmini_extended_mvin(&B[0][0], 16, 16, 16);
  gemmini_extended_preload(16, 0x80000000, 16, 16, 16, 16);
  gemmini_extended_compute_preloaded(0, ~((uint32_t)0), 16, 16, 16, 16);
  gemmini_extended_mvout(&C[0][0], 0x80000000, 16, 16);
}
"""


def test_a_float_local_holding_one_literal_is_an_instruction_operand():
    fn = parse_c(ONE % "")
    (st,) = [s for s in fn.body if isinstance(s, ir.Instr) and s.op == "config_st"]
    assert ir.FloatConst(1.0) in st.args
    rng = np.random.default_rng(0)
    A = rng.integers(-16, 16, (16, 16)).astype(np.int8)
    B = rng.integers(-16, 16, (16, 16)).astype(np.int8)
    want = np.clip(A.astype(np.int64) @ B.astype(np.int64), -128, 127).astype(np.int8)
    assert np.array_equal(run(fn, {"A": A, "B": B}).outputs["C"], want)
    # written twice: not a constant, refused in one line
    with pytest.raises(UnsupportedConstruct, match="a local holding one literal"):
        parse_c(ONE % "  one = 2.0f;", filename="one.c")
