"""Hand-built IR programs with the structure Exo emits (for tests and benchmarks).

`basic_gemm(M, N, K)` reproduces the loop nest, allocations and address
arithmetic of Exo's basic Gemmini mapping of ``C = act(scale * (A @ B))``
(see helpers/example_exo_gemm_64.c, here scaled to any multiple of 64), without
going through the C parser.
"""

from __future__ import annotations

from gemmini import ir
from gemmini.config import ACC_BIT, ACCUMULATE_BIT
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


def tiled_gemm(M: int, N: int, K: int, *, dim: int = 16, dtype: str = "i8",
               style: str = "overwrite", overwrite_k: int | None = None) -> ir.Function:
    """C = A @ B (M x K times K x N, every size a multiple of `dim`) tiled DIM x DIM the way
    hand-written kernels are: per row strip of A (mvin2) and per column strip of B (mvin3),
    one preload / compute_preloaded pair per k-block into one accumulator block, then an
    mvout. ``style="overwrite"``: the first k-block's preload writes the accumulator (no
    accumulate bit) and the later ones accumulate; ``style="zero"``: an mvin from DRAM
    address 0 zeroes the block first and every preload accumulates (Exo's style).
    ``overwrite_k`` (either style) makes k-block ``overwrite_k`` the one that overwrites
    (the sums of the blocks before it are lost).
    ``dtype`` is the element type of A, B and C (``"i8"`` or ``"f32"``, as the
    configuration's input type); strides are in bytes."""
    assert M % dim == 0 and N % dim == 0 and K % dim == 0 and style in ("overwrite", "zero")
    esize = 4 if dtype == "f32" else 1
    line = iter(range(10, 10_000))
    i, j, k = Var("i"), Var("j"), Var("k")
    d = Const(dim)

    def instr(op, *args):
        return ir.Instr(op, tuple(args), line=next(line))

    acc = _add(Const(ACC_BIT), _mul(j, d))          # C block (i, j): accumulator row j*DIM
    a_row, b_row = _mul(k, d), _add(Const(K), _mul(k, d))
    if overwrite_k is None and style == "overwrite":
        overwrite_k = 0
    c_addr = BinOp("|", acc, Const(ACCUMULATE_BIT))
    if overwrite_k is not None:
        c_addr = ir.Cond(BinOp("==", k, Const(overwrite_k)), acc, c_addr)
    zero = (instr("mvin", Const(0), acc, d, d),) if style == "zero" else ()
    load_a = ir.For("k", Const(0), Const(K // dim), (
        instr("mvin2", DramAddr("A", _add(_mul(_mul(i, d), Const(K)), _mul(k, d))),
              a_row, d, d),), line=next(line))
    load_b = ir.For("k", Const(0), Const(K // dim), (
        instr("mvin3", DramAddr("B", _add(_mul(_mul(k, d), Const(N)), _mul(j, d))),
              b_row, d, d),), line=next(line))
    matmul = ir.For("k", Const(0), Const(K // dim), (
        instr("preload", b_row, c_addr, d, d, d, d),
        instr("compute_preloaded", a_row, GARBAGE, d, d, d, d),), line=next(line))
    store = instr("mvout", DramAddr("C", _add(_mul(_mul(i, d), Const(N)), _mul(j, d))),
                  acc, d, d)
    body = (
        instr("config_st", Const(N * esize), Const(0), FloatConst(1.0)),
        instr("config_ex", Const(1), Const(0), Const(0), Const(1), Const(0), Const(0)),
        instr("config_ld", Const(0), FloatConst(1.0), Const(0), None, Const(0)),
        instr("config_ld", Const(K * esize), FloatConst(1.0), Const(0), None, Const(1)),
        instr("config_ld", Const(N * esize), FloatConst(1.0), Const(0), None, Const(2)),
        ir.For("i", Const(0), Const(M // dim), (
            load_a,
            ir.For("j", Const(0), Const(N // dim), (*zero, load_b, matmul, store),
                   line=next(line)),), line=next(line)),
    )
    params = (ir.Param("A", dtype, (M, K), const=True, flat=False),
              ir.Param("B", dtype, (K, N), const=True, flat=False),
              ir.Param("C", dtype, (M, N), flat=False))
    return ir.Function(f"gemm_{style}_{M}x{N}x{K}", params, body)
