"""Bit-exact functional execution of a `Trace` (hardware.md sections 2 and 3).

State: the scratchpad (sp_rows x DIM, input type), the accumulator (acc_rows x DIM,
int32 or float32), which local rows were ever written, the three load configs,
the store config, the execute config, a pending preload and the weights held in
the array. DRAM operands are byte views of the caller's (copied) arrays: an mvin
reads elements of the *destination's* type starting at the byte address of the
named element, rows apart by the configured byte stride.

Batch: the machine runs B input sets at once (`gemmini.batch`). Data (scratchpad,
accumulator, weights, DRAM arrays) has a leading axis of B; everything the checks
read (written rows, configs' integer fields, the plan) is shared. Config scales and
activations are per set (`SetScalars`), so each set gets its own. B = 1 is one run.

Every rule violation raises `HardwareError` naming the instruction and its line.
Consecutive preload/compute instructions are executed as one numpy batch.
"""

from __future__ import annotations

from bisect import bisect_left
from math import prod

import numpy as np

from gemmini.config import ACC_BIT, ACCUMULATE_BIT, GARBAGE_ADDR, RAW_READ_BIT, ROW_MASK, \
    GemminiConfig
from gemmini.trace import (COMPUTE_A, COMPUTE_P, CONFIG_EX, CONFIG_LD, CONFIG_ST, FENCE, LOOP_WS,
                           MVIN_LOAD_ID, MVIN_OPS, MVOUT, PRELOAD, Trace)
from gemmini import loop_ws as loop_ws_mod
from gemmini.batch import SetScalars, set_scalars
from gemmini.cpu_events import CpuRunner
from gemmini.moves import plan_moves
from gemmini.stores import DeferredStores, deferrable
from gemmini.errors import HardwareError

ACT_NONE, ACT_RELU = 0, 1
# int8 dot products of at most this many terms are exact in float32 (|sum| <= K * 2**14 <= 2**24)
F32_EXACT_TERMS = 1 << 10


def _unique_inverse(x: np.ndarray):
    """np.unique(x, return_inverse=True) for small arrays, without its overhead."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    first = np.empty(len(xs), dtype=bool)
    if len(xs):
        first[0] = True
        first[1:] = xs[1:] != xs[:-1]
    u = xs[first]
    inv = np.empty(len(x), dtype=np.int64)
    inv[order] = np.cumsum(first) - 1
    return u, inv


def _per_set(v, ndim: int):
    """(B,) per-set values shaped to broadcast over (B, ...) data of `ndim` dimensions."""
    return v.reshape((-1,) + (1,) * (ndim - 1))


class Machine:
    """Gemmini state plus the DRAM arrays of one run over B input sets.

    `arrays`: one writable array per array parameter, flat (B = 1) or (B, size), written
    in place. `sets`: the per-set scales and activations (default: the trace's own).
    """

    def __init__(self, cfg: GemminiConfig, trace: Trace, arrays: list[np.ndarray],
                 sets: SetScalars | None = None):
        self.cfg = cfg
        self.trace = trace
        self.dim = cfg.dim
        sets = sets or set_scalars([trace])
        self.floats, self.acts = sets.floats, sets.acts      # (B, n) each
        ns = self.n_sets = len(self.floats)
        self.is_float = cfg.in_dtype == "float32"
        self.in_dt = np.dtype(np.float32 if self.is_float else np.int8)
        self.acc_dt = np.dtype(np.float32 if cfg.acc_dtype == "float32" else np.int32)
        self.sp = np.zeros((ns, cfg.sp_rows, self.dim), dtype=self.in_dt)
        self.acc = np.zeros((ns, cfg.acc_rows, self.dim), dtype=self.acc_dt)
        self.sp_written = np.zeros(cfg.sp_rows, dtype=bool)
        self.acc_written = np.zeros(cfg.acc_rows, dtype=bool)
        if not all(a.flags.c_contiguous and (a.shape[:-1] == (ns,) or a.ndim == ns == 1)
                   for a in arrays):
            raise ValueError(f"DRAM arrays must be C-contiguous, (sets, size) for {ns} sets")
        self.arrays = [a.reshape(ns, -1) for a in arrays]   # views: writes reach the caller
        self.bufs = [a.view(np.uint8) for a in self.arrays]  # (B, bytes)
        self.nbytes = [b.shape[1] for b in self.bufs]
        self.ld = [None, None, None]               # (stride, scales, shrunk, block_stride)
        self.st = None                             # (stride, acts, scales)
        self.ex = (1, np.zeros(ns, dtype=np.int64), 1, 0)   # (dataflow, acts, a_stride, B_T)
        self.pending = None                        # trace row of an unconsumed preload
        self.weights = None                        # (B, DIM, DIM) weights in the array
        self.macs = 0                              # MACs of the computes (unpadded sizes)
        self.loops_run = 0                         # loop_ws issued so far (scratchpad half)
        self.loop_acc_half = 0                     # accumulator half of the next loop_ws
        self.ar = np.arange(self.dim)
        self.stores = None
        self.cpu = CpuRunner(self, sets.params) if trace.cpu_events else None
        self.work = {}                             # reusable scratch arrays (see _work)
        # sp_blocks[:, r] = the DIM x DIM block at scratchpad row r, flat (a read-only view)
        dim, isz = self.dim, self.in_dt.itemsize
        self.sp_blocks = np.lib.stride_tricks.as_strided(
            self.sp, (ns, cfg.sp_rows - dim + 1, dim * dim),
            (cfg.sp_rows * dim * isz, dim * isz, isz), writeable=False)

    def run_piece(self, trace: Trace):
        """Run `trace`, the next piece of a streamed run (`gemmini.trace.iter_trace`), on
        the state the earlier pieces left (one input set, its own scales)."""
        self.trace = trace
        sets = set_scalars([trace])
        self.floats, self.acts = sets.floats, sets.acts
        self.run()

    # -- helpers ---------------------------------------------------------------
    def fail(self, k: int, msg: str):
        ins = self.trace.instrs[int(self.trace.sid[k])]
        raise HardwareError(f"{ins.op}: {msg}", line=ins.line or None)

    def _dram_view(self, k, arr: int, index: int, rows: int, cols: int, stride: int, dt):
        """A (B, rows, cols) view of DRAM array `arr` starting at element `index`."""
        size = self.nbytes[arr]
        start = index * self.arrays[arr].itemsize
        if stride < 0:
            self.fail(k, f"negative DRAM stride {stride}")
        end = start + (rows - 1) * stride + cols * dt.itemsize
        if index < 0 or end > size:
            name = self.trace.arrays[arr]
            self.fail(k, f"DRAM access outside array {name!r} (bytes {start}..{end} of "
                         f"{size}; rows={rows}, cols={cols}, stride={stride})")
        return np.ndarray((self.n_sets, rows, cols), dtype=dt, buffer=self.bufs[arr],
                          offset=start, strides=(size, stride, dt.itemsize))

    def _check_rows(self, k, mem: str, row: int, nrows: int, need_written: bool):
        limit = self.cfg.acc_rows if mem == "acc" else self.cfg.sp_rows
        if row < 0 or row + nrows > limit:
            self.fail(k, f"{'accumulator' if mem == 'acc' else 'scratchpad'} rows "
                         f"{row}..{row + nrows - 1} outside 0..{limit - 1}")
        if need_written:
            written = self.acc_written if mem == "acc" else self.sp_written
            if not written[row:row + nrows].all():
                bad = row + int(np.flatnonzero(~written[row:row + nrows])[0])
                self.fail(k, f"reads {'accumulator' if mem == 'acc' else 'scratchpad'} row "
                             f"{bad}, which was never written")

    def _to_in_type(self, vals, scale: np.ndarray, act: np.ndarray):
        """(B, ...) accumulator values -> input type with each set's (B,) scale and act:
        float32 scale, round half even, saturate, act."""
        f = vals.astype(np.float32)                      # a fresh array: work in place
        f *= _per_set(scale.astype(np.float32), vals.ndim)
        if self.is_float:
            out = f
        else:       # np.clip is several times slower than maximum / minimum in place
            np.rint(f, out=f)
            np.maximum(f, -128, out=f)
            np.minimum(f, 127, out=f)
            out = f.astype(np.int8)
        return self._act(out, act)

    @staticmethod
    def _act(out, act: np.ndarray):
        """Each set's activation (ReLU where its act is 1) on (B, ...) values."""
        relu = act == ACT_RELU
        if not relu.any():
            return out
        pos = np.maximum(out, 0).astype(out.dtype)
        return pos if relu.all() else np.where(_per_set(relu, out.ndim), pos, out)

    # -- main loop ---------------------------------------------------------------
    def run(self):
        t = self.trace
        ops = t.op.tolist()
        n = len(ops)
        is_exec = (t.op == PRELOAD) | (t.op == COMPUTE_P) | (t.op == COMPUTE_A)
        self._pair_all(is_exec)
        # end (exclusive) of the run of execute instructions starting at each row
        run_end = np.arange(1, n + 1)
        if n:
            idx = np.flatnonzero(~is_exec)
            nxt = np.searchsorted(idx, np.arange(n))
            run_end = np.where(nxt < len(idx), idx[np.minimum(nxt, len(idx) - 1)], n)
        run_end = run_end.tolist()
        cmp_list = self.cmp.tolist()
        ints: list = [None] * n
        other = np.flatnonzero(~is_exec)
        for i, row in zip(other.tolist(), t.ints[other].tolist()):
            ints[i] = row
        simple = self._plan_batches(np.asarray(run_end), is_exec)
        plan = plan_moves(t, self.cfg, self.nbytes, [a.itemsize for a in self.arrays])
        self.plan = plan
        # the plan is the first set's; a scaling mvin of any set takes the checked path
        ok = plan.ok & ~(plan.is_load
                         & (self.floats[:, np.maximum(plan.conf, 0)] != 1.0).any(axis=0))
        defer = deferrable(self, ok)
        stores = self.stores = DeferredStores(self, int(np.count_nonzero(defer)))
        fast = ok.tolist()
        defer = defer.tolist()
        lean = (ok & plan.is_load & ((plan.nblocks == 1)
                                     | (plan.block_stride == t.ints[:, 3]))).tolist()
        p_arr, p_acc, p_row = t.dram.tolist(), plan.to_acc.tolist(), plan.row.tolist()
        p_nb, p_stride, p_shrunk = plan.nblocks.tolist(), plan.stride.tolist(), \
            plan.shrunk.tolist()
        cpu = self.cpu
        cpu_row = cpu.next_row if cpu else n + 1
        k = 0
        while k < n:
            if k >= cpu_row:          # CPU blocks due before row k (gemmini.cpu_events)
                cpu.run_until(k)
                cpu_row = cpu.next_row
            o = ops[k]
            if o == PRELOAD or o == COMPUTE_P or o == COMPUTE_A:
                end = run_end[k]
                c0, c1 = bisect_left(cmp_list, k), bisect_left(cmp_list, end)
                plan_b = simple.get(k)
                if plan_b is not None and self.ex[2] == 1 and not self.ex[3]:
                    self._simple_batch(*plan_b)
                elif c1 > c0:
                    self._computes(c0, c1)
                k = end
                continue
            if o in MVIN_OPS:
                if lean[k]:
                    self._mvin_lean(ints[k], p_arr[k], p_acc[k], p_row[k], p_nb[k], p_stride[k],
                                    p_shrunk[k])
                else:
                    self._mvin(k, MVIN_LOAD_ID[o], ints[k], fast[k])
            elif o == MVOUT:
                if defer[k]:
                    stores.add(k, ints[k])
                else:
                    stores.flush()
                    self._mvout(k, ints[k], fast[k])
            elif o == CONFIG_LD:
                self._config_ld(k, ints[k])
            elif o == CONFIG_ST:
                self._config_st(k, ints[k])
            elif o == CONFIG_EX:
                self._config_ex(k, ints[k])
            elif o == LOOP_WS:
                stores.flush()
                loop_ws_mod.execute(self, k, t.loop_ws[k])
            elif o == FENCE:
                if cpu:
                    cpu.fence(k)
            else:
                self.fail(k, "unknown instruction")
            k += 1
        if cpu:
            cpu.run_until(n)
        stores.flush()

    def _plan_batches(self, run_end: np.ndarray, is_exec: np.ndarray) -> dict:
        """Runs of computes that the simple batched path can take, planned at once.

        Simple: full-size blocks, A and B in the scratchpad, new weights for every compute,
        every C accumulating into the accumulator (or, in a run of full blocks, the first
        compute of a C block overwriting it: the block is then set to the sum), distinct C
        blocks disjoint and each summed over the same number of computes. Returns run start
        row -> (slice of the C-sorted compute order, distinct C rows, row mask, number of C
        blocks, computes per C block, index of the run's last compute, partial, rows of
        cidx that are overwritten or None).
        """
        n_cmp = len(self.cmp)
        if n_cmp == 0:
            return {}
        t = self.trace
        starts = np.flatnonzero(is_exec & np.concatenate([[True], ~is_exec[:-1]]))
        run_id = np.searchsorted(starts, self.cmp, side="right") - 1
        ok = self.simple_ok & self.new_w
        bad_runs = np.bincount(run_id[~ok], minlength=len(starts)) > 0
        key = run_id.astype(np.int64) * (1 << 33) + self.c_row
        order = np.argsort(key, kind="stable")
        skey, srun, srow = key[order], run_id[order], self.c_row[order]
        new_group = np.concatenate([[True], skey[1:] != skey[:-1]])
        gstart = np.flatnonzero(new_group)
        gsize = np.diff(np.concatenate([gstart, [n_cmp]]))
        grun, grow = srun[gstart], srow[gstart]
        # a run is bad if group sizes differ or consecutive distinct C blocks overlap
        same_run = grun[1:] == grun[:-1]
        P = self.P[order]
        gcrows = P[gstart, 5]
        bad_pair = same_run & ((gsize[1:] != gsize[:-1]) | (grow[1:] - grow[:-1] < gcrows[:-1]))
        bad_runs[grun[1:][bad_pair]] = True
        # every compute of a C block writes the same C rows x cols
        g_of = np.cumsum(new_group) - 1
        same_c = (P[:, 5] == P[gstart[g_of], 5]) & (P[:, 4] == P[gstart[g_of], 4])
        bad_runs[srun[~same_c]] = True
        partial_runs = np.bincount(run_id[~self.full], minlength=len(starts)) > 0
        # an overwrite must open its C block's computes, in a run of full blocks
        sover = self.c_over[order]
        bad_runs[srun[sover & ~new_group]] = True
        gover = sover[gstart]
        if self.is_float:       # float sums are taken in order per block, of full blocks only
            bad_runs |= partial_runs
        bad_runs[partial_runs & (np.bincount(grun[gover], minlength=len(starts)) > 0)] = True
        self.order = order
        self.arow_sorted, self.brow_sorted = self.a_row[order], self.b_row[order]
        self.ridx_sorted = self.arow_sorted[:, None] + self.ar
        self.bidx_sorted = self.brow_sorted[:, None] + self.ar
        gcidx = grow[:, None] + self.ar
        grow_ok = self.ar[None, :] < gcrows[:, None]
        plans = {}
        run_first = np.searchsorted(srun, np.arange(len(starts)))
        run_last = np.searchsorted(srun, np.arange(len(starts)), side="right")
        g_first = np.searchsorted(grun, np.arange(len(starts)))
        g_last = np.searchsorted(grun, np.arange(len(starts)), side="right")
        last_cmp = np.searchsorted(run_id, np.arange(len(starts)), side="right") - 1
        for r in np.flatnonzero(~bad_runs).tolist():
            a, b = int(run_first[r]), int(run_last[r])
            if b <= a:
                continue
            g0, g1 = int(g_first[r]), int(g_last[r])
            sel = grow_ok[g0:g1].ravel()
            cidx = gcidx[g0:g1].ravel()
            if sel.all():
                sel = None
            else:
                cidx = cidx[sel]
            over = np.repeat(gover[g0:g1], self.dim) if gover[g0:g1].any() else None
            plans[int(starts[r])] = (a, b, cidx, sel, g1 - g0, int(gsize[g0]),
                                     int(last_cmp[r]), bool(partial_runs[r]), over)
        del t
        return plans

    def _simple_batch(self, a: int, b: int, cidx, sel, ng: int, per: int, last: int,
                      partial: bool, over=None):
        """C blocks += sum over their computes of A @ B, as ng matmuls of K = per * DIM
        (C blocks = that sum where `over`, a mask of cidx, says the block is overwritten)."""
        dim = self.dim
        ridx, bidx = self.ridx_sorted[a:b], self.bidx_sorted[a:b]
        sp_w = self.sp_written
        read = cidx if over is None else cidx[~over]
        if not (sp_w[ridx].all() and sp_w[bidx].all() and self.acc_written[read].all()):
            self._computes(int(self.order[a:b].min()), int(self.order[a:b].max()) + 1)
            return
        if self.is_float:
            self._float_batch(a, b, cidx, ng, per, last, over)
            return
        ns, shape = self.n_sets, (self.n_sets, b - a, dim, dim)
        A = self.sp_blocks[:, self.arow_sorted[a:b]].reshape(shape)
        W = self.sp_blocks[:, self.brow_sorted[a:b]].reshape(shape)
        if partial:
            o = self.order[a:b]
            A = self._corner(A, self.C[o, 3], self.C[o, 2])
            W = self._corner(W, self.P[o, 3], self.P[o, 2])
        sums = self._block_matmul(A, W, ng, per)
        if partial:
            first = self.order[a:b:per]
            sums = self._corner(sums, self.P[first, 5], self.P[first, 4])
        sums = sums.astype(np.int64).astype(np.int32).reshape(ns, -1, dim)
        if over is None:
            self.acc[:, cidx] += sums if sel is None else sums[:, sel]   # int32 wraps
        else:
            self.acc[:, read] += sums[:, ~over]
            self.acc[:, cidx[over]] = sums[:, over]
            self.acc_written[cidx[over]] = True
        br = int(self.b_row[last])
        w = self.sp[:, br:br + dim].copy()
        if partial:
            w = self._corner(w[:, None], self.P[last:last + 1, 3], self.P[last:last + 1, 2])[:, 0]
        self.weights = w

    def _float_batch(self, a: int, b: int, cidx, ng: int, per: int, last: int, over):
        """`_simple_batch` for float32 data: each product rounded as one compute's is, then
        added to its C block one after another in program order, as the computes would."""
        dim, ns = self.dim, self.n_sets
        A = self.sp_blocks[:, self.arow_sorted[a:b]].reshape(ns, b - a, dim, dim)
        W = self.sp_blocks[:, self.brow_sorted[a:b]].reshape(ns, b - a, dim, dim)
        terms = np.empty((ns, ng, per + 1, dim, dim), dtype=np.float32)
        terms[:, :, 1:] = np.matmul(A, W).reshape(ns, ng, per, dim, dim)  # one per compute
        terms[:, :, 0] = self.acc[:, cidx].reshape(ns, ng, dim, dim)
        if over is not None:      # an overwritten block starts from -0.0 (x + -0.0 == x)
            terms[:, over[::dim], 0] = -0.0
        sums = np.add.accumulate(terms, axis=2)[:, :, -1]     # sequential, in order
        self.acc[:, cidx] = sums.reshape(ns, ng * dim, dim)
        self.acc_written[cidx] = True
        br = int(self.b_row[last])
        self.weights = self.sp[:, br:br + dim].copy()

    def _work(self, key: str, shape: tuple, dtype) -> np.ndarray:
        """A scratch array kept across calls: large temporaries allocated anew each time
        are page-faulted in again and again (malloc returns them to the system)."""
        n = prod(shape)
        buf = self.work.get((key, dtype))
        if buf is None or buf.size < n:
            buf = self.work[(key, dtype)] = np.empty(n, dtype=dtype)
        return buf[:n].reshape(shape)

    def _block_matmul(self, A, W, ng: int, per: int) -> np.ndarray:
        """(sets, ng, DIM, DIM) sums of A_k @ W_k over `per` consecutive blocks of the
        int (sets, ng * per, DIM, DIM) A and W: [A_1 .. A_per] @ [W_1; ..; W_per], exact
        (float32 when short enough, else float64). The result is a scratch array."""
        ns, dim = self.n_sets, self.dim
        ft = np.float32 if per * dim <= F32_EXACT_TERMS else np.float64
        As = self._work("A", (ns, ng, dim, per * dim), ft)
        np.copyto(As.reshape(ns, ng, dim, per, dim),
                  A.reshape(ns, ng, per, dim, dim).transpose(0, 1, 3, 2, 4))
        Ws = self._work("W", (ns, ng, per * dim, dim), ft)
        np.copyto(Ws.reshape(A.shape), W)
        return np.matmul(As, Ws, out=self._work("S", (ns, ng, dim, dim), ft))

    def _corner(self, x, rows, cols):
        """Zero each (sets, m, DIM, DIM) block of `x` outside its top-left rows x cols
        corner (in place: `x` is a fresh array)."""
        r, c = int(rows[0]), int(cols[0])
        if (rows == r).all() and (cols == c).all():
            x[:, :, r:] = 0
            x[:, :, :, c:] = 0
            return x
        ar = self.ar
        keep = (ar[None, :, None] < rows[:, None, None]) & (ar[None, None, :] < cols[:, None, None])
        return np.where(keep, x, 0)

    def _pair_all(self, is_exec):
        """Pair every compute with the preload before it; static checks of their operands."""
        t = self.trace
        ex = np.flatnonzero(is_exec)
        is_pre = t.op[ex] == PRELOAD
        expected = np.arange(len(ex)) % 2 == 0
        bad = is_pre != expected
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            if is_pre[i]:
                self.fail(int(ex[i - 1]), "preload followed by another preload, not a compute")
            self.fail(int(ex[i]), "compute without a preload")
        if len(ex) % 2:
            self.fail(int(ex[-1]), "preload never followed by a compute")
        self.pre, self.cmp = ex[0::2], ex[1::2]
        P, C = t.ints[self.pre], t.ints[self.cmp]
        self.P, self.C = P, C
        b_addr, c_addr, b_cols, b_rows, c_cols, c_rows = P.T
        a_addr, d_addr, a_cols, a_rows, d_cols, d_rows = C.T
        self._check_dims(self.pre, self.cmp, b_addr, b_cols, b_rows, c_addr, c_cols, c_rows,
                         a_addr, a_cols, a_rows, d_addr, d_cols, d_rows)
        dim = self.dim
        full = ((b_cols == dim) & (b_rows == dim) & (c_cols == dim) & (c_rows == dim)
                & (a_cols == dim) & (a_rows == dim))
        c_ok = (c_addr == GARBAGE_ADDR) | (((c_addr & ACC_BIT) != 0)
                                            & ((c_addr & ACCUMULATE_BIT) != 0))
        fast = (full & c_ok & (d_addr == GARBAGE_ADDR) & (a_addr != GARBAGE_ADDR)
                & (b_addr != GARBAGE_ADDR))
        self.slow_before = np.concatenate([[0], np.cumsum(~fast)])
        # the simple batched path also takes partial blocks (masked) whose full DIM-row
        # footprints stay inside the memories
        cfg = self.cfg
        in_range = (((a_addr & ROW_MASK) + dim <= cfg.sp_rows)
                    & ((b_addr & ROW_MASK) + dim <= cfg.sp_rows)
                    & ((c_addr & ROW_MASK) + dim <= cfg.acc_rows))
        # C overwriting an accumulator block (acc bit, no accumulate bit)
        self.c_over = ((c_addr != GARBAGE_ADDR) & ((c_addr & ACC_BIT) != 0)
                       & ((c_addr & ACCUMULATE_BIT) == 0))
        self.simple_ok = ((c_ok | self.c_over) & (c_addr != GARBAGE_ADDR)
                          & (d_addr == GARBAGE_ADDR) & (a_addr != GARBAGE_ADDR)
                          & (b_addr != GARBAGE_ADDR) & in_range)
        self.full = full
        self.new_w = t.op[self.cmp] == COMPUTE_P
        self.a_row = a_addr & ROW_MASK
        self.b_row = b_addr & ROW_MASK
        self.c_row = c_addr & ROW_MASK
        self.c_live = c_addr != GARBAGE_ADDR
        self.macs += int(np.sum(self.c_live * np.minimum(a_rows, c_rows)
                                * np.minimum(b_cols, c_cols) * np.minimum(a_cols, b_rows)))
        # static range checks (A with stride 1; a config_ex stride is checked when used)
        for addr, nrows, where in ((a_addr, a_rows, self.cmp), (b_addr, b_rows, self.pre),
                                   (d_addr, d_rows, self.cmp), (c_addr, c_rows, self.pre)):
            self._check_blocks(where, addr, nrows, 1, False)

    # -- configs ---------------------------------------------------------------
    def _config_ld(self, k, v):
        stride, shrunk, block_stride, ld_id = v[0], v[1], v[2], v[3]
        if ld_id not in (0, 1, 2):
            self.fail(k, f"load state id {ld_id} is not 0, 1 or 2")
        if stride < 0:
            self.fail(k, f"negative DRAM stride {stride}")
        if block_stride < 0:
            self.fail(k, f"negative block stride {block_stride}")
        self.ld[ld_id] = (stride, self._scales(k), shrunk, block_stride)

    def _scales(self, k):
        """Every set's scale of config row k (checked finite)."""
        scale = self.floats[:, k]
        bad = ~np.isfinite(scale)
        if bad.any():
            self.fail(k, f"scale {float(scale[np.argmax(bad)])} is not finite")
        return scale

    def _activations(self, k):
        """Every set's act of row k (checked to be none or ReLU)."""
        act = self.acts[:, k]
        bad = (act != ACT_NONE) & (act != ACT_RELU)
        if bad.any():
            self.fail(k, f"activation {int(act[np.argmax(bad)])} is not 0 (none) or 1 (ReLU)")
        return act

    def _config_st(self, k, v):
        stride = v[0]
        act = self._activations(k)
        if stride < 0:
            self.fail(k, f"negative DRAM stride {stride}")
        self.st = (stride, act, self._scales(k))

    def _config_ex(self, k, v):
        dataflow, _, shift, a_stride, a_tr, b_tr = v
        if dataflow != 1:
            self.fail(k, "only the weight-stationary dataflow (WS = 1) is modelled")
        act = self._activations(k)
        if shift != 0 or a_tr:
            self.fail(k, "shift and A_transpose are not modelled (use 0)")
        if b_tr not in (0, 1):
            self.fail(k, f"B_transpose {b_tr} is not 0 or 1")
        if a_stride < 1:
            self.fail(k, f"A stride {a_stride} must be at least 1")
        self.ex = (dataflow, act, a_stride, b_tr)

    # -- moves -----------------------------------------------------------------
    def _mvin_lean(self, v, arr, to_acc, row, nb, stride, shrunk):
        """An mvin that passed every static check, with contiguous blocks."""
        cols, rows = v[2], v[3]
        if to_acc:
            if arr < 0:
                self.acc[:, row:row + rows, :cols] = 0
            else:
                dt = self.in_dt if shrunk else self.acc_dt
                self.acc[:, row:row + rows, :cols] = np.ndarray(
                    (self.n_sets, rows, cols), dtype=dt, buffer=self.bufs[arr],
                    offset=v[0] * self.arrays[arr].itemsize,
                    strides=(self.nbytes[arr], stride, dt.itemsize))
            self.acc_written[row:row + rows] = True
            return
        span = nb * rows
        dim, ns = self.dim, self.n_sets
        if arr < 0:
            if nb == 1:
                self.sp[:, row:row + rows, :cols] = 0
            else:
                blocks = self.sp[:, row:row + span].reshape(ns, nb, rows, dim)
                for b in range(nb):
                    blocks[:, b, :, :min(dim, cols - b * dim)] = 0
        else:
            dt = self.in_dt
            data = np.ndarray((ns, rows, cols), dtype=dt, buffer=self.bufs[arr],
                              offset=v[0] * self.arrays[arr].itemsize,
                              strides=(self.nbytes[arr], stride, dt.itemsize))
            if nb == 1:
                self.sp[:, row:row + rows, :cols] = data
            elif cols == nb * dim:
                self.sp[:, row:row + span].reshape(ns, nb, rows, dim)[...] = \
                    data.reshape(ns, rows, nb, dim).transpose(0, 2, 1, 3)
            else:
                blocks = self.sp[:, row:row + span].reshape(ns, nb, rows, dim)
                for b in range(nb):
                    w = min(dim, cols - b * dim)
                    blocks[:, b, :, :w] = data[:, :, b * dim:b * dim + w]
        self.sp_written[row:row + span] = True

    def _mvin(self, k, ld_id, v, fast=False):
        dram_index, local, cols, rows = v[0], v[1], v[2], v[3]
        arr = int(self.trace.dram[k])
        conf = self.ld[ld_id]
        if conf is None:
            self.fail(k, f"used before config_ld configured load state id {ld_id}")
        stride, scale, shrunk, block_stride = conf
        dim = self.dim
        to_acc = bool(local & ACC_BIT)
        if not fast:
            if local == GARBAGE_ADDR:
                self.fail(k, "local address is the garbage address")
            max_cols = (self.cfg.max_mvin_blocks_acc if to_acc
                        else self.cfg.max_mvin_blocks_sp) * dim
            if not 1 <= rows <= dim:
                self.fail(k, f"rows={rows} outside 1..{dim}")
            if not 1 <= cols <= max_cols:
                self.fail(k, f"cols={cols} outside 1..{max_cols} for the "
                             f"{'accumulator' if to_acc else 'scratchpad'}")
        row = local & ROW_MASK
        nblocks = -(-cols // dim)
        mem = "acc" if to_acc else "sp"
        accumulate = to_acc and bool(local & ACCUMULATE_BIT)
        if not fast:
            for b in range(nblocks):
                self._check_rows(k, mem, row + b * block_stride, rows, accumulate)
        dt = (self.in_dt if (shrunk or not to_acc) else self.acc_dt)
        ns = self.n_sets
        if arr < 0:
            data = np.zeros((ns, rows, cols), dtype=dt)
        else:
            data = self._dram_view(k, arr, dram_index, rows, cols, stride, dt)
            scaled = scale != 1.0
            if scaled.any():
                f = data.astype(np.float32) * _per_set(scale.astype(np.float32), 3)
                if dt.kind == "i":      # saturate in float64: int32's max is not a float32
                    info = np.iinfo(dt)
                    f = np.clip(np.rint(f).astype(np.float64), info.min, info.max)
                f = f.astype(dt)
                data = f if scaled.all() else np.where(_per_set(scaled, 3), f, data)
        if to_acc:
            data = data.astype(self.acc_dt)
            dst = self.acc[:, row:row + rows, :cols]
            if accumulate:
                self.acc[:, row:row + rows, :cols] = dst + data  # int32 wraps
            else:
                self.acc[:, row:row + rows, :cols] = data
            self.acc_written[row:row + rows] = True
            return
        if nblocks == 1:
            self.sp[:, row:row + rows, :cols] = data
            self.sp_written[row:row + rows] = True
        elif block_stride == rows and cols == nblocks * dim:
            span = nblocks * rows
            self.sp[:, row:row + span] = data.reshape(ns, rows, nblocks, dim) \
                .transpose(0, 2, 1, 3).reshape(ns, span, dim)
            self.sp_written[row:row + span] = True
        else:
            for b in range(nblocks):
                r0 = row + b * block_stride
                w = min(dim, cols - b * dim)
                self.sp[:, r0:r0 + rows, :w] = data[:, :, b * dim:b * dim + w]
                self.sp_written[r0:r0 + rows] = True

    def _mvout(self, k, v, fast=False):
        dram_index, local, cols, rows = v[0], v[1], v[2], v[3]
        arr = int(self.trace.dram[k])
        if self.st is None:
            self.fail(k, "used before config_st")
        stride, act, scale = self.st
        if not fast:
            self._check_mvout(k, arr, local, cols, rows)
        row = local & ROW_MASK
        if local & ACC_BIT:
            self._check_rows(k, "acc", row, rows, True)
            vals = self.acc[:, row:row + rows, :cols]
            if local & RAW_READ_BIT:
                out, dt = vals, self.acc_dt
            else:
                out, dt = self._to_in_type(vals, scale, act), self.in_dt
        else:
            self._check_rows(k, "sp", row, rows, True)
            out, dt = self.sp[:, row:row + rows, :cols], self.in_dt
        view = self._dram_view(k, arr, dram_index, rows, cols, stride, dt)
        view[...] = out

    def _check_mvout(self, k, arr, local, cols, rows):
        dim = self.dim
        if arr < 0:
            self.fail(k, "DRAM address must be an element of an array parameter")
        if local == GARBAGE_ADDR:
            self.fail(k, "local address is the garbage address")
        max_cols = self.cfg.max_mvout_blocks * dim
        if not 1 <= rows <= dim:
            self.fail(k, f"rows={rows} outside 1..{dim}")
        if not 1 <= cols <= max_cols:
            self.fail(k, f"cols={cols} outside 1..{max_cols}")

    # -- execute ---------------------------------------------------------------
    def _computes(self, c0: int, c1: int):
        """Execute computes c0..c1-1 (indices into the paired lists)."""
        if (self.slow_before[c1] == self.slow_before[c0] and not self.is_float
                and self.ex[2] == 1 and not self.ex[3] and self._fast_batch(c0, c1)):
            return
        pre, cmp = self.pre[c0:c1], self.cmp[c0:c1]
        P, C, new_w = self.P[c0:c1], self.C[c0:c1], self.new_w[c0:c1]
        c_addr, d_addr = P[:, 1], C[:, 1]
        c_acc_add = (c_addr != GARBAGE_ADDR) & ((c_addr & ACC_BIT) != 0) \
            & ((c_addr & ACCUMULATE_BIT) != 0)
        d_in_acc = (d_addr != GARBAGE_ADDR) & ((d_addr & ACC_BIT) != 0)
        # accumulate-only batches are summed per element (any overlap of C blocks is fine)
        if (bool(np.all(c_acc_add | (c_addr == GARBAGE_ADDR))) and not bool(np.any(d_in_acc))
                and not self.is_float):
            self._compute_batch(pre, cmp, P, C, new_w)
            return
        for i in range(len(cmp)):
            s = slice(i, i + 1)
            self._compute_batch(pre[s], cmp[s], P[s], C[s], new_w[s])

    def _fast_batch(self, c0: int, c1: int) -> bool:
        """Full-size blocks, A/B in the scratchpad, C accumulating: one numpy batch."""
        dim, ar = self.dim, self.ar
        ridx = self.a_row[c0:c1, None] + ar
        live = self.c_live[c0:c1]
        crow = self.c_row[c0:c1][live]
        u, inv = _unique_inverse(crow)
        if len(u) > 1 and int(np.min(np.diff(u))) < dim:
            return False
        new_w = self.new_w[c0:c1]
        all_new = bool(new_w.all())
        bidx = self.b_row[c0:c1, None] + ar
        cidx = (u[:, None] + ar).ravel()
        if not (self.sp_written[ridx].all() and self.sp_written[bidx[new_w]].all()
                and self.acc_written[cidx].all()):
            return False    # let the general path find and report the unwritten row
        ns, m = self.n_sets, c1 - c0
        A = self.sp_blocks[:, self.a_row[c0:c1]].reshape(ns, m, dim, dim)
        B = self.sp_blocks[:, self.b_row[c0:c1]].reshape(ns, m, dim, dim)
        if not all_new:
            src = np.maximum.accumulate(np.where(new_w, np.arange(c1 - c0), -1))
            if (src < 0).any():
                if self.weights is None:
                    return False
                B = np.concatenate([self.weights[:, None].astype(B.dtype), B], axis=1)
                src = src + 1
            B = B[:, src]
        self.weights = B[:, -1].copy()
        if not live.any():
            return True
        if not live.all():
            A, B = A[:, live], B[:, live]
        order = np.argsort(inv, kind="stable")
        counts = np.bincount(inv)
        per = int(counts[0])
        if (counts == per).all():
            sums = self._block_matmul(A[:, order], B[:, order], len(u), per) \
                .astype(np.int64).astype(np.int32)
        else:
            prod = np.matmul(A.astype(np.float64), B.astype(np.float64)).astype(np.int64)
            sums = np.zeros((ns, len(u), dim, dim), dtype=np.int64)
            np.add.at(sums, (slice(None), inv), prod)
            sums = sums.astype(np.int32)
        self.acc[:, cidx] += sums.reshape(ns, -1, dim)   # int32 wraps
        return True

    def _check_dims(self, pre, cmp, b_addr, b_cols, b_rows, c_addr, c_cols, c_rows,
                    a_addr, a_cols, a_rows, d_addr, d_cols, d_rows):
        dim = self.dim
        for rows_, where, name in ((b_cols, pre, "B_cols"), (b_rows, pre, "B_rows"),
                                   (c_cols, pre, "C_cols"), (c_rows, pre, "C_rows"),
                                   (a_cols, cmp, "A_cols"), (a_rows, cmp, "A_rows"),
                                   (d_cols, cmp, "D_cols"), (d_rows, cmp, "D_rows")):
            bad = (rows_ < 1) | (rows_ > dim)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                self.fail(int(where[i]), f"{name}={int(rows_[i])} outside 1..{dim}")
        for addr, where, name in ((a_addr, cmp, "A"), (b_addr, pre, "B")):
            bad = (addr != GARBAGE_ADDR) & ((addr & ACC_BIT) != 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                self.fail(int(where[i]), f"{name} operand must be a scratchpad address")

    def _check_blocks(self, where, addr, nrows, stride, need_written):
        """Range (and written) checks of m local blocks; errors name the first bad one."""
        dim = self.dim
        garbage = addr == GARBAGE_ADDR
        live = ~garbage
        if not live.any():
            return
        in_acc = live & ((addr & ACC_BIT) != 0)
        row = np.where(garbage, 0, addr & ROW_MASK)
        last = row + (np.maximum(nrows, 1) - 1) * stride
        limit = np.where(in_acc, self.cfg.acc_rows, self.cfg.sp_rows)
        bad = live & (last >= limit)
        if not bad.any() and need_written:
            ridx = row[:, None] + np.arange(dim)[None, :] * stride
            rmask = (np.arange(dim)[None, :] < nrows[:, None]) & live[:, None]
            w_sp = self.sp_written[np.minimum(ridx, self.cfg.sp_rows - 1)]
            if in_acc.any():
                w_acc = self.acc_written[np.minimum(ridx, self.cfg.acc_rows - 1)]
                w_sp = np.where(in_acc[:, None], w_acc, w_sp)
            bad = (rmask & ~w_sp).any(axis=1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            mem = "acc" if in_acc[i] else "sp"
            for q in range(int(nrows[i])):
                self._check_rows(int(where[i]), mem, int(row[i]) + q * stride, 1, need_written)

    def _gather(self, where, addr, nrows, ncols, stride=1):
        """(sets, m, DIM, DIM) blocks at local addresses (zero padded / garbage = zeros)."""
        dim = self.dim
        m = len(addr)
        self._check_blocks(where, addr, nrows, stride, True)
        garbage = addr == GARBAGE_ADDR
        in_acc = ~garbage & ((addr & ACC_BIT) != 0)
        row = np.where(garbage, 0, addr & ROW_MASK)
        ridx = row[:, None] + np.arange(dim)[None, :] * stride
        rmask = (np.arange(dim)[None, :] < nrows[:, None]) & ~garbage[:, None]
        cmask = np.arange(dim)[None, :] < ncols[:, None]
        mask = rmask[:, :, None] & cmask[:, None, :]
        if in_acc.any():
            out = np.zeros((self.n_sets, m, dim, dim),
                           dtype=np.float64 if self.is_float else np.int64)
            sp_i = ~in_acc
            out[:, sp_i] = self.sp[:, np.minimum(ridx[sp_i], self.cfg.sp_rows - 1)]
            out[:, in_acc] = self.acc[:, np.minimum(ridx[in_acc], self.cfg.acc_rows - 1)]
        else:
            out = self.sp[:, np.minimum(ridx, self.cfg.sp_rows - 1)]
        return np.where(mask, out, 0)

    def _compute_batch(self, pre, cmp, P, C, new_w):
        b_addr, c_addr, b_cols, b_rows, c_cols, c_rows = P.T
        a_addr, d_addr, a_cols, a_rows, d_cols, d_rows = C.T
        m = len(cmp)
        a_stride = self.ex[2]
        A = self._gather(cmp, a_addr, a_rows, a_cols, a_stride)
        if self.ex[3]:   # B_transpose (WS): the preload reads B_cols rows of B_rows, transposed
            B = self._gather(pre, b_addr, b_cols, b_rows).swapaxes(2, 3)
        else:
            B = self._gather(pre, b_addr, b_rows, b_cols)
        # weights: the compute's own preload, or the ones held in the array
        src = np.where(new_w, np.arange(m), -1)
        src = np.maximum.accumulate(src)
        if (src < 0).any():
            if self.weights is None:
                self.fail(int(cmp[int(np.flatnonzero(src < 0)[0])]),
                          "compute_accumulated with no weights in the array")
            B = np.concatenate([self.weights[:, None].astype(B.dtype), B], axis=1)
            src = src + 1
        W = B[:, src]
        self.weights = W[:, -1].copy()
        ftype = np.float32
        prod = np.matmul(A.astype(ftype), W.astype(ftype))
        d_garbage = d_addr == GARBAGE_ADDR
        if self.is_float:
            res = prod
            if not d_garbage.all():
                res = res + self._gather(cmp, d_addr, d_rows, d_cols).astype(np.float32)
        else:
            res = prod.astype(np.int64)
            if not d_garbage.all():
                res = res + self._gather(cmp, d_addr, d_rows, d_cols).astype(np.int64)
            res = res.astype(np.int32)  # wraps
        self._write_c(pre, c_addr, c_cols, c_rows, res)

    def _write_c(self, pre, c_addr, c_cols, c_rows, res):
        dim = self.dim
        ar = np.arange(dim)
        live = c_addr != GARBAGE_ADDR
        if not live.any():
            return
        rows_ok = ar[None, :] < c_rows[:, None]
        cols_ok = ar[None, :] < c_cols[:, None]
        row = c_addr & ROW_MASK
        is_acc = (c_addr & ACC_BIT) != 0
        add = (c_addr & ACCUMULATE_BIT) != 0
        if len(c_addr) > 1:
            self._check_blocks(pre, c_addr, c_rows, 1, True)   # all accumulate
        else:
            self._check_blocks(pre, c_addr, c_rows, 1, bool(is_acc[0] and add[0]))
        if len(c_addr) > 1:   # batch: every live C accumulates into the accumulator
            sel = live[:, None, None] & rows_ok[:, :, None] & cols_ok[:, None, :]
            flat = (row[:, None, None] + ar[None, :, None]) * dim + ar[None, None, :]
            fi = flat[sel]
            ns, size = self.n_sets, self.acc[0].size
            vals = res[:, sel].astype(np.float64)                  # (sets, L)
            sums = np.bincount((fi + size * np.arange(ns)[:, None]).ravel(),
                               weights=vals.ravel(), minlength=ns * size).reshape(ns, size)
            hit = np.flatnonzero(np.bincount(fi, minlength=size))
            acc_flat = self.acc.reshape(ns, -1)
            acc_flat[:, hit] = (acc_flat[:, hit].astype(np.int64)
                                + sums[:, hit].astype(np.int64)).astype(np.int32)
            return
        r, nr, nc = int(row[0]), int(c_rows[0]), int(c_cols[0])
        blk = res[:, 0, :nr, :nc]
        if is_acc[0]:
            if add[0]:
                cur = self.acc[:, r:r + nr, :nc]
                self.acc[:, r:r + nr, :nc] = cur + blk.astype(self.acc_dt)
            else:
                self.acc[:, r:r + nr, :nc] = blk
            self.acc_written[r:r + nr] = True
        else:
            if self.is_float:
                out = blk.astype(np.float32)
            else:
                out = np.clip(blk, -128, 127).astype(np.int8)
            self.sp[:, r:r + nr, :nc] = self._act(out, self.ex[1])
            self.sp_written[r:r + nr] = True
