"""Cycle model of Gemmini (gemmini.md section 4), one deterministic pass over a `Trace`.

Every instruction is scheduled when the CPU issues it, in program order:

* CPU: ``cpu_t`` advances by the scalar code before the instruction (`Trace.cpu_pre`)
  and by its issue cost; when the instruction's reservation-station queue (load 8,
  execute 16, store 4 entries) is full, the CPU stalls until the oldest entry
  *completes* (entries are freed at completion).
* Start = max(issue time, in-order constraint of its engine, hazards). Hazards are
  tracked per DIM-row block of local memory: an instruction waits for the
  *completion* of earlier instructions of other queues that write what it reads or
  writes (RAW, WAW) or read what it writes (WAR).
* Load engine: at most `max_mvins_in_flight` mvins; a DMA mvin's data arrives
  `mem_latency` after its start and then occupies the shared bus for
  bytes / `dma_bytes_per_cycle` cycles. Zero mvins write `zero_rows_per_cycle` rows
  per cycle without the bus.
* Execute engine: a compute feeds for `block_cycles` (x `bank_conflict_factor` when
  A and its new weights B sit in one scratchpad bank). A preload is hidden behind the
  previous compute when it was already queued before that compute ended; otherwise it
  costs `preload_cycles`. Results reach the accumulator `acc_writeback_latency` after
  the block starts (that is the compute's completion for hazards and the queue).
  Scratchpad banks are single ported and DMA writes win: every row an mvin writes
  into a bank while the execute engine works on that bank adds one cycle to it.
* Store engine: mvouts are serialized: scaling pipeline + rows (or bus cycles) + the
  DRAM acknowledgement.
* config_ex drains the execute pipeline; fence stalls the CPU until everything has
  completed; loop_ws waits for an idle accelerator and then runs its double-buffered
  tile at the pace of its busiest resource (`gemmini.loop_ws.cost`).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np

from gemmini import loop_ws as loop_ws_mod
from gemmini.config import ACC_BIT, GARBAGE_ADDR, ROW_MASK, GemminiConfig
from gemmini.moves import MovePlan
from gemmini.trace import (COMPUTE_A, COMPUTE_P, CONFIG_EX, CONFIG_LD, CONFIG_ST, FENCE, LOOP_WS,
                           MVIN, MVIN2, MVIN3, MVOUT, PRELOAD, Trace)

Q_LOAD, Q_EXEC, Q_STORE, Q_NONE = 0, 1, 2, 3
_QUEUE = {CONFIG_LD: Q_LOAD, MVIN: Q_LOAD, MVIN2: Q_LOAD, MVIN3: Q_LOAD,
          CONFIG_EX: Q_EXEC, PRELOAD: Q_EXEC, COMPUTE_P: Q_EXEC, COMPUTE_A: Q_EXEC,
          LOOP_WS: Q_EXEC, CONFIG_ST: Q_STORE, MVOUT: Q_STORE, FENCE: Q_NONE}


@dataclass
class TimingResult:
    """What the cycle model measured (all in cycles)."""
    cycles: int
    busy: dict                      # engine -> busy cycles: cpu, load, execute, store
    cpu_stall: int                  # CPU cycles lost waiting for a full queue or a fence
    bank_conflicts: int             # computes whose A and B share a scratchpad bank
    stolen_cycles: int              # execute cycles lost to DMA writes into its banks
    exposed_preloads: int           # preloads that could not hide behind a compute
    extra: dict = field(default_factory=dict)


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


def simulate(trace: Trace, cfg: GemminiConfig, plan: MovePlan,
             timeline: list | None = None) -> TimingResult:
    """Schedule every instruction of `trace` (see module docstring). With a ``timeline``
    list, each scheduled instruction appends (index, issue, start, completion)."""
    tp, dim = cfg.timing, cfg.dim
    n = len(trace)
    op = trace.op
    ints = trace.ints
    bank_rows = cfg.sp_bank_rows
    # ---- per-instruction facts, vectorized -------------------------------------------
    queue = np.full(n, Q_NONE, dtype=np.int64)
    for code, q in _QUEUE.items():
        queue[op == code] = q
    # main local range of moves / computes (A for computes, B for preloads)
    first, last = _block_ranges(cfg, ints[:, 1] if n else np.zeros(0, np.int64),
                                np.maximum(plan.span, 1))
    is_exec = (op == PRELOAD) | (op == COMPUTE_P) | (op == COMPUTE_A)
    ex_idx = np.flatnonzero(is_exec)
    pre_of = np.full(n, -1, dtype=np.int64)          # compute -> its preload row
    if len(ex_idx):
        is_pre = op[ex_idx] == PRELOAD
        last_pre = np.maximum.accumulate(np.where(is_pre, ex_idx, -1))
        pre_of[ex_idx[~is_pre]] = last_pre[~is_pre]
    a_first, a_last = _block_ranges(cfg, ints[:, 0], ints[:, 3])    # A of computes / B of preloads
    d_first, d_last = _block_ranges(cfg, ints[:, 1], ints[:, 5])    # D of computes
    c_first, c_last = _block_ranges(cfg, ints[:, 1], ints[:, 5])    # C of preloads
    pre_safe = np.maximum(pre_of, 0)
    a_row = ints[:, 0] & ROW_MASK
    a_sp = (ints[:, 0] != GARBAGE_ADDR) & ((ints[:, 0] & ACC_BIT) == 0)
    b_row = a_row[pre_safe]
    b_sp = a_sp[pre_safe] & (pre_of >= 0)
    a_bank = a_row // bank_rows
    b_bank = b_row // bank_rows
    conflict = (op == COMPUTE_P) & a_sp & b_sp & (a_bank == b_bank)
    mv_bank = (ints[:, 1] & ROW_MASK) // bank_rows
    mv_rows = np.where(plan.is_load, ints[:, 3] * plan.nblocks, ints[:, 3])

    L = lambda a: a.tolist()  # noqa: E731
    ops_l, q_l = L(op), L(queue)
    pre_l, issue_l = L(trace.cpu_pre), L(trace.cpu_issue)
    first_l, last_l = L(first), L(last)
    af_l, al_l, df_l, dl_l = L(a_first), L(a_last), L(d_first), L(d_last)
    cf_l, cl_l = L(c_first), L(c_last)
    pre_of_l = L(pre_of) + [-1]                   # index -1: "no preload" (empty C range)
    cf_l.append(-1)
    cl_l.append(-2)
    conflict_l = L(conflict)
    a_sp_l, a_bank_l, b_sp_l, b_bank_l = L(a_sp), L(a_bank), L(b_sp), L(b_bank)
    to_acc_l, mv_bank_l, mv_rows_l = L(plan.to_acc), L(mv_bank), L(mv_rows)
    bytes_l = L(plan.dram_bytes)
    zero_l = L(trace.dram < 0)

    nblk = cfg.sp_rows // dim + cfg.acc_rows // dim
    # completion times of the last writer / reader of each block, per queue
    w_done = [[0] * nblk for _ in range(3)]
    r_done = [[0] * nblk for _ in range(3)]
    w_ld, w_ex = w_done[Q_LOAD], w_done[Q_EXEC]
    r_ex, r_st = r_done[Q_EXEC], r_done[Q_STORE]
    caps = (tp.rs_load, tp.rs_execute, tp.rs_store)
    rs = ([], [], [])                                   # heaps of completion times
    cpu_t = 0
    cpu_busy = 0
    cpu_stall = 0
    all_done = 0
    # load engine
    ld_last_start = 0
    bus_free = 0
    inflight: list[int] = []
    ld_busy = 0
    # execute engine
    ex_free = 0
    ex_done_all = 0
    prev_compute_end = -1
    prev_was_compute = False
    ex_busy = 0
    n_banks = cfg.sp_banks
    ex_bank_busy = [0] * n_banks
    bank_windows: list[list] = [[] for _ in range(n_banks)]
    stolen = 0
    conflicts = 0
    exposed = 0
    # store engine
    st_free = 0
    st_busy = 0
    block_cycles, preload_cycles = tp.block_cycles, tp.preload_cycles
    conflict_cycles = int(round(block_cycles * tp.bank_conflict_factor))
    wb_lat = tp.acc_writeback_latency
    bw = tp.dma_bytes_per_cycle
    max_inflight = tp.max_mvins_in_flight
    mem_lat = tp.mem_latency

    for k in range(n):
        o = ops_l[k]
        q = q_l[k]
        pre = pre_l[k]
        cpu_t += pre
        cpu_busy += pre + issue_l[k]
        if q == Q_NONE:                     # fence
            cpu_t += issue_l[k]
            if all_done > cpu_t:
                cpu_stall += all_done - cpu_t
                cpu_t = all_done
            for h in rs:
                h.clear()
            continue
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
        ready = cpu_t

        if q == Q_LOAD:
            if o == CONFIG_LD:
                s = ready if ready > ld_last_start else ld_last_start
                done = s + tp.config_cycles
                ld_last_start = s
            else:
                f, la = first_l[k], last_l[k]
                s = ready if ready > ld_last_start else ld_last_start
                for b in range(f, la + 1):
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
                wl = w_done[Q_LOAD]
                for b in range(f, la + 1):
                    if wl[b] < done:
                        wl[b] = done
                if not to_acc_l[k]:         # DMA / zero writes take bank read cycles
                    bank = mv_bank_l[k]
                    if ex_bank_busy[bank] > w0:
                        ex_free += rows
                        ex_bank_busy[bank] += rows
                        stolen += rows
                    else:
                        bank_windows[bank].append((w0, done, rows))
        elif q == Q_EXEC:
            if o == PRELOAD:
                s = ex_free
                af, al = af_l[k], al_l[k]
                for qq in (Q_LOAD,):
                    wd = w_done[qq]
                    for b in range(af, al + 1):
                        if wd[b] > s:
                            s = wd[b]
                if ready > s:
                    s = ready
                if prev_was_compute and s <= prev_compute_end:
                    dur = 0
                else:
                    dur = preload_cycles
                    exposed += 1
                done = s + dur
                ex_free = done
                ex_busy += dur
                if a_sp_l[k]:
                    bb = a_bank_l[k]
                    if ex_bank_busy[bb] < done:
                        ex_bank_busy[bb] = done
                rl = r_done[Q_EXEC]
                for b in range(af, al + 1):
                    if rl[b] < done:
                        rl[b] = done
                prev_was_compute = False
            elif o == COMPUTE_P or o == COMPUTE_A:
                s = ready if ready > ex_free else ex_free
                af, al = af_l[k], al_l[k]
                for b in range(af, al + 1):
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
                    end = s + conflict_cycles
                    conflicts += 1
                else:
                    end = s + block_cycles
                # DMA writes already scheduled into the banks this compute reads
                bank_a = a_bank_l[k] if a_sp_l[k] else -1
                bank_b = b_bank_l[k] if (o == COMPUTE_P and b_sp_l[k]) else -1
                if bank_b == bank_a:
                    bank_b = -1
                for bank in (bank_a, bank_b):
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
            elif o == CONFIG_EX:
                s = max(ready, ex_free, ex_done_all)
                done = s + tp.config_ex_drain
                ex_free = done
                ex_busy += tp.config_ex_drain
                prev_was_compute = False
            else:                               # loop_ws: runs on an idle accelerator
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
            if done > ex_done_all:
                ex_done_all = done
        else:                                   # store queue
            if o == CONFIG_ST:
                s = ready if ready > st_free else st_free
                done = s + tp.config_cycles
                st_free = done
            else:
                s = ready if ready > st_free else st_free
                f, la = first_l[k], last_l[k]
                for qq in (Q_LOAD, Q_EXEC):
                    wd = w_done[qq]
                    for b in range(f, la + 1):
                        if wd[b] > s:
                            s = wd[b]
                rows = mv_rows_l[k]
                work = max(-(-rows // tp.store_rows_per_cycle), -(-bytes_l[k] // bw))
                dur = tp.store_pipeline + work
                st_busy += dur
                done = s + dur + tp.store_ack_latency
                st_free = done
                rl = r_done[Q_STORE]
                for b in range(f, la + 1):
                    if rl[b] < done:
                        rl[b] = done
        heapq.heappush(heap, done)
        if timeline is not None:
            timeline.append((k, ready, s, done))
        if done > all_done:
            all_done = done

    cpu_t += trace.cpu_tail
    cpu_busy += trace.cpu_tail
    cycles = max(cpu_t, all_done)
    return TimingResult(
        cycles=int(cycles),
        busy={"cpu": int(cpu_busy), "load": int(ld_busy), "execute": int(ex_busy),
              "store": int(st_busy)},
        cpu_stall=int(cpu_stall), bank_conflicts=conflicts, stolen_cycles=int(stolen),
        exposed_preloads=exposed)
