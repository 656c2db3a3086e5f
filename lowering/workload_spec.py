"""A workload spec for a C kernel: the spec says what is computed, the signature what it means.

Specs: ``gemm:MxNxK`` (``C = A @ B``), ``conv:BxDIMxCINxCOUT`` (stride-1 unpadded 3x3
NHWC convolution), either with ``+bias`` (an i32 bias per output column / channel added
to the accumulator), or a bundled workload name (``gemm_512x512x512``).

`workload_for_c` reads a C kernel's signature and binds a spec to it, or checks that an
Exo proc given as the reference (or the proc of a suite workload that carries its own,
such as ``tinympc_forward``) has the kernel's parameters. `workload_for_signature`
binds a spec to a C kernel's parameters: the kernel's own
names and order; no ``f32`` scalar means scale 1.0; no ``bool`` means no activation;
a ``const int32_t`` array is the bias and must be named in the spec. Read-only int8
arrays are the operands in order (A then B; inp then weights), the written int8 array
is the output. The reference is an Exo algorithm proc written for exactly that
signature (`algorithm_source`), so it is checked by Exo and compiled like any proc.
"""

from __future__ import annotations

import dataclasses
import hashlib
import linecache
import re
from dataclasses import dataclass

from exo import DRAM, proc
from exo.libs.externs import relu
from exo.platforms.gemmini import acc_scale, clamp

from gemmini import ir
from gemmini.errors import ConfigError
from lowering import suite
from lowering.signature import read_signature
from lowering.workload import Workload

_SPEC = re.compile(r"(gemm|conv):(\d+(?:x\d+)*)((?:\+\w+)*)")
_EXTRAS = ("bias",)
_LOCALS = ("i_", "j_", "k_", "b_", "r_", "c_", "kr_", "kc_", "acc_", "x_", "y_", "t_", "o_",
           "one_")


@dataclass(frozen=True)
class WorkloadRequest:
    """A parsed spec: kind, sizes and the extra arrays it names."""
    kind: str
    dims: tuple[int, ...]
    extras: tuple[str, ...] = ()

    @property
    def sizes(self) -> dict[str, int]:
        names = ("M", "N", "K") if self.kind == "gemm" else ("batch", "in_dim", "in_ch",
                                                            "out_ch")
        return dict(zip(names, self.dims))


def parse_spec(text: str) -> WorkloadRequest:
    """``gemm:MxNxK[+bias]``, ``conv:BxDIMxCINxCOUT[+bias]`` or a bundled workload name."""
    m = _SPEC.fullmatch(text.strip())
    if m is None:
        try:
            spec = suite.by_name(text.strip())
        except (KeyError, ValueError):
            raise ConfigError(f"unknown workload {text!r} (use gemm:MxNxK, "
                              "conv:BxDIMxCINxCOUT, +bias, or a suite name)") from None
        if _builds_its_own(spec):
            raise ConfigError(f"{spec.name} is not a GEMM or convolution shape: name it as "
                              f"the target (autocomp-exo evaluate {spec.name}), or check a C "
                              f"file against it with --workload {spec.name}")
        s = spec.shape_dict
        dims = (s["M"], s["N"], s["K"]) if spec.kind == "gemm" else \
            (s["batch"], s["in_dim"], s["in_ch"], s["out_ch"])
        return WorkloadRequest(spec.kind, dims, ("bias",) if spec.kind == "conv" else ())
    kind, dims = m.group(1), tuple(int(x) for x in m.group(2).split("x"))
    extras = tuple(x for x in m.group(3).split("+") if x)
    if (kind == "gemm" and len(dims) != 3) or (kind == "conv" and len(dims) != 4):
        raise ConfigError(f"workload {text!r}: gemm takes MxNxK, conv takes BxDIMxCINxCOUT")
    if any(d <= 0 for d in dims):
        raise ConfigError(f"workload {text!r}: sizes must be positive")
    if kind == "conv" and dims[1] < suite.KERNEL_DIM:
        raise ConfigError(f"workload {text!r}: DIM must be at least {suite.KERNEL_DIM}")
    unknown = [x for x in extras if x not in _EXTRAS]
    if unknown:
        raise ConfigError(f"workload {text!r}: unknown extra {unknown[0]!r} (known: "
                          f"{', '.join(_EXTRAS)})")
    return WorkloadRequest(kind, dims, extras)


def workload_for_signature(spec: str | WorkloadRequest, name: str,
                           params: tuple[ir.Param, ...]) -> Workload:
    """The workload of ``spec`` for a C kernel ``name`` with parameters ``params``."""
    request = parse_spec(spec) if isinstance(spec, str) else spec
    source = algorithm_source(request, name, params)
    algorithm = _load_proc(source, name)
    w = Workload.from_proc(algorithm)
    s = request.sizes
    if request.kind == "gemm":
        macs, reduction = s["M"] * s["N"] * s["K"], s["K"]
    else:
        od = s["in_dim"] - suite.KERNEL_DIM + 1
        reduction = suite.KERNEL_DIM * suite.KERNEL_DIM * s["in_ch"]
        macs = s["batch"] * od * od * s["out_ch"] * reduction
    return dataclasses.replace(w, kind=request.kind, shape=s, macs=macs, reduction=reduction,
                               shape_key=tuple(s.items()))


# ---------------------------------------------------------------------------
# Binding the signature and writing the algorithm proc
# ---------------------------------------------------------------------------

def _bind(request: WorkloadRequest, name: str, params) -> dict[str, ir.Param]:
    """Role (A, B, C, bias, scale, act / inp, weights, output, ...) -> C parameter."""
    where = f"kernel {name}"
    operands = ("A", "B") if request.kind == "gemm" else ("inp", "weights")
    output = "C" if request.kind == "gemm" else "output"
    roles: dict[str, ir.Param] = {}
    reads = []
    for p in params:
        if not p.is_array and p.dtype == "f32" and "scale" not in roles:
            roles["scale"] = p
        elif not p.is_array and p.dtype == "bool" and "act" not in roles:
            roles["act"] = p
        elif p.is_array and p.dtype == "i8" and not p.const and output not in roles:
            roles[output] = p
        elif p.is_array and p.dtype == "i8" and p.const:
            reads.append(p)
        elif p.is_array and p.dtype == "i32" and p.const and "bias" not in roles:
            # a convolution's int32 array is its bias by definition (docs/method.md);
            # a GEMM's must be named, e.g. gemm:MxNxK+bias
            if "bias" not in request.extras and request.kind != "conv":
                raise ConfigError(f"{where}: parameter {p.name!r} (const int32_t array) is "
                                  f"not in the spec; name it: {request.kind}:"
                                  f"{'x'.join(map(str, request.dims))}+bias")
            roles["bias"] = p
        else:
            raise ConfigError(f"{where}: parameter {p.name!r} ({p.dtype}"
                              f"{'[]' if p.is_array else ''}) has no role in a "
                              f"{request.kind} (operands, output, bias, scale, act)")
    if len(reads) != 2 or output not in roles:
        raise ConfigError(f"{where}: a {request.kind} kernel takes two const int8 arrays "
                          f"({', '.join(operands)}) and one written int8 array ({output}); "
                          f"got {[p.name for p in params]}")
    roles.update(zip(operands, reads))
    if "bias" in request.extras and "bias" not in roles:
        raise ConfigError(f"{where}: the spec names a bias but the kernel has no const "
                          "int32_t array")
    for p in roles.values():
        if not re.fullmatch(r"[A-Za-z]\w*", p.name) or p.name in _LOCALS:
            raise ConfigError(f"{where}: parameter name {p.name!r} is not usable")
    return roles


def _shapes(request: WorkloadRequest) -> dict[str, tuple[int, ...]]:
    s = request.sizes
    if request.kind == "gemm":
        return {"A": (s["M"], s["K"]), "B": (s["K"], s["N"]), "C": (s["M"], s["N"]),
                "bias": (s["N"],)}
    od = s["in_dim"] - suite.KERNEL_DIM + 1
    return {"inp": (s["batch"], s["in_dim"], s["in_dim"], s["in_ch"]),
            "weights": (suite.KERNEL_DIM, suite.KERNEL_DIM, s["in_ch"], s["out_ch"]),
            "output": (s["batch"], od, od, s["out_ch"]), "bias": (s["out_ch"],)}


def algorithm_source(request: WorkloadRequest, name: str, params) -> str:
    """Exo source of the spec's algorithm with the kernel's parameter names and order."""
    roles = _bind(request, name, params)
    shapes = _shapes(request)
    by_name = {p.name: role for role, p in roles.items()}
    for role, p in roles.items():
        if p.is_array and p.size != _size(shapes[role]):
            raise ConfigError(f"kernel {name}: {p.name}{list(p.shape)} has {p.size} elements; "
                              f"the spec's {role} needs {list(shapes[role])}")
    heads = []
    for p in params:
        role = by_name[p.name]
        if p.is_array:
            dtype = "i32" if role == "bias" else "i8"
            heads.append(f"{p.name}: {dtype}[{', '.join(map(str, shapes[role]))}] @ DRAM")
        else:
            heads.append(f"{p.name}: {'f32' if role == 'scale' else 'bool'}")
    n = {role: p.name for role, p in roles.items()}
    body = _gemm_body(request, n) if request.kind == "gemm" else _conv_body(request, n)
    scale = n.get("scale", "one_")
    tail = ["t_: f32", f"acc_scale(acc_, t_, {scale})", "o_: i8", "clamp(t_, o_)"]
    if "act" in n:
        tail += [f"if {n['act']} == True:", "    o_ = relu(o_)"]
    tail.append(f"{body[1]} = o_")
    lines = [f"def {name}({', '.join(heads)}):"]
    if "scale" not in n:
        lines += ["    one_: f32", "    one_ = 1.0"]
    lines += ["    " + x for x in body[0]]
    indent = " " * (4 * body[2])
    lines += [indent + x for x in tail]
    return "\n".join(lines) + "\n"


def _size(shape) -> int:
    size = 1
    for d in shape:
        size *= d
    return size


def _gemm_body(request, n):
    s = request.sizes
    init = f"{n['bias']}[j_]" if "bias" in n else "0.0"
    return ([f"for i_ in seq(0, {s['M']}):",
             f"    for j_ in seq(0, {s['N']}):",
             "        acc_: i32",
             f"        acc_ = {init}",
             f"        for k_ in seq(0, {s['K']}):",
             "            x_: i32",
             "            y_: i32",
             f"            x_ = {n['A']}[i_, k_]",
             f"            y_ = {n['B']}[k_, j_]",
             "            acc_ += x_ * y_"],
            f"{n['C']}[i_, j_]", 3)


def _conv_body(request, n):
    s = request.sizes
    od = s["in_dim"] - suite.KERNEL_DIM + 1
    init = f"{n['bias']}[j_]" if "bias" in n else "0.0"
    kd = suite.KERNEL_DIM
    return ([f"for b_ in seq(0, {s['batch']}):",
             f"    for r_ in seq(0, {od}):",
             f"        for c_ in seq(0, {od}):",
             f"            for j_ in seq(0, {s['out_ch']}):",
             "                acc_: i32",
             f"                acc_ = {init}",
             f"                for kr_ in seq(0, {kd}):",
             f"                    for kc_ in seq(0, {kd}):",
             f"                        for k_ in seq(0, {s['in_ch']}):",
             "                            x_: i32",
             "                            y_: i32",
             f"                            x_ = {n['inp']}[b_, r_ + kr_, c_ + kc_, k_]",
             f"                            y_ = {n['weights']}[kr_, kc_, k_, j_]",
             "                            acc_ += x_ * y_"],
            f"{n['output']}[b_, r_, c_, j_]", 5)


def _load_proc(source: str, name: str):
    """The Exo proc defined by ``source`` (Exo reads a proc's source through linecache)."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    filename = f"<autocomp-exo spec {digest}>"
    lines = ("@proc\n" + source).splitlines(True)
    linecache.cache[filename] = (sum(map(len, lines)), None, lines, filename)
    namespace = {"proc": proc, "DRAM": DRAM, "acc_scale": acc_scale, "clamp": clamp,
                 "relu": relu}
    exec(compile("".join(lines), filename, "exec"), namespace)  # our own template
    return namespace[name]


def workload_for_c(text: str, filename: str, spec: str | None = None,
                   reference=None) -> Workload:
    """The workload a C kernel is checked against: ``spec`` bound to its signature, or
    the semantics of the Exo proc ``reference`` (same parameter names and sizes)."""
    sig = read_signature(text, filename=filename)
    if reference is None:
        if spec is None:
            raise ConfigError("a C file needs --workload (e.g. gemm:64x64x64) or "
                              "--reference FILE.py:PROC", filename=filename)
        own = _own_workload(spec)
        if own is None:
            return workload_for_signature(spec, sig.name, sig.params)
        w, name = own, own.name
    else:
        w, name = Workload.from_proc(reference), reference.name()
    mine = {p.name: (p.dtype, p.size) for p in sig.params}
    theirs = {p.name: (p.dtype, p.size) for p in w.signature}
    if mine != theirs:
        diff = sorted(set(mine.items()) ^ set(theirs.items()))
        raise ConfigError(f"kernel {sig.name} and the reference proc {name} "
                          f"have different parameters (name, type, elements): kernel "
                          f"{sorted(mine.items())}, proc {sorted(theirs.items())}; "
                          f"first difference {diff[0]}", filename=filename)
    return w


def _builds_its_own(spec) -> bool:
    """Does the suite spec build its own `Workload` (TinyMPC), as `Workload.from_spec`
    asks, instead of naming a GEMM or convolution shape?"""
    return hasattr(spec, "workload")


def _own_workload(spec: str | WorkloadRequest) -> Workload | None:
    """The suite workload ``spec`` names when it builds its own (its reference proc and
    input sets), so that a kernel binds no template to it."""
    if not isinstance(spec, str) or _SPEC.fullmatch(spec.strip()):
        return None
    try:
        named = suite.by_name(spec.strip())
    except (KeyError, ValueError):
        return None
    return Workload.from_spec(named) if _builds_its_own(named) else None
