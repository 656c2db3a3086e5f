"""Hand-built IR programs with the structure Exo emits (for tests and benchmarks).

`basic_gemm(M, N, K)` reproduces the loop nest, allocations and address
arithmetic of Exo's basic Gemmini mapping of ``C = act(scale * (A @ B))``
(see helpers/example_exo_gemm_64.c, here scaled to any multiple of 64), without
going through the C parser.
"""

from __future__ import annotations

from gemmini import ir
from gemmini.ir import BinOp, Const, DramAddr, FloatConst, Var

GARBAGE = Const(ir.GARBAGE_ADDR)


def _add(*xs):
    e = xs[0]
    for x in xs[1:]:
        e = BinOp("+", e, x)
    return e


def _mul(a, b):
    return BinOp("*", a, b)


def _div(a, b):
    return BinOp("/", a, b)


def gemm_params(M: int, N: int, K: int) -> tuple[ir.Param, ...]:
    """Exo's signature of the GEMM: scale, act, A[M][K], B[K][N], C[M][N]."""
    return (ir.Param("scale", "f32", (), const=True, by_pointer=True),
            ir.Param("act", "bool", ()),
            ir.Param("A", "i8", (M, K), const=True, flat=False),
            ir.Param("B", "i8", (K, N), const=True, flat=False),
            ir.Param("C", "i8", (M, N), flat=False))


def basic_gemm(M: int, N: int, K: int, *, name: str | None = None) -> ir.Function:
    """Exo's basic mapping of an MxNxK int8 GEMM (M % 16 == 0, N % 64 == 0, K % 64 == 0)."""
    assert M % 16 == 0 and N % 64 == 0 and K % 64 == 0
    line = iter(range(10, 10_000))
    i, j, jo, ko, k = (Var(v) for v in ("i", "j", "j_in_o", "ko", "k"))
    res, a, b = Var("res"), Var("a"), Var("b")

    def instr(op, *args):
        return ir.Instr(op, tuple(args), line=next(line))

    acc_row = _add(res, _div(_mul(jo, Const(256)), Const(16)))
    zero = ir.For("j_in_o", Const(0), Const(4), (
        instr("mvin", Const(0), acc_row, Const(16), Const(16)),), line=next(line))
    load_a = instr("mvin2", DramAddr("A", _add(_mul(_mul(Const(16), i), Const(K)),
                                               _mul(Const(64), ko))),
                   _add(a, _div(_mul(ko, Const(1024)), Const(16))), Const(64), Const(16))
    load_b = ir.For("k", Const(0), Const(4), (
        instr("mvin3", DramAddr("B", _add(_mul(_add(_mul(Const(16), k), _mul(Const(64), ko)),
                                               Const(N)), _mul(Const(64), j))),
              _add(b, _div(_add(_mul(ko, Const(4096)), _mul(k, Const(1024))), Const(16))),
              Const(64), Const(16)),), line=next(line))
    matmul = ir.For("k", Const(0), Const(4), (
        ir.For("j_in_o", Const(0), Const(4), (
            instr("preload",
                  _add(b, _div(_add(_mul(ko, Const(4096)), _mul(k, Const(1024)),
                                    _mul(jo, Const(256))), Const(16))),
                  BinOp("|", acc_row, Const(0x40000000)),
                  Const(16), Const(16), Const(16), Const(16)),
            instr("compute_preloaded",
                  _add(a, _div(_add(_mul(ko, Const(1024)), _mul(k, Const(256))), Const(16))),
                  GARBAGE, Const(16), Const(16), Const(16), Const(16)),
        ), line=next(line)),), line=next(line))
    store = ir.For("j_in_o", Const(0), Const(4), (
        instr("mvout", DramAddr("C", _add(_mul(_mul(Const(16), i), Const(N)),
                                          _mul(Const(16), jo), _mul(Const(64), j))),
              acc_row, Const(16), Const(16)),), line=next(line))
    body_j = (
        ir.Decl("res", "uint32_t", Const(0x80000000), line=next(line)),
        zero,
        ir.Decl("a", "uint32_t", Const(0), line=next(line)),
        ir.Decl("b", "uint32_t", Const(K), line=next(line)),
        ir.For("ko", Const(0), Const(K // 64), (load_a, load_b, matmul), line=next(line)),
        store,
    )
    body = (
        instr("config_st", Const(N), Var("act"), Var("scale")),
        instr("config_ex", Const(1), Const(0), Const(0), Const(1), Const(0), Const(0)),
        instr("config_ld", Const(N), FloatConst(1.0), Const(0), None, Const(2)),
        instr("config_ld", Const(K), FloatConst(1.0), Const(0), None, Const(1)),
        instr("config_ld", Const(0), FloatConst(1.0), Const(0), None, Const(0)),
        ir.For("i", Const(0), Const(M // 16), (
            ir.For("j", Const(0), Const(N // 64), body_j, line=next(line)),), line=next(line)),
    )
    return ir.Function(name or f"gemm_{M}x{N}x{K}", gemm_params(M, N, K), body, "gemm_Context")
