"""Cycle model of Gemmini (docs/hardware.md section 4), one deterministic pass over a `Trace`.

Every instruction is scheduled when the CPU issues it, in program order. `simulate`
runs four steps:

1. **Facts** (`_facts`, vectorized): each row's queue and cost class (from the ISA
   table, `gemmini.isa`), the DIM-row blocks of local memory it reads and writes, its
   scratchpad banks, rows and bytes moved.
2. **CPU issue and queue admission** (the loop of `_schedule`): ``cpu_t`` advances by
   the scalar code before the instruction (`Trace.cpu_pre`) and by its issue cost;
   when its reservation-station queue (load 8, execute 16, store 4 entries) is full,
   the CPU stalls until the oldest entry *completes* (entries are freed at completion).
   A fence (no queue) stalls the CPU until everything has completed.
3. **Engine steps** (in `_schedule`, one closure per queue and cost class): start = max(issue
   time, in-order constraint of its engine, hazards). Hazards are tracked per DIM-row
   block of local memory: an instruction waits for the *completion* of earlier
   instructions of other queues that write what it reads or writes (RAW, WAW) or read
   what it writes (WAR).

   * Load engine: config_ld takes `config_cycles`. At most `max_mvins_in_flight`
     mvins; a DMA mvin's data arrives `mem_latency` after its start and then occupies
     the shared bus for bytes / `dma_bytes_per_cycle` cycles. Zero mvins write
     `zero_rows_per_cycle` rows per cycle without the bus.
   * Execute engine: a compute feeds for `block_cycles` (x `bank_conflict_factor` when
     A and the B its preload reads sit in one scratchpad bank). A compute whose preload
     names GARBAGE as B (weights kept in the array, `compute_accumulated`) reads no B,
     so it never conflicts, and streams max(A rows, `feed_min_rows`) rows. A preload is
     hidden behind the previous compute when it was already queued before that compute
     ended; otherwise it costs `preload_cycles` (`garbage_preload_cycles` with a
     GARBAGE B). Results reach the accumulator `acc_writeback_latency`
     after the block starts (that is the compute's completion for hazards and the
     queue). Scratchpad banks are single ported and DMA writes win: every row an mvin
     writes into a bank while the execute engine works on that bank adds one cycle to
     it. config_ex drains the execute pipeline (`config_ex_drain`); loop_ws waits for
     an idle accelerator and then runs its double-buffered tile at the pace of its
     busiest resource (`gemmini.loop_ws.cost`).
   * Store engine: config_st takes `config_cycles`; mvouts are serialized: scaling
     pipeline + rows (or bus cycles) + the DRAM acknowledgement.
4. **Result** (`_result`): total cycles, busy cycles per engine and the counters.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from gemmini import isa
from gemmini import loop_ws as loop_ws_mod
from gemmini.config import ACC_BIT, GARBAGE_ADDR, ROW_MASK, GemminiConfig
from gemmini.moves import MovePlan
from gemmini.trace import OP_CODE, SPEC_OF, Trace, int_column

Q_LOAD, Q_EXEC, Q_STORE, Q_NONE = (isa.QUEUES.index(q) for q in
                                   (isa.LOAD, isa.EXECUTE, isa.STORE, isa.NONE))
QUEUE_OF_CODE = np.array([isa.QUEUES.index(s.queue) for s in SPEC_OF], dtype=np.int64)
COST_OF_CODE = np.array([isa.COST_CLASSES.index(s.cost) for s in SPEC_OF], dtype=np.int64)
_EXEC_COSTS = [isa.COST_CLASSES.index(c) for c in (isa.PRELOAD, isa.COMPUTE, isa.COMPUTE_HELD)]
_PRELOAD = isa.COST_CLASSES.index(isa.PRELOAD)
CONFIG_EX_CODE, COMPUTE_P_CODE = OP_CODE["config_ex"], OP_CODE["compute_preloaded"]
B_T_COL = int_column("config_ex", "B_transpose")
# `Trace.ints` columns: a compute's A and D (a preload's B and C use the same columns)
A_ADDR, A_ROWS, D_ADDR, D_ROWS = (int_column("compute_preloaded", name) for name in
                                  ("A_addr", "A_rows", "D_addr", "D_rows"))
MV_LOCAL, MV_ROWS = int_column("mvin", "local_addr"), int_column("mvin", "rows")


@dataclass
class TimingResult:
    """What the cycle model measured (all in cycles)."""
    cycles: int
    busy: dict                      # engine -> busy cycles: cpu, load, execute, store
    cpu_stall: int                  # CPU cycles lost waiting for a full queue or a fence
    bank_conflicts: int             # computes whose A and B share a scratchpad bank
    stolen_cycles: int              # execute cycles lost to DMA writes into its banks
    exposed_preloads: int           # preloads that could not hide behind a compute
    fence_stall: int = 0            # part of cpu_stall spent at fences with work after them
    extra: dict = field(default_factory=dict)


def simulate(trace: Trace, cfg: GemminiConfig, plan: MovePlan,
             timeline: list | None = None) -> TimingResult:
    """Schedule every instruction of `trace` (see module docstring). With a ``timeline``
    list, each scheduled instruction appends (index, issue, start, completion)."""
    return _schedule(_facts(trace, cfg, plan)[0], trace, cfg, timeline)


def simulate_stream(pieces: Iterator[tuple[Trace, MovePlan]], cfg: GemminiConfig) \
        -> TimingResult:
    """`simulate` of a trace given as consecutive (piece, its move plan) pairs
    (`gemmini.trace.iter_trace`), one scheduling pass whose state carries across pieces;
    each piece is taken from the iterator only when the previous one is scheduled."""
    first, plan = next(pieces)
    facts, b_transposed = _facts(first, cfg, plan)

    def rest():
        nonlocal b_transposed
        for t, p in pieces:
            f, b_transposed = _facts(t, cfg, p, b_transposed)
            yield f, t
    return _schedule(facts, first, cfg, None, rest())


# ---- step 1: per-instruction facts ------------------------------------------------------

@dataclass
class _Facts:
    """Per trace row, as python lists (fast to index in the scheduling loop). Block ranges
    are first and last DIM-row block (first > last: none)."""
    code: list          # op code
    queue: list         # queue index (Q_*)
    cpu_pre: list
    cpu_issue: list
    first: list         # local range of a move (all its blocks)
    last: list
    a_first: list       # A of a compute / B of a preload
    a_last: list
    d_first: list       # D of a compute
    d_last: list
    c_first: list       # C of the preload of a compute (index -1: none)
    c_last: list
    pre_of: list        # a compute's preload row, -1 if none
    conflict: list      # a compute whose A and its preload's B share a scratchpad bank
    feed: list          # execute cycles of a compute without conflict
    preload_alone: list  # cycles of a preload that cannot overlap (GARBAGE B: fewer)
    a_bank: list        # scratchpad bank read by A / a preload's B, -1 if none
    b_bank: list        # another scratchpad bank read by a compute's new weights, -1 if none
    to_acc: list        # a move into the accumulator
    mv_bank: list       # scratchpad bank a move writes
    mv_acc_bank: list   # sp_banks + accumulator bank a move writes or reads, -1 if none
    c_acc_bank: list    # sp_banks + accumulator bank a compute's C is in, -1 if none
    mv_rows: list       # rows a move writes or reads
    dram_bytes: list
    zero: list          # an mvin without DRAM (writes zeros)
    conflict_feed: list  # execute cycles of a compute with a bank conflict


def _block_ranges(cfg: GemminiConfig, addr: np.ndarray, nrows: np.ndarray):
    """First and last DIM-row block of local ranges (-1, -2 for garbage: empty)."""
    dim = cfg.dim
    sp_blocks = cfg.sp_rows // dim
    garbage = addr == GARBAGE_ADDR
    row = addr & ROW_MASK
    base = np.where((addr & ACC_BIT) != 0, sp_blocks, 0)
    first = base + row // dim
    last = base + (row + np.maximum(nrows, 1) - 1) // dim
    return np.where(garbage, -1, first), np.where(garbage, -2, last)


def _b_transposed(trace: Trace, before: bool) -> tuple[np.ndarray, bool]:
    """Per row, whether the last config_ex before it set B_transpose (``before``: the state
    at the start of ``trace``), and the state after the trace."""
    rows = np.flatnonzero(trace.op == CONFIG_EX_CODE)
    if not len(rows):
        return np.full(len(trace), bool(before)), bool(before)
    values = trace.ints[rows, B_T_COL] != 0
    last = np.searchsorted(rows, np.arange(len(trace)), side="left") - 1
    return np.where(last >= 0, values[np.maximum(last, 0)], bool(before)), bool(values[-1])


def _facts(trace: Trace, cfg: GemminiConfig, plan: MovePlan, b_transposed: bool = False) \
        -> tuple[_Facts, bool]:
    """The facts of every row, vectorized over the trace, and the B_transpose state of
    config_ex after it."""
    n = len(trace)
    op, ints = trace.op, trace.ints
    bank_rows = cfg.sp_bank_rows
    cost = COST_OF_CODE[op]
    first, last = _block_ranges(cfg, ints[:, MV_LOCAL] if n else np.zeros(0, np.int64),
                                np.maximum(plan.span, 1))
    ex_idx = np.flatnonzero(np.isin(cost, _EXEC_COSTS))
    pre_of = np.full(n, -1, dtype=np.int64)
    if len(ex_idx):
        is_pre = cost[ex_idx] == _PRELOAD
        last_pre = np.maximum.accumulate(np.where(is_pre, ex_idx, -1))
        pre_of[ex_idx[~is_pre]] = last_pre[~is_pre]
    a_addr = ints[:, A_ADDR]
    a_first, a_last = _block_ranges(cfg, a_addr, ints[:, A_ROWS])
    d_first, d_last = _block_ranges(cfg, ints[:, D_ADDR], ints[:, D_ROWS])  # also C of a preload
    pre_safe = np.maximum(pre_of, 0)
    a_row = a_addr & ROW_MASK
    a_sp = (a_addr != GARBAGE_ADDR) & ((a_addr & ACC_BIT) == 0)
    # the B a compute's preload reads from the scratchpad (GARBAGE: none), FLIP or STAY alike
    b_sp = a_sp[pre_safe] & (pre_of >= 0) & (cost != _PRELOAD)
    held = (pre_of >= 0) & (cost != _PRELOAD) & (a_addr[pre_safe] == GARBAGE_ADDR)
    a_bank = np.where(a_sp, a_row // bank_rows, -1)
    b_bank = np.where(b_sp, a_row[pre_safe] // bank_rows, -1)
    conflict = a_sp & b_sp & (a_bank == b_bank)
    b_bank = np.where(b_bank == a_bank, -1, b_bank)
    tp = cfg.timing
    held_rows = np.maximum(ints[:, A_ROWS], tp.feed_min_rows)
    feed = np.where(held, -(-held_rows * tp.block_cycles // cfg.dim), tp.block_cycles)
    preload_alone = np.where(a_addr == GARBAGE_ADDR, tp.garbage_preload_cycles,
                             tp.preload_cycles)
    # B_transpose (WS): the hardware unrolls a preload followed by compute_preloaded into
    # preload, a compute of garbage that pushes the weights through the transposer,
    # a garbage preload (hidden behind it) and the compute (docs/hardware.md)
    b_tr, b_transposed = _b_transposed(trace, b_transposed)
    unrolled = b_tr & (op == COMPUTE_P_CODE) & (pre_of >= 0)
    feed = feed + np.where(unrolled, -(-held_rows * tp.block_cycles // cfg.dim), 0)
    conflict_feed = np.where(unrolled, -(-held_rows * tp.block_cycles // cfg.dim), 0) \
        + int(round(tp.block_cycles * tp.bank_conflict_factor))
    mv_rows = np.where(plan.is_load, ints[:, MV_ROWS] * plan.nblocks, ints[:, MV_ROWS])
    # accumulator banks, numbered after the scratchpad banks
    mv_local = ints[:, MV_LOCAL] if n else np.zeros(0, np.int64)
    mv_acc = (mv_local != GARBAGE_ADDR) & ((mv_local & ACC_BIT) != 0)
    mv_acc_bank = np.where(mv_acc, cfg.sp_banks + (mv_local & ROW_MASK) // cfg.acc_bank_rows, -1)
    c_addr = ints[pre_safe, D_ADDR] if n else np.zeros(0, np.int64)
    c_acc = (pre_of >= 0) & (cost != _PRELOAD) & (c_addr != GARBAGE_ADDR) \
        & ((c_addr & ACC_BIT) != 0)
    c_acc_bank = np.where(c_acc, cfg.sp_banks + (c_addr & ROW_MASK) // cfg.acc_bank_rows, -1)

    def L(a):
        return a.tolist()
    return _Facts(
        code=L(op), queue=L(QUEUE_OF_CODE[op]), cpu_pre=L(trace.cpu_pre),
        cpu_issue=L(trace.cpu_issue), first=L(first), last=L(last),
        a_first=L(a_first), a_last=L(a_last), d_first=L(d_first), d_last=L(d_last),
        c_first=L(d_first) + [-1], c_last=L(d_last) + [-2],      # index -1: no preload
        pre_of=L(pre_of), conflict=L(conflict), feed=L(feed), preload_alone=L(preload_alone), a_bank=L(a_bank), b_bank=L(b_bank),
        to_acc=L(plan.to_acc), mv_bank=L((ints[:, MV_LOCAL] & ROW_MASK) // bank_rows),
        mv_acc_bank=L(mv_acc_bank), c_acc_bank=L(c_acc_bank),
        mv_rows=L(mv_rows), dram_bytes=L(plan.dram_bytes), zero=L(trace.dram < 0),
        conflict_feed=L(conflict_feed)), b_transposed


# ---- steps 2 and 3: CPU issue, queue admission and the engines -----------------------------

def _schedule(f: _Facts, trace: Trace, cfg: GemminiConfig, timeline: list | None,
              more: Iterable[tuple[_Facts, Trace]] = ()) -> TimingResult:
    """Issue every row in program order and schedule it on its engine (then the rows of
    the pieces in `more`, each with its facts; indices k are per piece)."""
    tp, dim = cfg.timing, cfg.dim
    nblk = cfg.sp_rows // dim + cfg.acc_rows // dim
    # completion times of the last writer / reader of each block, per queue
    w_done = [[0] * nblk for _ in range(3)]
    r_done = [[0] * nblk for _ in range(3)]
    w_ld, w_ex = w_done[Q_LOAD], w_done[Q_EXEC]
    r_ex, r_st = r_done[Q_EXEC], r_done[Q_STORE]
    all_done = 0
    ex_done_all = 0
    first_l, last_l, mv_rows_l, bytes_l = f.first, f.last, f.mv_rows, f.dram_bytes
    bw, mem_lat = tp.dma_bytes_per_cycle, tp.mem_latency

    # -- load engine
    ld_last_start = 0
    bus_free = 0
    inflight: list[int] = []
    ld_busy = 0
    max_inflight = tp.max_mvins_in_flight
    zero_l, to_acc_l, mv_bank_l = f.zero, f.to_acc, f.mv_bank
    mv_acc_bank_l, c_acc_bank_l = f.mv_acc_bank, f.c_acc_bank
    acc_ports = tp.acc_port_contention

    def steal(bank, w0, done, rows):
        """Rows a move puts through ``bank``'s port in [w0, done): one execute cycle each
        if the execute engine works on that bank (now, or later: a window)."""
        nonlocal ex_free, stolen
        if ex_bank_busy[bank] > w0:
            ex_free += rows
            ex_bank_busy[bank] += rows
            stolen += rows
        else:
            bank_windows[bank].append((w0, done, rows))

    def load_config(k, ready):
        nonlocal ld_last_start
        s = ready if ready > ld_last_start else ld_last_start
        ld_last_start = s
        return s, s + tp.config_cycles

    def move_in(k, ready):
        nonlocal ld_last_start, bus_free, ld_busy, ex_free, stolen
        lo, hi = first_l[k], last_l[k] + 1
        s = ready if ready > ld_last_start else ld_last_start
        for b in range(lo, hi):          # hazards: RAW/WAR with execute, WAR with store
            x = w_ex[b]
            if x > s:
                s = x
            x = r_ex[b]
            if x > s:
                s = x
            x = r_st[b]
            if x > s:
                s = x
        if len(inflight) >= max_inflight:
            oldest = inflight[-max_inflight]
            if oldest > s:
                s = oldest
        rows = mv_rows_l[k]
        if zero_l[k]:
            dur = -(-rows // tp.zero_rows_per_cycle)
            w0, done = s, s + dur
        else:
            xfer = -(-bytes_l[k] // bw)
            w0 = s + mem_lat
            if bus_free > w0:
                w0 = bus_free
            done = w0 + xfer
            bus_free = done
            dur = xfer
        ld_busy += dur
        ld_last_start = s
        inflight.append(done)
        if len(inflight) > max_inflight:
            del inflight[0]
        for b in range(lo, hi):
            if w_ld[b] < done:
                w_ld[b] = done
        if not to_acc_l[k]:                 # DMA / zero writes take bank read cycles
            steal(mv_bank_l[k], w0, done, rows)
        elif acc_ports and mv_acc_bank_l[k] >= 0:
            steal(mv_acc_bank_l[k], w0, done, rows)
        return s, done

    # -- execute engine
    ex_free = 0
    prev_compute_end = -1
    prev_was_compute = False
    ex_busy = 0
    ex_bank_busy = [0] * (cfg.sp_banks + cfg.acc_banks)
    bank_windows: list[list] = [[] for _ in range(cfg.sp_banks + cfg.acc_banks)]
    stolen = 0
    conflicts = 0
    exposed = 0
    wb_lat = tp.acc_writeback_latency
    af_l, al_l, df_l, dl_l = f.a_first, f.a_last, f.d_first, f.d_last
    cf_l, cl_l, pre_of_l = f.c_first, f.c_last, f.pre_of
    conflict_l, a_bank_l, b_bank_l = f.conflict, f.a_bank, f.b_bank
    feed_l, preload_alone_l, conflict_feed_l = f.feed, f.preload_alone, f.conflict_feed

    def preload(k, ready):
        nonlocal ex_free, ex_busy, exposed, prev_was_compute
        s = ex_free
        af, al = af_l[k], al_l[k]
        for b in range(af, al + 1):         # hazard: RAW on B with loads
            if w_ld[b] > s:
                s = w_ld[b]
        if ready > s:
            s = ready
        if prev_was_compute and s <= prev_compute_end:
            dur = 0
        else:
            dur = preload_alone_l[k]
            exposed += 1
        done = s + dur
        ex_free = done
        ex_busy += dur
        bb = a_bank_l[k]
        if bb >= 0 and ex_bank_busy[bb] < done:
            ex_bank_busy[bb] = done
        for b in range(af, al + 1):
            if r_ex[b] < done:
                r_ex[b] = done
        prev_was_compute = False
        return s, done

    def compute(k, ready):
        nonlocal ex_free, ex_busy, conflicts, stolen, prev_compute_end, prev_was_compute
        s = ready if ready > ex_free else ex_free
        af, al = af_l[k], al_l[k]           # hazards: RAW on A and D with loads,
        for b in range(af, al + 1):         # WAW with loads and WAR with stores on C
            x = w_ld[b]
            if x > s:
                s = x
        df, dl = df_l[k], dl_l[k]
        for b in range(df, dl + 1):
            x = w_ld[b]
            if x > s:
                s = x
        p = pre_of_l[k]
        cf, cl = cf_l[p], cl_l[p]
        for b in range(cf, cl + 1):
            x = w_ld[b]
            if x > s:
                s = x
            x = r_st[b]
            if x > s:
                s = x
        if conflict_l[k]:
            end = s + conflict_feed_l[k]
            conflicts += 1
        else:
            end = s + feed_l[k]
        # DMA writes already scheduled into the banks this compute reads
        bank_a, bank_b = a_bank_l[k], b_bank_l[k]
        bank_c = c_acc_bank_l[k] if acc_ports else -1
        for bank in (bank_a, bank_b, bank_c):
            if bank < 0:
                continue
            wins = bank_windows[bank]
            if wins:
                keep = []
                for w in wins:
                    if w[1] <= s:
                        continue
                    if w[0] < end:
                        end += w[2]
                        stolen += w[2]
                    else:
                        keep.append(w)
                bank_windows[bank] = keep
        if bank_a >= 0 and ex_bank_busy[bank_a] < end:
            ex_bank_busy[bank_a] = end
        if bank_b >= 0 and ex_bank_busy[bank_b] < end:
            ex_bank_busy[bank_b] = end
        if bank_c >= 0 and ex_bank_busy[bank_c] < end:
            ex_bank_busy[bank_c] = end
        ex_busy += end - s
        ex_free = end
        done = end if end > s + wb_lat else s + wb_lat
        for b in range(af, al + 1):
            if r_ex[b] < done:
                r_ex[b] = done
        for b in range(df, dl + 1):
            if r_ex[b] < done:
                r_ex[b] = done
        for b in range(cf, cl + 1):
            if w_ex[b] < done:
                w_ex[b] = done
        prev_compute_end = end
        prev_was_compute = True
        return s, done

    def drain(k, ready):
        nonlocal ex_free, ex_busy, prev_was_compute
        s = max(ready, ex_free, ex_done_all)
        done = s + tp.config_ex_drain
        ex_free = done
        ex_busy += tp.config_ex_drain
        prev_was_compute = False
        return s, done

    def fsm(k, ready):
        nonlocal ld_busy, ex_busy, st_busy, ex_free, st_free, bus_free, ld_last_start, \
            prev_was_compute
        s = max(ready, all_done, ex_free, st_free, bus_free)
        c = loop_ws_mod.cost(cfg, loop_ws_mod.unpack(trace.loop_ws[k]),
                             cfg.in_bytes, cfg.acc_bytes)
        done = s + c["overhead"] + max(c["load"], c["execute"], c["store"])
        ld_busy += c["load"]
        ex_busy += c["execute"]
        st_busy += c["store"]
        ex_free = st_free = bus_free = ld_last_start = done
        prev_was_compute = False
        for lst in w_done + r_done:
            for b in range(nblk):
                if lst[b] < done:
                    lst[b] = done
        return s, done

    # -- store engine
    st_free = 0
    st_busy = 0

    def store_config(k, ready):
        nonlocal st_free
        s = ready if ready > st_free else st_free
        st_free = s + tp.config_cycles
        return s, st_free

    def move_out(k, ready):
        nonlocal st_free, st_busy
        s = ready if ready > st_free else st_free
        lo, hi = first_l[k], last_l[k] + 1
        for b in range(lo, hi):             # hazards: RAW with loads and computes
            if w_ld[b] > s:
                s = w_ld[b]
        for b in range(lo, hi):
            if w_ex[b] > s:
                s = w_ex[b]
        rows = mv_rows_l[k]
        work = max(-(-rows // tp.store_rows_per_cycle), -(-bytes_l[k] // bw))
        dur = tp.store_pipeline + work
        st_busy += dur
        done = s + dur + tp.store_ack_latency
        st_free = done
        if acc_ports and mv_acc_bank_l[k] >= 0:   # reads the accumulator bank's rows
            steal(mv_acc_bank_l[k], s, s + dur, rows)
        for b in range(lo, hi):
            if r_st[b] < done:
                r_st[b] = done
        return s, done

    steps = {(isa.LOAD, isa.CONFIG): load_config, (isa.LOAD, isa.MOVE_IN): move_in,
             (isa.EXECUTE, isa.PRELOAD): preload, (isa.EXECUTE, isa.COMPUTE): compute,
             (isa.EXECUTE, isa.COMPUTE_HELD): compute, (isa.EXECUTE, isa.DRAIN): drain,
             (isa.EXECUTE, isa.FSM): fsm, (isa.STORE, isa.CONFIG): store_config,
             (isa.STORE, isa.MOVE_OUT): move_out}
    step_of_code = [steps.get((s.queue, s.cost)) for s in SPEC_OF]
    for spec, step in zip(SPEC_OF, step_of_code):
        if step is None and (spec.queue, spec.cost) != (isa.NONE, isa.FENCE):
            raise ValueError(f"the timing model has no step for {spec.op} "
                             f"(queue {spec.queue}, cost class {spec.cost})")

    # -- the CPU: issue in program order, admission into the reservation stations
    caps = (tp.rs_load, tp.rs_execute, tp.rs_store)
    rs = ([], [], [])                                   # heaps of completion times
    cpu_t = cpu_busy = cpu_stall = 0
    fence_stall = trailing_wait = 0     # a fence's wait counts once work follows it
    code_l, q_l, pre_l, issue_l = f.code, f.queue, f.cpu_pre, f.cpu_issue

    def rows():
        """Row indices of the first piece, then of each further one with its facts bound."""
        nonlocal trace, code_l, q_l, pre_l, issue_l, first_l, last_l, mv_rows_l, bytes_l, \
            zero_l, to_acc_l, mv_bank_l, af_l, al_l, df_l, dl_l, cf_l, cl_l, pre_of_l, \
            conflict_l, a_bank_l, b_bank_l, feed_l, preload_alone_l, conflict_feed_l, \
            mv_acc_bank_l, c_acc_bank_l
        yield from range(len(code_l))
        for g, piece in more:
            trace = piece
            code_l, q_l, pre_l, issue_l = g.code, g.queue, g.cpu_pre, g.cpu_issue
            first_l, last_l, mv_rows_l, bytes_l = g.first, g.last, g.mv_rows, g.dram_bytes
            zero_l, to_acc_l, mv_bank_l = g.zero, g.to_acc, g.mv_bank
            mv_acc_bank_l, c_acc_bank_l = g.mv_acc_bank, g.c_acc_bank
            af_l, al_l, df_l, dl_l = g.a_first, g.a_last, g.d_first, g.d_last
            cf_l, cl_l, pre_of_l = g.c_first, g.c_last, g.pre_of
            conflict_l, a_bank_l, b_bank_l = g.conflict, g.a_bank, g.b_bank
            feed_l, preload_alone_l, conflict_feed_l = g.feed, g.preload_alone, g.conflict_feed
            yield from range(len(code_l))

    for k in (rows() if more else range(len(code_l))):
        q = q_l[k]
        pre = pre_l[k]
        cpu_t += pre
        cpu_busy += pre + issue_l[k]
        if q == Q_NONE:                     # fence: wait until everything has completed
            cpu_t += issue_l[k]
            if all_done > cpu_t:
                cpu_stall += all_done - cpu_t
                trailing_wait += all_done - cpu_t
                cpu_t = all_done
            for h in rs:
                h.clear()
            continue
        if trailing_wait:
            fence_stall += trailing_wait
            trailing_wait = 0
        heap = rs[q]
        while heap and heap[0] <= cpu_t:
            heapq.heappop(heap)
        if len(heap) >= caps[q]:
            t_free = heapq.heappop(heap)
            cpu_stall += t_free - cpu_t
            cpu_t = t_free
            while heap and heap[0] <= cpu_t:
                heapq.heappop(heap)
        cpu_t += issue_l[k]
        s, done = step_of_code[code_l[k]](k, cpu_t)
        heapq.heappush(heap, done)
        if timeline is not None:
            timeline.append((k, cpu_t, s, done))
        if q == Q_EXEC and done > ex_done_all:
            ex_done_all = done
        if done > all_done:
            all_done = done
    cpu_t += trace.cpu_tail
    cpu_busy += trace.cpu_tail
    return _result(max(cpu_t, all_done), cpu_busy, ld_busy, ex_busy, st_busy, cpu_stall,
                   conflicts, stolen, exposed, fence_stall)


# ---- step 4: the result ----------------------------------------------------------------------

def _result(cycles, cpu_busy, ld_busy, ex_busy, st_busy, cpu_stall, conflicts, stolen,
            exposed, fence_stall=0) -> TimingResult:
    return TimingResult(
        cycles=int(cycles),
        busy={"cpu": int(cpu_busy), "load": int(ld_busy), "execute": int(ex_busy),
              "store": int(st_busy)},
        cpu_stall=int(cpu_stall), bank_conflicts=conflicts, stolen_cycles=int(stolen),
        exposed_preloads=exposed, fence_stall=int(fence_stall))
