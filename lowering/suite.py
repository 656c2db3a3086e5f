"""The workloads: Exo *algorithm* procs for GEMM and 3x3 convolution, and the suite.

Both algorithms compute ``out = clamp(round(scale * acc))`` with an optional ReLU,
written with Exo's Gemmini platform pieces (``acc_scale``, ``clamp``) and the
``relu`` extern, so that the basic Gemmini mapping can ``replace`` loop nests by
Gemmini instructions.

The names of loops and staging buffers (``i, j, k, res, a, b`` for GEMM;
``b, orow, ocol, och, krow, kcol, kch, res, i_s, w_s`` for the convolution, and
the convolution's parameter names ``output, bias, inp, weights``) are the names
Exo's platform scheduling helpers look for; do not rename them.

Public constructors:

* ``gemm_algorithm(M, N, K)`` -> Exo proc ``gemm_{M}x{N}x{K}`` with
  ``(scale: f32, act: bool, A: i8[M, K], B: i8[K, N], C: i8[M, N])``.
* ``conv_algorithm(batch, in_dim, in_ch, out_ch)`` -> Exo proc
  ``conv_{in_dim}x{in_dim}x{in_ch}`` (plus ``_b{batch}`` / ``_o{out_ch}`` suffixes
  when they differ from the suite's) with Exo's conv signature order
  ``(output: i8[batch, out_dim, out_dim, out_ch], bias: i32[1, out_ch],
  inp: i8[batch, in_dim, in_dim, in_ch], weights: i8[3, 3, in_ch, out_ch],
  act: bool, scale: f32)``, ``out_dim = in_dim - 2``.
* ``gemm(M, N, K)`` / ``conv(...)`` -> `WorkloadSpec` (name, kind, shape).
* ``SUITE``: the six GEMMs and three convolutions of method.md section 9;
  ``FP32_SUITE`` the TinyMPC kernels (`lowering.tinympc`); ``ALL`` both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from exo import DRAM, proc
from exo.libs.externs import relu
from exo.platforms.gemmini import acc_scale, clamp
from exo.stdlib.scheduling import rename

from lowering import tinympc

KERNEL_DIM = 3
CONV_BATCH = 4


@proc
def _gemm(M: size, N: size, K: size, scale: f32, act: bool,
          A: i8[M, K] @ DRAM, B: i8[K, N] @ DRAM, C: i8[M, N] @ DRAM):
    for i in seq(0, M):
        for j in seq(0, N):
            res: i32 @ DRAM
            res = 0.0
            for k in seq(0, K):
                a: i8 @ DRAM
                a = A[i, k]
                b: i8 @ DRAM
                b = B[k, j]
                a2: i32
                b2: i32
                a2 = a
                b2 = b
                res += a2 * b2
            src_tmp: i32
            src_tmp = res
            tmp_res1: f32
            acc_scale(src_tmp, tmp_res1, scale)
            tmp_res2: i8
            clamp(tmp_res1, tmp_res2)
            if act == True:
                tmp_res2 = relu(tmp_res2)
            C[i, j] = tmp_res2


@proc
def _conv(batch_size: size, out_dim: size, out_channel: size, kernel_dim: size,
          in_channel: size, in_dim: size,
          output: i8[batch_size, out_dim, out_dim, out_channel] @ DRAM,
          bias: i32[1, out_channel] @ DRAM,
          inp: i8[batch_size, in_dim, in_dim, in_channel] @ DRAM,
          weights: i8[kernel_dim, kernel_dim, in_channel, out_channel] @ DRAM,
          act: bool, scale: f32):
    assert out_dim == in_dim - kernel_dim + 1
    for b in seq(0, batch_size):
        for orow in seq(0, out_dim):
            for ocol in seq(0, out_dim):
                for och in seq(0, out_channel):
                    res: i32 @ DRAM
                    res = bias[0, och]
                    for krow in seq(0, kernel_dim):
                        for kcol in seq(0, kernel_dim):
                            for kch in seq(0, in_channel):
                                w_s: i8 @ DRAM
                                w_s = weights[krow, kcol, kch, och]
                                i_s: i8 @ DRAM
                                i_s = inp[b, orow + krow, ocol + kcol, kch]
                                x: i32
                                w: i32
                                x = i_s
                                w = w_s
                                res += x * w
                    src_tmp: i32
                    src_tmp = res
                    tmp_res1: f32
                    acc_scale(src_tmp, tmp_res1, scale)
                    tmp_res2: i8
                    clamp(tmp_res1, tmp_res2)
                    if act == True:
                        tmp_res2 = relu(tmp_res2)
                    output[b, orow, ocol, och] = tmp_res2


# The size-generic algorithm procs (sizes are partial_eval'd by the constructors below).
GEMM_PROC = _gemm
CONV_PROC = _conv


def gemm_name(M: int, N: int, K: int) -> str:
    """Workload name of an M x N x K GEMM, e.g. ``gemm_512x512x512``."""
    return f"gemm_{M}x{N}x{K}"


def conv_name(batch: int, in_dim: int, in_ch: int, out_ch: int) -> str:
    """Workload name of a convolution, e.g. ``conv_58x58x64`` (suite shapes)."""
    name = f"conv_{in_dim}x{in_dim}x{in_ch}"
    if out_ch != in_ch:
        name += f"_o{out_ch}"
    if batch != CONV_BATCH:
        name += f"_b{batch}"
    return name


def _check_positive(**sizes: int) -> None:
    for key, value in sizes.items():
        if not isinstance(value, int) or value <= 0:
            raise ValueError(f"workload size {key} must be a positive int, got {value!r}")


@lru_cache(maxsize=64)
def gemm_algorithm(M: int, N: int, K: int):
    """Exo algorithm proc of ``C = clamp(round(scale * (A @ B)))`` (+ ReLU if act)."""
    _check_positive(M=M, N=N, K=K)
    return rename(_gemm, gemm_name(M, N, K)).partial_eval(M, N, K)


@lru_cache(maxsize=64)
def conv_algorithm(batch: int, in_dim: int, in_ch: int, out_ch: int):
    """Exo algorithm proc of a stride-1, unpadded 3x3 NHWC convolution with int32 bias."""
    _check_positive(batch=batch, in_dim=in_dim, in_ch=in_ch, out_ch=out_ch)
    if in_dim < KERNEL_DIM:
        raise ValueError(f"conv in_dim {in_dim} is smaller than the "
                         f"{KERNEL_DIM}x{KERNEL_DIM} kernel")
    out_dim = in_dim - KERNEL_DIM + 1
    name = conv_name(batch, in_dim, in_ch, out_ch)
    return rename(_conv, name).partial_eval(batch, out_dim, out_ch, KERNEL_DIM, in_ch, in_dim)


@dataclass(frozen=True)
class WorkloadSpec:
    """Name, kind and shape of one workload (the algorithm proc is built on demand)."""
    name: str
    kind: str
    shape: tuple[tuple[str, int], ...] = field(default=())

    @property
    def shape_dict(self) -> dict[str, int]:
        return dict(self.shape)

    def algorithm(self):
        """The Exo algorithm proc of this workload."""
        s = self.shape_dict
        if self.kind == "gemm":
            return gemm_algorithm(s["M"], s["N"], s["K"])
        return conv_algorithm(s["batch"], s["in_dim"], s["in_ch"], s["out_ch"])

    @property
    def macs(self) -> int:
        s = self.shape_dict
        if self.kind == "gemm":
            return s["M"] * s["N"] * s["K"]
        out_dim = s["in_dim"] - KERNEL_DIM + 1
        return s["batch"] * out_dim * out_dim * s["out_ch"] * KERNEL_DIM * KERNEL_DIM * s["in_ch"]


def gemm(M: int, N: int, K: int) -> WorkloadSpec:
    """Spec of an M x N x K GEMM (any positive sizes)."""
    _check_positive(M=M, N=N, K=K)
    return WorkloadSpec(gemm_name(M, N, K), "gemm", (("M", M), ("N", N), ("K", K)))


def conv(batch: int = CONV_BATCH, in_dim: int = 58, in_ch: int = 64,
         out_ch: int | None = None) -> WorkloadSpec:
    """Spec of a stride-1 3x3 convolution (out_ch defaults to in_ch)."""
    out_ch = in_ch if out_ch is None else out_ch
    _check_positive(batch=batch, in_dim=in_dim, in_ch=in_ch, out_ch=out_ch)
    return WorkloadSpec(conv_name(batch, in_dim, in_ch, out_ch), "conv",
                        (("batch", batch), ("in_dim", in_dim), ("in_ch", in_ch),
                         ("out_ch", out_ch)))


SUITE_GEMMS = ((512, 512, 512), (12544, 256, 64), (12544, 64, 256),
               (3136, 512, 128), (3136, 128, 512), (784, 1024, 256))
SUITE_CONVS = ((58, 64), (30, 128), (16, 256))

SUITE: tuple[WorkloadSpec, ...] = (
    tuple(gemm(M, N, K) for M, N, K in SUITE_GEMMS)
    + tuple(conv(CONV_BATCH, d, c, c) for d, c in SUITE_CONVS)
)


# The fp32 TinyMPC kernels (`lowering.tinympc`, configuration fp32_4).
FP32_SUITE: tuple[tinympc.TinyMpcSpec, ...] = tinympc.SPECS
ALL: tuple = SUITE + FP32_SUITE


def config_of(spec) -> str | None:
    """The Gemmini configuration a suite workload is written for (None: any int8 one)."""
    return getattr(spec, "config", None)


def by_name(name: str) -> WorkloadSpec:
    """The suite workload called ``name`` (int8 or TinyMPC); also parses ``gemm_MxNxK`` /
    ``conv_DxDxC``."""
    for spec in ALL:
        if spec.name == name:
            return spec
    parts = name.split("_")
    try:
        if parts[0] == "gemm" and len(parts) == 2:
            M, N, K = (int(x) for x in parts[1].split("x"))
            return gemm(M, N, K)
        if parts[0] == "conv":
            d, d2, c = (int(x) for x in parts[1].split("x"))
            extra = {p[0]: int(p[1:]) for p in parts[2:]}
            if d == d2 and set(extra) <= {"o", "b"}:
                return conv(extra.get("b", CONV_BATCH), d, c, extra.get("o", c))
    except ValueError:
        pass
    known = ", ".join(s.name for s in ALL)
    raise KeyError(f"unknown workload {name!r}; suite: {known}; or gemm_MxNxK / conv_DxDxC")
