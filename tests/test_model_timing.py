"""Timing-model properties that hold by construction (no calibrated numbers)."""

import dataclasses

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from gemmini import model
from gemmini.config import get_config
from benchmarks.sample_programs import basic_gemm
from gemmini import ir
from tests.model_helpers import (ACC, ACCUMULATE, GARBAGE, I, add, config_ex, config_ld, config_st,
                                 dram, fn, loop, mul)


def gemm_inputs(M, N, K, seed=0):
    rng = np.random.default_rng(seed)
    return dict(A=rng.integers(-128, 128, (M, K), dtype=np.int8),
                B=rng.integers(-128, 128, (K, N), dtype=np.int8),
                scale=np.float32(1 / 512), act=False)


def report(f, inputs, config=None):
    return model.run(f, inputs, config).report


def with_fences(stmts):
    out = []
    for s in stmts:
        if isinstance(s, ir.For):
            out.append(dataclasses.replace(s, body=tuple(with_fences(s.body))))
        elif isinstance(s, ir.Instr):
            out += [s, ir.Instr("fence", ())]
        else:
            out.append(s)
    return out


def test_fully_serialized_program_takes_at_least_the_sum_of_its_parts():
    f = basic_gemm(32, 64, 128)
    fenced = dataclasses.replace(f, body=tuple(with_fences(f.body)))
    inputs = gemm_inputs(32, 64, 128)
    r, rf = report(f, inputs), report(fenced, inputs)
    engines = rf.busy["load"] + rf.busy["execute"] + rf.busy["store"]
    assert rf.cycles >= engines
    assert rf.cycles >= rf.busy["cpu"]
    assert rf.cycles > r.cycles
    assert model.run(fenced, inputs).outputs["C"].tolist() == \
        model.run(f, inputs).outputs["C"].tolist()


def tiles_program(double: bool, tiles: int = 6):
    """Per tile: A 16x64 and B 64x64 in, 16 blocks computed into 4 acc blocks, 4 mvouts."""
    t = ir.Var("t")
    buf = mul(ir.BinOp("%", t, ir.Const(2)), 4096 + 320) if double else ir.Const(0)
    res = add(ACC, mul(ir.BinOp("%", t, ir.Const(2)), 64)) if double else ir.Const(ACC)
    body = (
        ir.Decl("a", "uint32_t", buf), ir.Decl("b", "uint32_t", add(buf, 64)),
        ir.Decl("res", "uint32_t", res),
        loop("j", 4, I("mvin", 0, add("res", mul("j", 16)), 16, 16)),
        I("mvin2", dram("A", mul(t, 16 * 64)), "a", 64, 16),
        loop("k", 4, I("mvin3", dram("B", mul("k", 16 * 64)), add("b", mul("k", 64)), 64, 16)),
        loop("k", 4, loop("j", 4,
                          I("preload", add("b", add(mul("k", 64), mul("j", 16))),
                            ir.BinOp("|", add("res", mul("j", 16)), ir.Const(ACCUMULATE)),
                            16, 16, 16, 16),
                          I("compute_preloaded", add("a", mul("k", 16)), GARBAGE,
                            16, 16, 16, 16))),
        loop("j", 4, I("mvout", dram("C", add(mul(t, 16 * 64), mul("j", 16))),
                       add("res", mul("j", 16)), 16, 16)),
    )
    return fn([("A", "i8", (16 * tiles, 64), True), ("B", "i8", (64, 64), True),
               ("C", "i8", (16 * tiles, 64), False)],
              config_st(64, 0, 1 / 512), config_ex(), config_ld(0),
              config_ld(64, ld_id=1), config_ld(64, ld_id=2),
              loop("t", tiles, *body))


def test_double_buffering_is_faster_and_computes_the_same():
    rng = np.random.default_rng(3)
    inputs = dict(A=rng.integers(-128, 128, (96, 64), dtype=np.int8),
                  B=rng.integers(-128, 128, (64, 64), dtype=np.int8))
    single, double = model.run(tiles_program(False), inputs), model.run(tiles_program(True), inputs)
    np.testing.assert_array_equal(single.outputs["C"], double.outputs["C"])
    assert double.report.cycles < single.report.cycles


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=st.sampled_from([16, 32, 48]), n=st.sampled_from([64, 128]),
       k=st.sampled_from([64, 128]), cpu_issue=st.integers(0, 20),
       loop_iter=st.integers(0, 4), mem_latency=st.integers(0, 200),
       rs=st.integers(1, 20), conflict=st.floats(1.0, 3.0), wb=st.integers(0, 100),
       store_ack=st.integers(0, 60), double=st.booleans())
def test_utilization_never_exceeds_one(m, n, k, cpu_issue, loop_iter, mem_latency, rs, conflict,
                                       wb, store_ack, double):
    cfg = get_config().with_timing(cpu_issue=cpu_issue, cpu_loop_iter=loop_iter,
                                   mem_latency=mem_latency, rs_load=rs, rs_execute=rs,
                                   rs_store=rs, bank_conflict_factor=conflict,
                                   acc_writeback_latency=wb, store_ack_latency=store_ack)
    if double:
        rng = np.random.default_rng(m)
        r = model.run(tiles_program(True, m // 16),
                      dict(A=rng.integers(-128, 128, (m, 64), dtype=np.int8),
                           B=rng.integers(-128, 128, (64, 64), dtype=np.int8)), cfg).report
    else:
        r = report(basic_gemm(m, n, k), gemm_inputs(m, n, k), cfg)
    assert r.ideal_cycles <= r.cycles
    assert 0 < r.utilization <= 1
    assert r.busy["execute"] >= r.ideal_cycles
    assert all(v <= r.cycles for v in r.busy.values())


def many_loads(n=32):
    return fn([("A", "i8", (16, 64), True), ("OUT", "i8", (16, 16), False)],
              config_ld(64),
              loop("i", n, I("mvin", dram("A", 0), mul("i", 64), 64, 16)))


def test_full_load_queue_stalls_the_cpu():
    inputs = {"A": np.ones((16, 64), np.int8)}
    small = report(many_loads(), inputs, get_config().with_timing(rs_load=8))
    large = report(many_loads(), inputs, get_config().with_timing(rs_load=64))
    assert small.cpu_stall > 0
    assert large.cpu_stall == 0
    assert small.cycles >= large.cycles


def compute_program(b_row: int, load_row: int | None = None, blocks: int = 32):
    """A at row 0 (bank 0), B at b_row; optional unrelated loads into load_row meanwhile."""
    body = [config_ld(16), config_ex(), config_st(16),
            I("mvin", dram("A", 0), 0, 16, 16), I("mvin", dram("A", 0), b_row, 16, 16),
            I("mvin", 0, ACC, 16, 16)]
    inner = [I("preload", b_row, ACC | ACCUMULATE, 16, 16, 16, 16),
             I("compute_preloaded", 0, GARBAGE, 16, 16, 16, 16)]
    if load_row is not None:
        inner.append(I("mvin", dram("A", 0), add(load_row, mul("i", 16)), 16, 16))
    body.append(loop("i", blocks, *inner))
    body.append(I("mvout", dram("OUT", 0), ACC, 16, 16))
    return fn([("A", "i8", (16, 16), True), ("OUT", "i8", (16, 16), False)], *body)


def test_bank_conflict_is_slower_than_no_conflict():
    inputs = {"A": np.ones((16, 16), np.int8)}
    same, other = report(compute_program(16), inputs), report(compute_program(4096), inputs)
    assert same.bank_conflicts == 32 and other.bank_conflicts == 0
    assert same.busy["execute"] > other.busy["execute"]
    assert same.cycles > other.cycles


def test_loads_into_the_bank_being_computed_on_are_slower():
    inputs = {"A": np.ones((16, 16), np.int8)}
    # a fast CPU and a short memory latency, so the loads overlap the computes and the
    # stolen read cycles are what separates the two (independent of the calibration)
    cfg = get_config().with_timing(cpu_issue=1, cpu_arith_op=0, cpu_loop_iter=0, mem_latency=20)
    same = report(compute_program(4096, load_row=1024), inputs, cfg)      # bank 0, as A
    other = report(compute_program(4096, load_row=8192), inputs, cfg)     # bank 2
    assert same.stolen_cycles > 0 and other.stolen_cycles == 0
    assert same.busy["execute"] > other.busy["execute"]
    assert same.cycles > other.cycles


def test_simpler_address_arithmetic_costs_fewer_cpu_cycles():
    def prog(expr):
        return fn([("A", "i8", (16, 64), True), ("OUT", "i8", (16, 16), False)], config_ld(64),
                  loop("i", 16, I("mvin", dram("A", 0), expr, 16, 16)))
    plain = prog(mul("i", 16))
    clumsy = prog(add(ir.BinOp("/", mul(mul("i", 256), 1), ir.Const(16)), 0))
    inputs = {"A": np.ones((16, 64), np.int8)}
    assert report(clumsy, inputs).busy["cpu"] > report(plain, inputs).busy["cpu"]


def test_exposed_preload_costs_more_than_overlapped():
    inputs = {"A": np.ones((16, 16), np.int8)}
    f = compute_program(4096)
    fenced = dataclasses.replace(f, body=tuple(with_fences(f.body)))
    r, rf = report(f, inputs), report(fenced, inputs)
    assert rf.exposed_preloads > r.exposed_preloads
    assert rf.busy["execute"] > r.busy["execute"]


def test_timing_is_deterministic_and_report_is_complete():
    inputs = gemm_inputs(32, 64, 64)
    r1, r2 = report(basic_gemm(32, 64, 64), inputs), report(basic_gemm(32, 64, 64), inputs)
    assert r1 == r2
    assert r1.ideal_cycles == 32 * 64 * 64 / 256
    assert r1.counts["preload"] == r1.counts["compute_preloaded"] == 32
    assert r1.counts["mvin_zero"] == 8 and r1.counts["mvin2"] == 2 and r1.counts["mvin3"] == 8
    assert r1.counts["mvin_data"] == 10 and r1.counts["mvout"] == 8
    assert r1.instructions == sum(r1.counts[k] for k in
                                  ("config_ex", "config_ld", "config_st", "mvin", "mvin2",
                                   "mvin3", "mvout", "preload", "compute_preloaded",
                                   "compute_accumulated", "fence", "loop_ws"))
    # A: 64 rows, B: 256 rows of 16 B; accumulator: 64 rows of 64 B
    assert r1.sp_kib_used == 5.0 and r1.acc_kib_used == 4.0
    assert r1.sp_kib_total == 256 and r1.acc_kib_total == 64
    assert r1.bound in ("cpu", "load", "execute", "store", "latency")
    fb = r1.to_feedback()
    assert fb["cycles"] == r1.cycles and fb["bound_by"] == r1.bound


def test_loop_ws_runs_near_peak():
    M = N = K = 256
    rng = np.random.default_rng(5)
    A = rng.integers(-128, 128, (M, K), dtype=np.int8)
    B = rng.integers(-128, 128, (K, N), dtype=np.int8)
    f = fn([("A", "i8", (M, K), True), ("B", "i8", (K, N), True), ("C", "i8", (M, N), False)],
           config_st(N, 0, 1 / 4096),
           loop("i", 4, loop("j", 4,
                I("loop_ws", 4, 4, 16, 0, 0, 0, dram("A", mul("i", 64 * K)),
                  dram("B", mul("j", 64)), 0, dram("C", add(mul("i", 64 * N), mul("j", 64))),
                  K, N, 0, N, 0, 0, 0, 0, 0, 0))))
    r = model.run(f, dict(A=A, B=B))
    acc = (A.astype(np.int64) @ B).astype(np.int32)
    want = np.clip(np.rint(acc.astype(np.float32) * np.float32(1 / 4096)), -128, 127)
    np.testing.assert_array_equal(r.outputs["C"], want.astype(np.int8))
    assert r.report.utilization > 0.8


def test_timeline_lists_every_instruction_in_issue_order():
    from gemmini.functional import Machine
    from gemmini.model import _bind_arrays
    from gemmini.timing import simulate
    from gemmini.trace import FENCE, build_trace
    f = basic_gemm(32, 64, 128)
    inputs = gemm_inputs(32, 64, 128)
    cfg = get_config()
    trace = build_trace(f, inputs, cfg)
    m = Machine(cfg, trace, _bind_arrays(f, inputs))
    m.run()
    tl = []
    result = simulate(trace, cfg, m.plan, tl)
    assert [k for k, *_ in tl] == [k for k in range(len(trace)) if trace.op[k] != FENCE]
    issues = [t[1] for t in tl]
    assert issues == sorted(issues)                       # the CPU issues in program order
    assert all(issue <= start <= done for _, issue, start, done in tl)
    assert max(done for *_, done in tl) <= result.cycles
    assert result.cycles == report(f, inputs).cycles      # recording changes nothing


def acc_program(move: str, acc_row: int, blocks: int = 16):
    """Computes into accumulator row 0 (bank 0), with one 16-row zero mvin into, or mvout
    from, accumulator row ``acc_row`` (bank 0 below row 512, bank 1 from it) between them."""
    computes = loop("i", blocks, I("preload", 4096, ACC | ACCUMULATE, 16, 16, 16, 16),
                    I("compute_preloaded", 0, GARBAGE, 16, 16, 16, 16))
    body = [config_ld(16), config_ex(), config_st(16),
            I("mvin", 0, ACC, 16, 16), I("mvin", 0, ACC | acc_row, 16, 16),   # zeros first
            I("mvin", dram("A", 0), 0, 16, 16), I("mvin", dram("A", 0), 4096, 16, 16),
            computes,
            I("mvin", 0, ACC | acc_row, 16, 16) if move == "zero"
            else I("mvout", dram("OUT", 0), ACC | acc_row, 16, 16),
            computes]
    return fn([("A", "i8", (16, 16), True), ("OUT", "i8", (16, 16), False)], *body)


def test_accumulator_port_contention_costs_a_cycle_per_row_in_the_computed_bank():
    inputs = {"A": np.ones((16, 16), np.int8)}
    # fast CPU: the move is issued while the computes into accumulator bank 0 still run
    fast = dict(cpu_issue=1, cpu_arith_op=0, cpu_loop_iter=0)
    off = get_config().with_timing(acc_port_contention=False, **fast)
    on = get_config().with_timing(acc_port_contention=True, **fast)
    for move in ("zero", "mvout"):
        same, other = report(acc_program(move, 256), inputs, on), \
            report(acc_program(move, 512), inputs, on)
        # the 16 rows through bank 0's port take 16 of the execute engine's cycles there;
        # bank 1's port is free
        assert same.stolen_cycles - other.stolen_cycles == 16, move
        # execute-bound: at least those cycles show (the model's stealing between two
        # computes also exposes the next preload, as for scratchpad banks)
        assert same.cycles - other.cycles >= 16, move
        # off: the accumulator banks cost nothing
        assert report(acc_program(move, 256), inputs, off).cycles == \
            report(acc_program(move, 512), inputs, off).cycles, move


ONE_TRIP = """
void k(const float u[4][4], float y[4][4], float z[4][4]) {
  config_ld(16, 1.0f, 0);
  config_st(16, 0, 1.0f);
  mvin(&u[0][0], 0x80000000, 4, 4);
  mvout(&y[0][0], 0x80000000, 4, 4);
  fence();
TAIL}
"""


def test_a_fence_wait_counts_as_a_fence_stall_only_when_work_follows_it():
    """The first program ends at its fence: the wait is a stall but not a fence stall
    (nothing could overlap it). The second goes on after that same fence, so its fence
    stall is exactly the first program's wait; its own last fence again does not count."""
    from lowering.parser import parse_c
    cfg = get_config("fp32_4")
    inputs = {"u": np.ones((4, 4), np.float32), "y": np.zeros((4, 4), np.float32),
              "z": np.zeros((4, 4), np.float32)}
    ends = report(parse_c(ONE_TRIP.replace("TAIL", "")), inputs, cfg)
    goes_on = report(parse_c(ONE_TRIP.replace(
        "TAIL", "  mvin(&y[0][0], 0x80000004, 4, 4);\n  mvout(&z[0][0], 0x80000004, 4, 4);\n"
                "  fence();\n")), inputs, cfg)
    assert ends.cpu_stall > 0 and ends.fence_stall == 0
    assert goes_on.fence_stall == ends.cpu_stall
    assert goes_on.cpu_stall > goes_on.fence_stall
