"""One workload: what is computed (a reference proc), on which C signature.

``Workload.from_proc(proc)`` accepts any Exo proc whose sizes are constants. A proc
mapped to Gemmini is its own reference: `lowering.semantics.reference_proc` replaces
every instruction by Exo's definition of it. An unmapped proc (an algorithm) is its
own reference and is mapped with `lowering.mapping.map_to_gemmini` when its C is
needed. ``algorithm=`` (the unscheduled proc) is checked against the mapped proc's
semantics on random inputs. ``Workload.from_spec`` builds the bundled GEMM and
convolution workloads (`lowering.suite`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from exo.stdlib.scheduling import rename

from gemmini import ir
from gemmini.errors import CheckError, UnsupportedConstruct
from lowering import exo_to_c
from lowering.alloc import EMPTY_HEAP, HeapState
from lowering.reference import check_same_semantics
from lowering.semantics import (READ, WRITTEN, arg_roles, proc_error, proc_signature,
                                reference_proc)

_MAPPED_MARKERS = ("GEMM_SCRATCH", "GEMM_ACCUM", "config_", "mvin", "gemmini")


def guess_kind(params) -> str:
    """``"conv"`` when an array has four dimensions (NHWC), else ``"gemm"``: which menu
    and prompts the search uses; it never changes the semantics."""
    return "conv" if any(len(p.shape) == 4 for p in params) else "gemm"


def is_mapped(proc) -> bool:
    """Whether ``proc`` already uses Gemmini memories or instructions."""
    text = str(proc)
    return any(marker in text for marker in _MAPPED_MARKERS)


def _outputs(roles: dict[str, str]) -> tuple[str, ...]:
    return tuple(name for name, role in roles.items() if role != READ)


@dataclass(frozen=True)
class Workload:
    """What a kernel must compute, and its C signature.

    ``algorithm`` is the reference proc: its plain C is the reference semantics
    (`lowering.reference`). ``signature`` is the C signature of the *given* proc;
    ``outputs`` the arrays it writes (``roles``: read, written or both).
    ``mapped`` is the user's mapped proc, or None (then `mapped_c` maps
    ``algorithm``). ``acts`` lists the ReLU settings to test (a bool ``act``);
    ``reduction`` the accumulation length (None: measured on the reference).
    ``kind`` picks the search's menu. ``macs`` (None: unknown) sets ideal cycles.
    ``heap`` is the scratchpad heap before the kernel (`lowering.alloc.HeapState`).
    """
    name: str
    kind: str
    shape: dict[str, int] = field(compare=False, hash=False)
    algorithm: Any = field(compare=False, hash=False, repr=False)
    signature: tuple[ir.Param, ...]
    outputs: tuple[str, ...]
    macs: int | None
    acts: tuple[bool, ...] = (False, True)
    mapped: Any = field(default=None, compare=False, hash=False, repr=False)
    shape_key: tuple[tuple[str, int], ...] = ()
    roles: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    reduction: int | None = None
    # gemm_malloc's state before the kernel: where the mapped C's buffers land (docs/hardware.md,
    # "Placement"); the default is a fresh heap, as Exo's harness leaves it (gemm_init_mem)
    heap: HeapState = EMPTY_HEAP
    # (workload, seeds, kinds) -> list of `lowering.reference.InputSet`: a workload that
    # brings its own input sets (TinyMPC); None: drawn from the signature
    input_sets: Any = field(default=None, compare=False, hash=False, repr=False)

    @property
    def settings(self) -> list[dict[str, Any]]:
        """Scalar settings to test, e.g. ``[{"act": False}, {"act": True}]``."""
        from lowering.inputs import bool_settings
        return bool_settings(self.signature, self.acts)

    @property
    def inputs(self) -> tuple[ir.Param, ...]:
        """Array parameters that are read."""
        return tuple(p for p in self.signature
                     if p.is_array and self.roles.get(p.name, READ) != WRITTEN)

    def param(self, name: str) -> ir.Param:
        for p in self.signature:
            if p.name == name:
                return p
        raise KeyError(name)

    def mapped_c(self):
        """`lowering.exo_to_c.ExoC` of the mapped proc (disk-cached).

        An unmapped proc is mapped with `lowering.mapping.map_to_gemmini`; when that
        fails (other loop or buffer names) and the proc has the signature of a bundled
        GEMM or convolution, the bundled algorithm's mapping is used if it computes
        what the proc computes on random inputs (`check_same_semantics`)."""
        if self.mapped is not None:
            return exo_to_c.compile_proc(self.mapped)
        try:
            return exo_to_c.mapped_c(self.algorithm)
        except UnsupportedConstruct as e:
            twin = bundled_twin(self)
            if twin is None:
                raise
            failure = str(e)
        try:   # the bundled algorithm of this signature, if it computes the same
            check_same_semantics(self, twin)
        except CheckError as e:
            raise UnsupportedConstruct(
                f"{failure}; the bundled {twin.kind} of this signature computes something "
                f"else ({str(e).split(': ', 1)[-1]})", filename=f"proc {self.name}") from None
        return exo_to_c.mapped_c(rename(twin.algorithm, self.name))

    # -- constructors -------------------------------------------------------

    @classmethod
    def from_spec(cls, spec) -> "Workload":
        """Workload of a `lowering.suite.WorkloadSpec` (or a suite name)."""
        from lowering import suite as workloads
        if isinstance(spec, str):
            spec = workloads.by_name(spec)
        if hasattr(spec, "workload"):        # a spec that builds its own (TinyMPC)
            return spec.workload()
        algorithm = spec.algorithm()
        s = spec.shape_dict
        reduction = s["K"] if spec.kind == "gemm" else \
            workloads.KERNEL_DIM * workloads.KERNEL_DIM * s["in_ch"]
        roles = arg_roles(algorithm)
        return cls(name=spec.name, kind=spec.kind, shape=s, algorithm=algorithm,
                   signature=proc_signature(algorithm, _outputs(roles)),
                   outputs=_outputs(roles), macs=spec.macs, shape_key=spec.shape,
                   roles=roles, reduction=reduction)

    @classmethod
    def from_proc(cls, proc, algorithm=None) -> "Workload":
        """The workload of any Exo proc: mapped to Gemmini (its reference is the proc with
        every instruction inlined) or not (it is its own reference). ``algorithm``, the
        unscheduled proc, is checked against it on random inputs (`CheckError` if they
        differ)."""
        roles = arg_roles(proc)
        outputs = _outputs(roles)
        signature = proc_signature(proc, outputs)
        if not outputs:
            raise proc_error(proc, "writes no array argument: nothing to check")
        mapped = proc if is_mapped(proc) else None
        reference = reference_proc(proc) if mapped is not None else proc
        name = proc.name() if re.fullmatch(r"[A-Za-z_]\w*", proc.name()) else "kernel"
        shape = {p.name: p.size for p in signature if p.is_array}
        acts = (False, True) if any(p.name == "act" and p.dtype == "bool"
                                    for p in signature) else ()
        w = cls(name=name, kind=guess_kind(signature), shape=shape, algorithm=reference,
                signature=signature, outputs=outputs, macs=None, acts=acts, mapped=mapped,
                shape_key=tuple(shape.items()), roles=roles)
        if algorithm is not None:
            check_same_semantics(w, cls.from_proc(algorithm))
        return w


def bundled_twin(workload) -> "Workload | None":
    """The bundled GEMM or convolution workload with ``workload``'s exact signature, if any."""
    from lowering import suite
    sig = {p.name: (p.dtype, p.shape) for p in workload.signature}
    scalars = sig.get("scale") == ("f32", ()) and sig.get("act") == ("bool", ())
    if not scalars:
        return None
    if set(sig) == {"scale", "act", "A", "B", "C"} and len(sig["A"][1]) == 2:
        (M, K), N = sig["A"][1], sig["B"][1][-1]
        spec = suite.gemm(M, N, K)
    elif set(sig) == {"scale", "act", "output", "bias", "inp", "weights"} and \
            len(sig["inp"][1]) == 4 and len(sig["output"][1]) == 4:
        batch, in_dim, _, in_ch = sig["inp"][1]
        spec = suite.conv(batch, in_dim, in_ch, sig["output"][1][3])
    else:
        return None
    twin = Workload.from_spec(spec)
    mine = {p.name: (p.dtype, p.shape) for p in twin.signature}
    return twin if mine == sig else None
