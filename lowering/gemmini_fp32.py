"""Exo instructions for an fp32 Gemmini (the ``fp32_4`` configuration: DIM 4, float32
scratchpad and accumulator), written for this project.

Exo's own Gemmini platform is int8 only (16-wide rows, i8 / i32 types). The procs
here are ``@instr`` procs in the same style: the body is the semantics (what
`lowering.semantics.reference_proc` inlines to build the reference), the template is
the C the model's parser reads (the ``gemmini.h`` spellings of `gemmini.isa`).

Memories: `FP32_SCRATCH` and `FP32_ACCUM`, rows of `DIM` floats (16 bytes, one row of
Exo's allocator). A window's address is the row number (plus the accumulator flag
bit for `FP32_ACCUM`). Because Exo 1.0's accumulator allocator puts every block at row 0,
a kernel allocates at most one `FP32_ACCUM` buffer at a time and addresses rows in it.

Configuration state (Exo ``@config`` structs) mirrors the hardware's:

* `LoadF32`, `LoadF32Id1`, `LoadF32Id2`: the three load states' scales,
  set by ``config_ld_f32*`` (scale from an f32 argument, or the constants 1 / -1 of
  the ``_one`` / ``_neg`` variants), read by ``mvin*_f32`` (``dst = scale * src``); the
  DRAM stride is only printed (a wrong one shows in the model's outputs);
* `StoreF32`: the store's scale and activation, set by ``config_st_f32*``, read by
  ``mvout_f32`` (``dst = relu(scale * src)`` when act). ``config_ex_f32`` (weight
  stationary) and ``fence_f32`` have no effect on values (empty bodies).

Instructions (n rows, m columns, both <= DIM): ``mvin_f32`` / ``mvin2_f32`` /
``mvin3_f32`` (DRAM -> scratchpad with load state 0 / 1 / 2), ``mvin_acc_f32``
(DRAM -> accumulator, load state 0, overwrite) and ``mvin_acc_add_f32`` (accumulate),
``mvin2_acc_f32`` / ``mvin2_acc_add_f32`` (the same with load state 1),
``zero_acc_f32`` and ``zero_f32`` (zero rows), ``matmul_f32`` (C = A B, preload +
compute) and ``matmul_acc_f32`` (C += A B), ``mvout_f32`` (accumulator -> DRAM),
``fence_f32``. Products accumulate term by term in k order, as the reference runs them.
"""

from __future__ import annotations

from exo import DRAM, config, instr
from exo.core.memory import Memory, generate_offset
from exo.libs.externs import relu

DIM = 4                      # the fp32_4 configuration's array size (gemmini.config)
ACCUMULATE_FLAG = "0x40000000"


def _check_dim() -> None:
    from gemmini.config import CONFIGS
    assert CONFIGS["fp32_4"].dim == DIM, "lowering.gemmini_fp32 is written for DIM 4"


_check_dim()


class _Fp32Memory(Memory):
    """Rows of DIM floats; a window is the row number (flag bits added by subclasses)."""
    ALLOCATOR = ""
    FREE = ""
    FLAG = ""

    @classmethod
    def global_(cls):
        return f'#include <include/gemmini.h>\n#include "{cls.ALLOCATOR}.h"'

    @classmethod
    def alloc(cls, new_name, prim_type, shape, srcinfo):
        if len(shape) == 0:
            return f"{prim_type} {new_name};"
        size = " * ".join(str(s) for s in shape)
        return (f"{prim_type} *{new_name} = ({prim_type}*) "
                f"((uint32_t){cls.ALLOCATOR} ({size} * sizeof({prim_type})));")

    @classmethod
    def can_read(cls):
        return False

    @classmethod
    def free(cls, new_name, prim_type, shape, srcinfo):
        if len(shape) == 0:
            return ""
        return f"{cls.FREE}((uint32_t)({new_name}));"

    @classmethod
    def window(cls, basetyp, baseptr, indices, strides, srcinfo):
        prim_type = basetyp.basetype().ctype()
        offset = generate_offset(indices, strides)
        return (f"*({prim_type}*)((uint64_t)( "
                f"((uint32_t)((uint64_t){baseptr})) + ({offset})/{DIM}))")


class FP32_SCRATCH(_Fp32Memory):
    """The fp32 scratchpad (Exo's ``gemm_malloc`` allocator, 16-byte rows)."""
    ALLOCATOR = "gemm_malloc"
    FREE = "gemm_free"


class FP32_ACCUM(_Fp32Memory):
    """The fp32 accumulator (Exo's ``gemm_acc_malloc``: the address carries bit 31)."""
    ALLOCATOR = "gemm_acc_malloc"
    FREE = "gemm_acc_free"


# ---------------------------------------------------------------------------
# Configuration state
# ---------------------------------------------------------------------------

@config
class LoadF32:
    scale: f32


@config
class LoadF32Id1:
    scale: f32


@config
class LoadF32Id2:
    scale: f32


@config
class StoreF32:
    scale: f32
    act: bool


# --- config_ld: load state 0 ------------------------------------------------

@instr("gemmini_extended3_config_ld(({src_stride}) * 4, {scale}[0], 0, 0);\n")
def config_ld_f32(scale: f32, src_stride: stride):
    LoadF32.scale = scale


@instr("gemmini_extended3_config_ld(({src_stride}) * 4, 1.0f, 0, 0);\n")
def config_ld_f32_one(src_stride: stride):
    LoadF32.scale = 1.0


@instr("gemmini_extended3_config_ld(({src_stride}) * 4, -1.0f, 0, 0);\n")
def config_ld_f32_neg(src_stride: stride):
    LoadF32.scale = -1.0


# --- load state 1 -------------------------------------------------------------

@instr("gemmini_extended3_config_ld(({src_stride}) * 4, {scale}[0], 0, 1);\n")
def config_ld2_f32(scale: f32, src_stride: stride):
    LoadF32Id1.scale = scale


@instr("gemmini_extended3_config_ld(({src_stride}) * 4, 1.0f, 0, 1);\n")
def config_ld2_f32_one(src_stride: stride):
    LoadF32Id1.scale = 1.0


@instr("gemmini_extended3_config_ld(({src_stride}) * 4, -1.0f, 0, 1);\n")
def config_ld2_f32_neg(src_stride: stride):
    LoadF32Id1.scale = -1.0


# --- load state 2 -------------------------------------------------------------

@instr("gemmini_extended3_config_ld(({src_stride}) * 4, {scale}[0], 0, 2);\n")
def config_ld3_f32(scale: f32, src_stride: stride):
    LoadF32Id2.scale = scale


@instr("gemmini_extended3_config_ld(({src_stride}) * 4, 1.0f, 0, 2);\n")
def config_ld3_f32_one(src_stride: stride):
    LoadF32Id2.scale = 1.0


@instr("gemmini_extended3_config_ld(({src_stride}) * 4, -1.0f, 0, 2);\n")
def config_ld3_f32_neg(src_stride: stride):
    LoadF32Id2.scale = -1.0


# --- config_st / config_ex ----------------------------------------------------

@instr("gemmini_extended_config_st(({dst_stride}) * 4, 0, 1.0f);\n")
def config_st_f32(dst_stride: stride):
    StoreF32.scale = 1.0
    StoreF32.act = False


@instr("gemmini_extended_config_st(({dst_stride}) * 4, 1, 1.0f);\n")
def config_st_f32_relu(dst_stride: stride):
    StoreF32.scale = 1.0
    StoreF32.act = True


@instr("gemmini_extended_config_st(({dst_stride}) * 4, 0, -1.0f);\n")
def config_st_f32_neg(dst_stride: stride):
    StoreF32.scale = -1.0
    StoreF32.act = False


@instr("gemmini_extended_config_st(({dst_stride}) * 4, 1, -1.0f);\n")
def config_st_f32_neg_relu(dst_stride: stride):
    StoreF32.scale = -1.0
    StoreF32.act = True


@instr("gemmini_extended_config_ex(WS, 0, 0, 1, 0, 0);\n")
def config_ex_f32():
    pass


# ---------------------------------------------------------------------------
# Moves
# ---------------------------------------------------------------------------

_MVIN = ("gemmini_extended_{op}(((uint64_t) &{{src_data}}), "
         "((uint32_t) &{{dst_data}}){flag}, {{m}}, {{n}});")


@instr(_MVIN.format(op="mvin", flag=""))
def mvin_f32(n: size, m: size, src: [f32][n, m] @ DRAM, dst: [f32][n, 4] @ FP32_SCRATCH):
    assert n <= 4
    assert m <= 4
    assert stride(src, 1) == 1
    assert stride(dst, 0) == 4
    assert stride(dst, 1) == 1
    for i in seq(0, n):
        for j in seq(0, m):
            dst[i, j] = LoadF32.scale * src[i, j]


@instr(_MVIN.format(op="mvin2", flag=""))
def mvin2_f32(n: size, m: size, src: [f32][n, m] @ DRAM, dst: [f32][n, 4] @ FP32_SCRATCH):
    assert n <= 4
    assert m <= 4
    assert stride(src, 1) == 1
    assert stride(dst, 0) == 4
    assert stride(dst, 1) == 1
    for i in seq(0, n):
        for j in seq(0, m):
            dst[i, j] = LoadF32Id1.scale * src[i, j]


@instr(_MVIN.format(op="mvin3", flag=""))
def mvin3_f32(n: size, m: size, src: [f32][n, m] @ DRAM, dst: [f32][n, 4] @ FP32_SCRATCH):
    assert n <= 4
    assert m <= 4
    assert stride(src, 1) == 1
    assert stride(dst, 0) == 4
    assert stride(dst, 1) == 1
    for i in seq(0, n):
        for j in seq(0, m):
            dst[i, j] = LoadF32Id2.scale * src[i, j]


@instr(_MVIN.format(op="mvin", flag=""))
def mvin_acc_f32(n: size, m: size, src: [f32][n, m] @ DRAM, dst: [f32][n, 4] @ FP32_ACCUM):
    assert n <= 4
    assert m <= 4
    assert stride(src, 1) == 1
    assert stride(dst, 0) == 4
    assert stride(dst, 1) == 1
    for i in seq(0, n):
        for j in seq(0, m):
            dst[i, j] = LoadF32.scale * src[i, j]


@instr(_MVIN.format(op="mvin", flag=f" | {ACCUMULATE_FLAG}"))
def mvin_acc_add_f32(n: size, m: size, src: [f32][n, m] @ DRAM,
                     dst: [f32][n, 4] @ FP32_ACCUM):
    assert n <= 4
    assert m <= 4
    assert stride(src, 1) == 1
    assert stride(dst, 0) == 4
    assert stride(dst, 1) == 1
    for i in seq(0, n):
        for j in seq(0, m):
            dst[i, j] += LoadF32.scale * src[i, j]


@instr(_MVIN.format(op="mvin2", flag=""))
def mvin2_acc_f32(n: size, m: size, src: [f32][n, m] @ DRAM, dst: [f32][n, 4] @ FP32_ACCUM):
    assert n <= 4
    assert m <= 4
    assert stride(src, 1) == 1
    assert stride(dst, 0) == 4
    assert stride(dst, 1) == 1
    for i in seq(0, n):
        for j in seq(0, m):
            dst[i, j] = LoadF32Id1.scale * src[i, j]


@instr(_MVIN.format(op="mvin2", flag=f" | {ACCUMULATE_FLAG}"))
def mvin2_acc_add_f32(n: size, m: size, src: [f32][n, m] @ DRAM,
                      dst: [f32][n, 4] @ FP32_ACCUM):
    assert n <= 4
    assert m <= 4
    assert stride(src, 1) == 1
    assert stride(dst, 0) == 4
    assert stride(dst, 1) == 1
    for i in seq(0, n):
        for j in seq(0, m):
            dst[i, j] += LoadF32Id1.scale * src[i, j]


@instr("gemmini_extended_mvin(0, ((uint32_t) &{dst_data}), {m}, {n});")
def zero_acc_f32(n: size, m: size, dst: [f32][n, 4] @ FP32_ACCUM):
    assert n <= 4
    assert m <= 4
    assert stride(dst, 0) == 4
    assert stride(dst, 1) == 1
    for i in seq(0, n):
        for j in seq(0, m):
            dst[i, j] = 0.0


@instr("gemmini_extended_mvin(0, ((uint32_t) &{dst_data}), {m}, {n});")
def zero_f32(n: size, m: size, dst: [f32][n, 4] @ FP32_SCRATCH):
    assert n <= 4
    assert m <= 4
    assert stride(dst, 0) == 4
    assert stride(dst, 1) == 1
    for i in seq(0, n):
        for j in seq(0, m):
            dst[i, j] = 0.0


@instr("gemmini_extended_mvout(((uint64_t) &{dst_data}), (uint32_t) &{src_data}, {m}, {n});")
def mvout_f32(n: size, m: size, src: [f32][n, 4] @ FP32_ACCUM, dst: [f32][n, m] @ DRAM):
    assert n <= 4
    assert m <= 4
    assert stride(dst, 1) == 1
    assert stride(src, 0) == 4
    assert stride(src, 1) == 1
    for i in seq(0, n):
        for j in seq(0, m):
            tmp: f32
            tmp = StoreF32.scale * src[i, j]
            if StoreF32.act == True:
                tmp = relu(tmp)
            dst[i, j] = tmp


# ---------------------------------------------------------------------------
# Matrix products (weight stationary: B preloaded, rows of A streamed)
# ---------------------------------------------------------------------------

_MATMUL = ("gemmini_extended_preload((uint32_t)(&{{B_data}}), "
           "((uint32_t)(&{{C_data}})){flag}, {{M}}, {{K}}, {{M}}, {{N}});\n"
           "gemmini_extended_compute_preloaded((uint32_t)(&{{A_data}}), ~((uint32_t)0), "
           "{{K}}, {{N}}, 4, 4);")


@instr(_MATMUL.format(flag=""))
def matmul_f32(N: size, M: size, K: size, A: [f32][N, 4] @ FP32_SCRATCH,
               B: [f32][K, 4] @ FP32_SCRATCH, C: [f32][N, 4] @ FP32_ACCUM):
    assert N <= 4
    assert M <= 4
    assert K <= 4
    for i in seq(0, N):
        for j in seq(0, M):
            C[i, j] = 0.0
            for k in seq(0, K):
                C[i, j] += A[i, k] * B[k, j]


@instr(_MATMUL.format(flag=f" | {ACCUMULATE_FLAG}"))
def matmul_acc_f32(N: size, M: size, K: size, A: [f32][N, 4] @ FP32_SCRATCH,
                   B: [f32][K, 4] @ FP32_SCRATCH, C: [f32][N, 4] @ FP32_ACCUM):
    assert N <= 4
    assert M <= 4
    assert K <= 4
    for i in seq(0, N):
        for j in seq(0, M):
            for k in seq(0, K):
                C[i, j] += A[i, k] * B[k, j]


@instr("gemmini_fence();")
def fence_f32():
    pass


INSTRUCTIONS = (config_ld_f32, config_ld_f32_one, config_ld_f32_neg, config_ld2_f32,
                config_ld2_f32_one, config_ld2_f32_neg, config_ld3_f32, config_ld3_f32_one,
                config_ld3_f32_neg, config_st_f32, config_st_f32_relu, config_st_f32_neg,
                config_st_f32_neg_relu,
                config_ex_f32, mvin_f32, mvin2_f32, mvin3_f32, mvin_acc_f32, mvin_acc_add_f32,
                mvin2_acc_f32, mvin2_acc_add_f32,
                zero_acc_f32, zero_f32, mvout_f32, matmul_f32, matmul_acc_f32, fence_f32)
