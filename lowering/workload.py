"""One workload: what is computed, on which shapes, with which C signature.

``Workload.from_proc(proc)`` recognizes a user's GEMM or convolution proc
(algorithm or already mapped to Gemmini) from its parameters and shapes and
pairs it with our algorithm proc of the same shape (`lowering.suite`),
whose Exo C is the reference semantics (`lowering.reference`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gemmini import ir
from gemmini.errors import UnsupportedConstruct

_DTYPES = {"I8": "i8", "I32": "i32", "F32": "f32", "BOOL": "bool"}
GEMM_PARAMS = ("scale", "act", "A", "B", "C")
CONV_PARAMS = ("output", "bias", "inp", "weights", "act", "scale")
OUTPUTS = {"gemm": ("C",), "conv": ("output",)}
_MAPPED_MARKERS = ("GEMM_SCRATCH", "GEMM_ACCUM", "config_", "mvin", "gemmini")


def _error(proc, message: str) -> UnsupportedConstruct:
    return UnsupportedConstruct(message, filename=f"proc {proc.name()}")


def proc_signature(proc, outputs: tuple[str, ...]) -> tuple[ir.Param, ...]:
    """The C signature of Exo's compiled ``proc`` as `ir.Param`s (context pointer excluded).

    Arrays are flat pointers, ``const`` unless listed in ``outputs``; ``f32``
    scalars are passed as ``const float*`` (``by_pointer``), ``bool`` by value.
    """
    params = []
    for arg in proc.args():
        name = str(arg.name())
        type_name = arg.type().name.upper()
        if type_name not in _DTYPES:
            raise _error(proc, f"parameter {name!r} has unsupported type {arg.type()}")
        dtype = _DTYPES[type_name]
        if arg.is_tensor():
            shape = []
            for d in arg.shape():
                value = d.value() if hasattr(d, "value") else None
                if not isinstance(value, int):
                    raise _error(proc, f"parameter {name!r}: sizes must be constants "
                                       "(partial_eval the proc first)")
                shape.append(value)
            params.append(ir.Param(name, dtype, tuple(shape), const=name not in outputs))
        elif dtype == "f32":
            params.append(ir.Param(name, dtype, (), const=True, by_pointer=True))
        elif dtype == "bool":
            params.append(ir.Param(name, dtype, ()))
        else:
            raise _error(proc, f"scalar parameter {name!r} of type {dtype} is not supported")
    return tuple(params)


def _arg_names(proc) -> set[str]:
    return {str(a.name()) for a in proc.args()}


def kind_of(proc) -> str:
    """``"gemm"`` or ``"conv"`` from the proc's parameter names."""
    names = _arg_names(proc)
    if names == set(GEMM_PARAMS):
        return "gemm"
    if names == set(CONV_PARAMS):
        return "conv"
    raise _error(proc, f"parameters {sorted(names)} are neither a GEMM "
                       f"{GEMM_PARAMS} nor a convolution {CONV_PARAMS}")


def is_mapped(proc) -> bool:
    """Whether ``proc`` already uses Gemmini memories or instructions."""
    text = str(proc)
    return any(marker in text for marker in _MAPPED_MARKERS)


@dataclass(frozen=True)
class Workload:
    """A GEMM or convolution workload.

    ``signature`` is the C signature of the *given* proc (mapped or algorithm);
    ``algorithm`` is our algorithm proc of the same shape (reference semantics);
    ``mapped`` is the user's mapped proc, or None (then `mapped_c` compiles the
    basic mapping). ``acts`` lists the ReLU settings to test.
    """
    name: str
    kind: str
    shape: dict[str, int] = field(compare=False, hash=False)
    algorithm: Any = field(compare=False, hash=False, repr=False)
    signature: tuple[ir.Param, ...]
    outputs: tuple[str, ...]
    macs: int
    acts: tuple[bool, ...] = (False, True)
    mapped: Any = field(default=None, compare=False, hash=False, repr=False)
    shape_key: tuple[tuple[str, int], ...] = ()

    @property
    def settings(self) -> list[dict[str, Any]]:
        """Scalar settings to test, e.g. ``[{"act": False}, {"act": True}]``."""
        return [{"act": a} for a in self.acts]

    @property
    def inputs(self) -> tuple[ir.Param, ...]:
        """Array parameters that are inputs."""
        return tuple(p for p in self.signature if p.is_array and p.name not in self.outputs)

    def param(self, name: str) -> ir.Param:
        for p in self.signature:
            if p.name == name:
                return p
        raise KeyError(name)

    def mapped_c(self):
        """`lowering.exo_to_c.ExoC` of the mapped proc (disk-cached)."""
        from lowering import exo_to_c
        if self.mapped is not None:
            return exo_to_c.compile_proc(self.mapped)
        return exo_to_c.mapped_c(self.algorithm)

    # -- constructors -------------------------------------------------------

    @classmethod
    def from_spec(cls, spec) -> "Workload":
        """Workload of a `lowering.suite.WorkloadSpec` (or a suite name)."""
        from lowering import suite as workloads
        if isinstance(spec, str):
            spec = workloads.by_name(spec)
        algorithm = spec.algorithm()
        return cls._build(spec.name, spec.kind, spec.shape_dict, algorithm, algorithm, None)

    @classmethod
    def from_proc(cls, proc) -> "Workload":
        """Recognize a GEMM or convolution proc (algorithm or mapped) by its signature."""
        from lowering import suite as workloads
        kind = kind_of(proc)
        sig = {p.name: p for p in proc_signature(proc, OUTPUTS[kind])}
        if kind == "gemm":
            shape = _gemm_shape(proc, sig)
            spec = workloads.gemm(shape["M"], shape["N"], shape["K"])
        else:
            shape = _conv_shape(proc, sig)
            spec = workloads.conv(shape["batch"], shape["in_dim"], shape["in_ch"],
                                  shape["out_ch"])
        algorithm = spec.algorithm()
        mapped = proc if is_mapped(proc) else None
        name = proc.name() if re.fullmatch(r"[A-Za-z_]\w*", proc.name()) else spec.name
        return cls._build(name, kind, spec.shape_dict, algorithm, proc, mapped)

    @classmethod
    def _build(cls, name, kind, shape, algorithm, given, mapped) -> "Workload":
        from lowering.suite import WorkloadSpec
        outputs = OUTPUTS[kind]
        macs = WorkloadSpec(name, kind, tuple(shape.items())).macs
        return cls(name=name, kind=kind, shape=dict(shape), algorithm=algorithm,
                   signature=proc_signature(given, outputs), outputs=outputs, macs=macs,
                   mapped=mapped, shape_key=tuple(shape.items()))


def _expect(proc, sig, name, dtype, rank):
    p = sig[name]
    if p.dtype != dtype or len(p.shape) != rank:
        want = f"{dtype}[{rank}-d]" if rank else dtype
        got = f"{p.dtype}{list(p.shape)}" if p.shape else p.dtype
        raise _error(proc, f"parameter {name!r} should be {want}, got {got}")
    return p.shape


def _gemm_shape(proc, sig) -> dict[str, int]:
    _expect(proc, sig, "scale", "f32", 0)
    _expect(proc, sig, "act", "bool", 0)
    M, K = _expect(proc, sig, "A", "i8", 2)
    K2, N = _expect(proc, sig, "B", "i8", 2)
    shape_c = _expect(proc, sig, "C", "i8", 2)
    if K2 != K or shape_c != (M, N):
        raise _error(proc, f"GEMM shapes do not agree: A {[M, K]}, B {[K2, N]}, "
                           f"C {list(shape_c)} (want A[M,K], B[K,N], C[M,N])")
    return {"M": M, "N": N, "K": K}


def _conv_shape(proc, sig) -> dict[str, int]:
    from lowering.suite import KERNEL_DIM
    _expect(proc, sig, "scale", "f32", 0)
    _expect(proc, sig, "act", "bool", 0)
    batch, in_dim, in_dim2, in_ch = _expect(proc, sig, "inp", "i8", 4)
    kr, kc, in_ch2, out_ch = _expect(proc, sig, "weights", "i8", 4)
    bias = _expect(proc, sig, "bias", "i32", 2)
    out = _expect(proc, sig, "output", "i8", 4)
    out_dim = in_dim - KERNEL_DIM + 1
    if (in_dim2 != in_dim or (kr, kc) != (KERNEL_DIM, KERNEL_DIM) or in_ch2 != in_ch
            or bias != (1, out_ch) or out != (batch, out_dim, out_dim, out_ch)):
        raise _error(proc, "convolution shapes do not agree: want inp[b,D,D,ci], "
                           "weights[3,3,ci,co], bias[1,co], output[b,D-2,D-2,co]; got "
                           f"inp {[batch, in_dim, in_dim2, in_ch]}, "
                           f"weights {[kr, kc, in_ch2, out_ch]}, "
                           f"bias {list(bias)}, output {list(out)}")
    return {"batch": batch, "in_dim": in_dim, "in_ch": in_ch, "out_ch": out_ch}
