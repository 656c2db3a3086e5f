"""From a recognized `Contraction` to the algorithm proc the mapping knows, and back.

``canonical(c)`` classifies the contraction (GEMM, batched GEMM, GEMM with an int32
bias row, each also with B read transposed (``[j, k]``), 3x3-style convolution) and returns
the algorithm proc of that shape with the loop, buffer and argument names
`lowering.mapping` schedules (for a padded convolution: its `ConvShape`, which
`lowering.mapping_pad` writes out), plus a binding: for each
of its arguments, the user's argument (or the constant a missing ``scale`` / ``act``
stands for). ``wrap(user_proc, mapped, binding)`` gives the mapped proc the user's
name and signature: a proc of that signature calling ``mapped``, with the call inlined
by Exo.
"""

from __future__ import annotations

from exo import DRAM
from exo.API import Procedure
from exo.core.LoopIR import LoopIR, T
from exo.core.prelude import Sym
from exo.stdlib.scheduling import inline, rename

from lowering import suite
from lowering.mapping_match import Access, Contraction, located
from lowering.mapping_pad import ConvShape
from lowering.mapping_procs import (bgemm, bgemm_bias, bgemm_shared, bgemm_shared_bias,
                                     gemm_bias, reindex_operand)


def _fail(c: Contraction, why: str):
    raise located(c.where, f"cannot map proc {c.proc_name!r} to Gemmini: {why}", c.proc_name)


def _dims(c: Contraction, a: Access, what: str) -> tuple:
    dims = a.simple()
    if dims is None:
        _fail(c, f"{what} {a.array!r} is indexed by sums or multiples of loops")
    return dims


def _shape(proc_ir, name: str) -> tuple[int, ...]:
    for a in proc_ir.args:
        if str(a.name) == name:
            return tuple(int(d.val) for d in a.type.shape())
    raise KeyError(name)


def _dtype(proc_ir, name: str) -> str:
    for a in proc_ir.args:
        if str(a.name) == name:
            return type(a.type.basetype()).__name__ if a.type.shape() else \
                type(a.type).__name__
    raise KeyError(name)


def _scalars(c: Contraction) -> dict:
    binding = {"scale": ("arg", c.scale) if c.scale else ("one",)}
    binding["act"] = ("arg", c.act) if isinstance(c.act, str) else ("bool", bool(c.act))
    return binding


def _check_extents(c: Contraction, proc_ir, access: Access, dims: tuple, loops: dict):
    shape = _shape(proc_ir, access.array)
    for d, var in enumerate(dims):
        if isinstance(var, int) or loops[var] != shape[d]:
            _fail(c, f"dimension {d} of {access.array!r} ({shape[d]}) is not covered by one "
                     "whole loop")


def canonical(proc_, c: Contraction):
    """(algorithm proc the mapping schedules, binding of its arguments to ``proc_``'s)."""
    proc_ir = proc_._loopir_proc
    if len(c.reduction) == 1:
        return _canonical_gemm(proc_ir, c)
    if len(c.reduction) == 3:
        return _canonical_conv(proc_ir, c)
    _fail(c, f"{len(c.reduction)} reduction loops: neither a matmul (1) nor a "
             "convolution (3)")


def _canonical_gemm(proc_ir, c: Contraction):
    loops = {**c.loops, **c.reduction}
    (k,) = tuple(c.reduction)
    out = _dims(c, c.out, "the output")
    if len(out) < 2 or len(out) > 3 or len(set(out)) != len(out) or set(out) != set(c.loops):
        _fail(c, f"the output {c.out.array!r} is not indexed [batch,] row, column by the "
                 "output loops")
    *batch, i, j = out
    x, y = _dims(c, c.x, "operand"), _dims(c, c.y, "operand")
    if j in x:
        (x, c_x), (y, c_y) = (y, c.y), (x, c.x)
    else:
        c_x, c_y = c.x, c.y
    a_name, b_name = c_x.array, c_y.array
    if tuple(x) == (*batch, k, i):
        _fail(c, f"operand {a_name!r} is read transposed ([k, i]): the mapping transposes "
                 "only the second operand (config_ex's B_transpose); transpose it before the "
                 "kernel or swap the operands")
    shared = bool(batch) and tuple(y) in ((k, j), (j, k))    # one B for every batch
    b_batch = () if shared else tuple(batch)
    transposed = tuple(y) == (*b_batch, j, k)   # the preload transposes B (B_transpose)
    if tuple(x) != (*batch, i, k) or tuple(y) not in ((*b_batch, k, j), (*b_batch, j, k)):
        _fail(c, f"operands {a_name!r}{list(x)} and {b_name!r}{list(y)} are not a matmul "
                 f"of output {c.out.array!r}{list(out)} over {k!r}")
    for access, dims in ((c.out, out), (c_x, x), (c_y, y)):
        _check_extents(c, proc_ir, access, dims, loops)
        if _dtype(proc_ir, access.array) != "INT8":
            _fail(c, f"{access.array!r} is not int8")
    binding = {"A": ("arg", a_name), "B": ("arg", b_name), "C": ("arg", c.out.array),
               **_scalars(c)}
    M, N, K = loops[i], loops[j], loops[k]
    if c.bias is not None:
        if _dims(c, c.bias, "the bias") != (0, j) or _shape(proc_ir, c.bias.array) != (1, N) \
                or _dtype(proc_ir, c.bias.array) != "INT32":
            _fail(c, f"the accumulator starts at {c.bias.array!r}, which is not an int32 "
                     f"[1, {N}] bias row indexed [0, {j}]")
        binding["bias"] = ("arg", c.bias.array)
    if batch and shared:
        template = bgemm_shared_bias if c.bias is not None else bgemm_shared
        sizes = (loops[batch[0]],)
    elif batch:
        template, sizes = (bgemm_bias if c.bias is not None else bgemm), (loops[batch[0]],)
    elif c.bias is not None:
        template, sizes = gemm_bias, ()
    elif not transposed:
        return suite.gemm_algorithm(M, N, K), binding
    else:
        template, sizes = suite.GEMM_PROC, ()
    if transposed:
        template = transpose_operand(template, "B")
    suffix = ("_bgemm" if batch else "_gemm") + ("_bt" if transposed else "")
    return rename(template, f"{c.proc_name}{suffix}").partial_eval(*sizes, M, N, K), binding


def transpose_operand(template, name: str):
    """``template`` with argument ``name`` stored transposed: its last two dimensions
    swapped in the type and in every read (``B[k, j]`` becomes ``B[j, k]``)."""
    return reindex_operand(template, name, lambda xs: [*xs[:-2], xs[-1], xs[-2]])


def _canonical_conv(proc_ir, c: Contraction):
    out = _dims(c, c.out, "the output")
    if len(out) != 4 or set(out) != set(c.loops):
        _fail(c, f"the output {c.out.array!r} is not indexed [batch, row, column, channel] "
                 "by the output loops")
    b, orow, ocol, och = out
    x, y = (c.x, c.y) if len(c.x.index) == 4 and c.x.simple() is None else (c.y, c.x)
    w = _dims(c, y, "the weights")
    if len(w) != 4 or w[3] != och or set(w[:3]) != set(c.reduction):
        _fail(c, f"the weights {y.array!r} are not indexed [krow, kcol, in channel, "
                 f"{och}]")
    krow, kcol, kch = w[:3]
    row_terms = tuple(sorted(((orow, 1), (krow, 1))))
    col_terms = tuple(sorted(((ocol, 1), (kcol, 1))))
    index = tuple(x.index)
    if len(index) != 4 or index[0] != (((b, 1),), 0) or index[3] != (((kch, 1),), 0) \
            or index[1][0] != row_terms or index[2][0] != col_terms:
        _fail(c, f"the input {x.array!r} is not indexed [{b}, {orow} + {krow} (- pad), "
                 f"{ocol} + {kcol} (- pad), {kch}] (a stride-1 convolution)")
    row_offset, col_offset = index[1][1], index[2][1]
    binding = {"output": ("arg", c.out.array), "inp": ("arg", x.array),
               "weights": ("arg", y.array), **_scalars(c)}
    bias = c.bias is not None and _dims(c, c.bias, "the bias") == (0, och)
    if c.bias is not None:
        if not bias or _shape(proc_ir, c.bias.array) != (1, _shape(proc_ir, y.array)[3]) \
                or _dtype(proc_ir, c.bias.array) != "INT32":
            _fail(c, f"the accumulator starts at {c.bias.array!r}, which is not an int32 "
                     f"[1, out channels] bias row indexed [0, {och}]")
        binding["bias"] = ("arg", c.bias.array)
    batch, in_dim, _, in_ch = _shape(proc_ir, x.array)
    kd = c.reduction[krow]
    out_shape = _shape(proc_ir, c.out.array)
    if not c.guard and not row_offset and not col_offset and bias \
            and c.reduction[kcol] == kd and out_shape[1] == out_shape[2] \
            and in_dim - kd + 1 == out_shape[1] and _shape(proc_ir, x.array)[2] == in_dim:
        algorithm = suite.conv_algorithm(batch, in_dim, in_ch, out_shape[3]) if kd == \
            suite.KERNEL_DIM else rename(suite.CONV_PROC, f"{c.proc_name}_conv").partial_eval(
                batch, out_shape[1], out_shape[3], kd, in_ch, in_dim)
        return algorithm, binding
    return _padded_shape(proc_ir, c, x, y, (b, orow, ocol, och, krow, kcol, kch)), binding


def _padded_shape(proc_ir, c: Contraction, x: Access, y: Access, loops: tuple) -> ConvShape:
    """The `ConvShape` of a stride-1 convolution whose input index is offset (padding)
    and whose accumulation is guarded by bounds on the input row and column."""
    b, orow, ocol, och, krow, kcol, kch = loops
    in_shape, w_shape = _shape(proc_ir, x.array), _shape(proc_ir, y.array)
    out_shape = _shape(proc_ir, c.out.array)
    for access, dims in ((c.out, (b, orow, ocol, och)), (y, (krow, kcol, kch, och))):
        _check_extents(c, proc_ir, access, dims, {**c.loops, **c.reduction})
    if in_shape[0] != out_shape[0] or in_shape[3] != w_shape[2]:
        _fail(c, f"the input {x.array!r} {list(in_shape)} does not match the batch and "
                 f"input channels of the weights {list(w_shape)} and output")
    for access in (c.out, x, y):
        if _dtype(proc_ir, access.array) != "INT8":
            _fail(c, f"{access.array!r} is not int8")
    (_, row_offset), (_, col_offset) = x.index[1], x.index[2]
    windows = {"row": [0, in_shape[1]], "column": [0, in_shape[2]]}
    for terms, const in c.guard:   # terms + const >= 0
        for what, (want, offset) in (("row", x.index[1]), ("column", x.index[2])):
            window = windows[what]
            if terms == want:       # index - offset + const >= 0
                window[0] = max(window[0], offset - const)
                break
            if terms == tuple((v, -k) for v, k in want):    # offset + const - index >= 0
                window[1] = min(window[1], offset + const + 1)
                break
        else:
            _fail(c, "a guard bounds something else than the input row "
                     f"({orow} + {krow} ...) or column ({ocol} + {kcol} ...)")
    return ConvShape(out_shape[0], in_shape[1], in_shape[2], in_shape[3], out_shape[1],
                     out_shape[2], out_shape[3], w_shape[0], w_shape[1], row_offset,
                     col_offset, tuple(windows["row"]), tuple(windows["column"]),
                     c.bias is not None)


def wrap(user_proc, mapped, binding: dict):
    """``mapped`` with ``user_proc``'s name and signature (a call to it, inlined)."""
    user_ir, mapped_ir = user_proc._loopir_proc, mapped._loopir_proc
    info = user_ir.srcinfo
    args = {str(a.name): a for a in user_ir.args}
    body, call_args = [], []
    for formal in mapped_ir.args:
        how = binding[str(formal.name)]
        if how[0] == "arg":
            a = args[how[1]]
            call_args.append(LoopIR.Read(a.name, [], a.type, info))
        elif how[0] == "bool":
            call_args.append(LoopIR.Const(how[1], T.bool, info))
        else:   # no scale parameter: 1.0
            one = Sym("one")
            body += [LoopIR.Alloc(one, T.f32, DRAM, info),
                     LoopIR.Assign(one, T.f32, [], LoopIR.Const(1.0, T.R, info), info)]
            call_args.append(LoopIR.Read(one, [], T.f32, info))
    body.append(LoopIR.Call(mapped_ir, call_args, info))
    wrapper = Procedure(LoopIR.proc(user_ir.name, user_ir.args, user_ir.preds, body, None,
                                    info))
    return inline(wrapper, wrapper.find(f"{mapped.name()}(_)"))
