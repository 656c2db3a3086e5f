"""drop_fence: a fence goes (or moves after its loop) only when no DRAM round trip needs
it. Expectations are worked out by hand from the moves' byte ranges, and the model's own
ordering check (`gemmini.dram_order`) is the independent oracle for the refusals."""

import numpy as np
import pytest

from autocomp_exo.transforms import registry
from autocomp_exo.transforms.base import Application, NotApplicable
from gemmini import model
from gemmini.config import get_config
from gemmini.errors import HardwareError
from gemmini.ir import Instr, walk_stmts
from lowering.parser import parse_c

CFG = get_config("fp32_4")

ROUND_TRIP = """
void k(const float u[8][4], float y[8][4], float z[8][4]) {
  config_ld(16, 1.0f, 0);
  config_st(16, 0, 1.0f);
  for (int s = 0; s < 8; s++) {
    mvin(&u[s][0], 0x80000000 + s, 4, 1);
    mvout(&y[s][0], 0x80000000 + s, 4, 1);
    fence();
    mvin(&y[s][0], 0x80000008 + s, 4, 1);
    mvout(&z[s][0], 0x80000008 + s, 4, 1);
    fence();
  }
}
"""


def drop(fn, site, where=0):
    return registry.apply(fn, Application("drop_fence", site, (("where", where),)), CFG)


def fences(fn):
    return [s for s in walk_stmts(fn.body) if isinstance(s, Instr) and s.op == "fence"]


def run(fn):
    u = np.arange(32, dtype=np.float32).reshape(8, 4) - 7.5
    inputs = {"u": u, "y": np.zeros((8, 4), np.float32), "z": np.zeros((8, 4), np.float32)}
    return u, model.run(fn, inputs, CFG, timing=False).outputs


def test_a_fence_before_a_load_of_stored_bytes_stays():
    fn = parse_c(ROUND_TRIP)
    for where in (0, 1):
        with pytest.raises(NotApplicable, match="orders"):
            drop(fn, (2, 2), where)
    # the oracle agrees: without that fence the model refuses the program
    with pytest.raises(HardwareError, match="reads 'y' bytes"):
        run(registry.normalize(parse_c(ROUND_TRIP.replace("fence();", "", 1))))


def test_a_fence_that_only_guards_the_return_moves_after_the_loop():
    """z[s] is read by nobody inside the loop (the next iteration loads u[s+1], y[s+1]),
    only by the caller: one fence after the loop serves every iteration; dropping it
    outright is refused."""
    fn = parse_c(ROUND_TRIP)
    with pytest.raises(NotApplicable):
        drop(fn, (2, 5), 0)
    new = drop(fn, (2, 5), 1)
    assert len(fences(new)) == 2 and new.body[-1].op == "fence"
    assert len(new.body[2].body) == 5
    u, out = run(new)
    np.testing.assert_array_equal(out["y"], u)
    np.testing.assert_array_equal(out["z"], u)


@pytest.mark.parametrize("row, ok", [(1, True), (0, False)])
def test_the_check_is_precise_to_the_bytes_of_a_row(row, ok):
    fn = parse_c(f"""
void k(const float u[8][4], float y[8][4], float z[8][4]) {{
  config_ld(16, 1.0f, 0);
  config_st(16, 0, 1.0f);
  mvin(&u[0][0], 0x80000000, 4, 1);
  mvout(&y[0][0], 0x80000000, 4, 1);
  fence();
  mvin(&y[{row}][0], 0x80000001, 4, 1);
  mvout(&z[0][0], 0x80000001, 4, 1);
  fence();
}}
""")
    if ok:
        new = drop(fn, (4,))
        assert len(fences(new)) == 1
        u, out = run(new)                      # the model's ordering check accepts it
        np.testing.assert_array_equal(out["y"][0], u[0])
    else:
        with pytest.raises(NotApplicable):
            drop(fn, (4,))


@pytest.mark.parametrize("src, ok", [("0x80000000", True), ("0x80000001", False)])
def test_a_store_over_loaded_bytes_needs_the_fence_unless_it_stores_what_was_loaded(src, ok):
    """mvin y[0] then mvout to y[0]: the store may land before the load reads, unless the
    store reads the rows the load wrote (then it waits for the load anyway)."""
    fn = parse_c(f"""
void k(const float u[8][4], float y[8][4], float z[8][4]) {{
  config_ld(16, 1.0f, 0);
  config_st(16, 0, 1.0f);
  mvin(&u[1][0], 0x80000001, 4, 1);
  mvin(&y[0][0], 0x80000000, 4, 1);
  fence();
  mvout(&y[0][0], {src}, 4, 1);
  fence();
}}
""")
    if ok:
        assert len(fences(drop(fn, (4,)))) == 1
    else:
        with pytest.raises(NotApplicable):
            drop(fn, (4,))


def test_find_offers_every_fence_and_each_enclosing_loop():
    fn = parse_c(ROUND_TRIP)
    apps = registry.applications(fn, CFG, ["drop_fence"])
    assert sorted((a.site, a.p["where"]) for a in apps) == [
        ((2, 2), 0), ((2, 2), 1), ((2, 5), 0), ((2, 5), 1)]


def test_the_tinympc_admm_kernel_loses_the_fences_that_guard_nothing():
    """Straightforward ADMM: the fence between loading and storing y (the store reads the
    rows the loads summed) and the one after storing y (nothing reads y[s] again) go; the
    one after the loop's last store moves after the loop. The model agrees on each."""
    from autocomp_exo.evaluation import ModelEvaluator
    from lowering.exo_to_c import compile_proc
    from lowering.suite import by_name
    from lowering.workload import Workload
    w = Workload.from_spec(by_name("tinympc_admm"))
    fn = parse_c(compile_proc(w.mapped).c_text)
    ok = []
    for a in registry.applications(fn, CFG, ["drop_fence"]):
        try:
            ok.append((a, registry.apply(fn, a, CFG)))
        except NotApplicable:
            pass
    assert sorted((a.p["where"], a.site[-1]) for a, _ in ok) == [(0, 28), (0, 31), (1, 28),
                                                                 (1, 31), (1, 61)]
    ev = ModelEvaluator.for_workload(w, "fp32_4", kinds=("nominal", "box"))
    start = ev.evaluate(fn).cycles
    for _, new in ok:
        r = ev.evaluate(new)
        assert r.ok and r.cycles < start


TWO_TRIPS = """
void k(const float u[8][4], float a[8][4], float b[8][4], float c[8][4]) {
  config_ld(16, 1.0f, 0);
  config_st(16, 0, 1.0f);
  for (int s = 0; s < 8; s++) {
    mvin(&u[s][0], 0x80000000, 4, 1);
    mvout(&a[s][0], 0x80000000, 4, 1);
    fence();
    mvin(&a[s][0], 0x80000001, 4, 1);
    mvout(&b[s][0], 0x80000001, 4, 1);
    mvin(&SRC[s][0], 0x80000002, 4, 1);
    mvout(&c[s][0], 0x80000002, 4, 1);
    fence();
  }
}
"""


def merge(fn, site):
    return registry.apply(fn, Application("merge_fences", site), CFG)


def test_work_that_needs_no_fence_moves_before_it_and_one_fence_serves_both():
    """The c round trip does not read a: it moves before the first fence, which goes; the
    b part follows the second fence; its last stores get one fence before the return."""
    fn = parse_c(TWO_TRIPS.replace("SRC", "u"))
    new = merge(fn, (2, 2))
    loop = new.body[2]
    assert [x.op for x in loop.body] == ["mvin", "mvout", "mvin", "mvout", "fence", "mvin",
                                         "mvout"]
    assert new.body[-1].op == "fence" and len(fences(new)) == 2
    u = np.arange(32, dtype=np.float32).reshape(8, 4) * 0.25
    zeros = {n: np.zeros((8, 4), np.float32) for n in "abc"}
    out = model.run(new, {"u": u, **zeros}, CFG, timing=False).outputs   # ordering check
    for n in "abc":
        np.testing.assert_array_equal(out[n], u)
    with pytest.raises(NotApplicable):        # the last fence has no later one
        merge(fn, (2, 7))


def test_work_that_reads_what_the_fence_guards_does_not_move():
    fn = parse_c(TWO_TRIPS.replace("SRC", "a"))
    with pytest.raises(NotApplicable, match="both kinds"):
        merge(fn, (2, 2))


CONFIG_CHAIN = """
void k(const float u[8][4], float a[8][4], float b[8][4], float c[8][4]) {
  config_st(16, 0, 1.0f);
  for (int s = 0; s < 8; s++) {
    config_ld(16, 1.0f, 0);
    mvin(&u[s][0], 0x80000000, 4, 1);
    mvout(&a[s][0], 0x80000000, 4, 1);
    fence();
    mvin(&a[s][0], 0x80000001, 4, 1);
    mvout(&b[s][0], 0x80000001, 4, 1);
    config_ld(16, -1.0f, 0);
    mvin(&u[s][0], 0x80000002, 4, 1);
    mvout(&c[s][0], 0x80000002, 4, 1);
    fence();
  }
}
"""


def test_a_load_configuration_the_moved_work_overwrites_is_issued_again_after_the_fence():
    """The c part reconfigures load state 0 (scale -1) that the a round trip's mvin reads.
    It still moves before the fence: the work after it issues the configuration it saw
    (scale 1) again, and the block's last one (scale -1) after it."""
    fn = parse_c(CONFIG_CHAIN)
    new = merge(fn, (1, 3))
    loop = new.body[1]
    assert [x.op for x in loop.body] == ["config_ld", "mvin", "mvout", "config_ld", "mvin",
                                         "mvout", "fence", "config_ld", "mvin", "mvout",
                                         "config_ld"]
    assert [float(x.args[1].value) for x in loop.body if x.op == "config_ld"] == \
        [1.0, -1.0, 1.0, -1.0]
    u = np.arange(32, dtype=np.float32).reshape(8, 4) * 0.25
    zeros = {n: np.zeros((8, 4), np.float32) for n in "abc"}
    out = model.run(new, {"u": u, **zeros}, CFG, timing=False).outputs
    np.testing.assert_array_equal(out["a"], u)
    np.testing.assert_array_equal(out["b"], u)
    np.testing.assert_array_equal(out["c"], -u)


PHASES = """
void k(const float u[8][4], float a[8][4], float b[8][4]) {
  config_ld(16, 1.0f, 0);
  config_st(16, 0, 1.0f);
  for (int s = 0; s < 8; s++) {
    mvin(&u[s][0], 0x80000000 + 4 * s, 4, 1);
    mvout(&a[s][0], 0x80000000 + 4 * s, 4, 1);
    fence();
    mvin(&a[SRC][0], 0x80000040 + 4 * s, 4, 1);
    mvout(&b[s][0], 0x80000040 + 4 * s, 4, 1);
  }
  fence();
}
"""


def fission(fn, site):
    return registry.apply(fn, Application("fission_fence", site), CFG)


def test_a_loop_splits_at_a_fence_when_no_later_iteration_meets_an_earlier_one():
    """Every a[s] is stored before the single fence and loaded after it; the b part of
    iteration s never meets the a part of a later one."""
    fn = parse_c(PHASES.replace("SRC", "s"))
    new = fission(fn, (2, 2))
    assert [type(x).__name__ for x in new.body[2:5]] == ["For", "Instr", "For"]
    assert len(fences(new)) == 2
    u = np.arange(32, dtype=np.float32).reshape(8, 4) - 3
    zeros = {n: np.zeros((8, 4), np.float32) for n in "ab"}
    out = model.run(new, {"u": u, **zeros}, CFG, timing=False).outputs
    np.testing.assert_array_equal(out["a"], u)
    np.testing.assert_array_equal(out["b"], u)


@pytest.mark.parametrize("text", [
    PHASES.replace("SRC", "7 - s"),          # iteration s reads a[7 - s]: not stored yet
    PHASES.replace("SRC", "s").replace("mvin(&a[s][0], 0x80000040 + 4 * s",
                                       "mvin(&a[s][0], 0xC0000004 + 4 * s"),
])                          # iteration s's b part accumulates into the rows of s + 1
def test_a_split_that_reorders_dependent_iterations_is_refused(text):
    with pytest.raises(NotApplicable):
        fission(parse_c(text), (2, 2))


def test_work_interleaved_with_what_needs_the_fence_is_sorted_out():
    """The c round trip's load sits between the a load and the b store: it still moves
    before the first fence, and the b part keeps its order after the second."""
    fn = parse_c(TWO_TRIPS.replace("SRC", "u").replace("""    mvout(&b[s][0], 0x80000001, 4, 1);
    mvin(&u[s][0], 0x80000002, 4, 1);""", """    mvin(&u[s][0], 0x80000002, 4, 1);
    mvout(&b[s][0], 0x80000001, 4, 1);"""))
    new = merge(fn, (2, 2))
    ops = [(x.op, x.args[0].array if x.args else None) for x in new.body[2].body]
    assert ops == [("mvin", "u"), ("mvout", "a"), ("mvin", "u"), ("mvout", "c"),
                   ("fence", None), ("mvin", "a"), ("mvout", "b")]


def test_move_up_does_not_carry_a_load_across_the_fence_that_orders_it():
    """In ROUND_TRIP the load of y[s] (site (2, 3)) follows the fence that orders it after
    the store of y[s]: moving it one place up would put it before that fence. The model's
    ordering check is the oracle: that program is refused on the hardware."""
    fn = parse_c(ROUND_TRIP)
    move = Application("move_up", (2, 3), (("up", 1),))
    with pytest.raises(NotApplicable, match="fence"):
        registry.apply(fn, move, CFG)
    swapped = ROUND_TRIP.replace(
        "    fence();\n    mvin(&y[s][0], 0x80000008 + s, 4, 1);\n",
        "    mvin(&y[s][0], 0x80000008 + s, 4, 1);\n    fence();\n")
    assert swapped != ROUND_TRIP
    with pytest.raises(HardwareError, match="reads 'y' bytes"):
        run(registry.normalize(parse_c(swapped)))


def test_move_up_may_pass_a_fence_that_orders_nothing_it_touches():
    """The load of u[s] does not read what the earlier stores wrote: moving it above the
    fence of the previous round trip is legal and the outputs stay the same."""
    src = ROUND_TRIP.replace(
        "    mvin(&y[s][0], 0x80000008 + s, 4, 1);\n",
        "    mvin(&y[s][0], 0x80000008 + s, 4, 1);\n    mvin(&u[s][0], 0x80000010 + s, 4, 1);\n")
    fn = parse_c(src)
    # site (2, 4) is the second load of u[s], just after the load of y[s]; up 2 passes the fence
    new = registry.apply(fn, Application("move_up", (2, 4), (("up", 2),)), CFG)
    assert new.body[2].body[2].op == "mvin" and new.body[2].body[3].op == "fence"
    u, out = run(new)
    np.testing.assert_array_equal(out["y"], u)
    np.testing.assert_array_equal(out["z"], u)

# y[s] goes round through DRAM into row 1; row 2 gets u[s] + v[s] without it
EARLY = """
void k(const float u[8][4], const float v[8][4], float y[8][4], float z[8][4],
       float w[8][4]) {
  config_ld(16, 1.0f, 0);
  config_st(16, 0, 1.0f);
  for (int s = 0; s < 8; s++) {
    mvin(&u[s][0], 0x80000000, 4, 1);
    mvout(&y[s][0], 0x80000000, 4, 1);
    fence();
    mvin(&y[s][0], 0x80000001, 4, 1);
    mvin(&u[s][0], 0x80000002, 4, 1);
    mvin(&v[s][0], 0xC0000002, 4, 1);
    mvout(&z[s][0], 0x80000001, 4, 1);
    mvout(&w[s][0], 0x80000002, 4, 1);
    fence();
  }
}
"""


def early(fn, site):
    return registry.apply(fn, Application("fence_early", site), CFG)


def test_work_that_needs_no_fence_is_issued_before_it():
    new = early(parse_c(EARLY), (2, 2))
    ops = [(x.op, x.args[0].array if x.args else None) for x in new.body[2].body]
    assert ops == [("mvin", "u"), ("mvout", "y"), ("mvin", "u"), ("mvin", "v"),
                   ("mvout", "w"), ("fence", None), ("mvin", "y"), ("mvout", "z"),
                   ("fence", None)]
    rng = np.random.default_rng(0)
    u, v = (rng.standard_normal((8, 4)).astype(np.float32) for _ in "uv")
    zeros = {n: np.zeros((8, 4), np.float32) for n in "yzw"}
    out = model.run(new, {"u": u, "v": v, **zeros}, CFG, timing=False).outputs
    np.testing.assert_array_equal(out["z"], u)
    np.testing.assert_array_equal(out["w"], u + v)


def test_a_store_over_bytes_the_guarded_load_reads_stays_after_the_fence():
    """After the fence y[s] is loaded back and then overwritten with v[s]: the load of
    v moves before the fence, the store of y must not (the load of y would read v)."""
    fn = parse_c(EARLY.replace("""    mvin(&u[s][0], 0x80000002, 4, 1);
    mvin(&v[s][0], 0xC0000002, 4, 1);
    mvout(&z[s][0], 0x80000001, 4, 1);
    mvout(&w[s][0], 0x80000002, 4, 1);""", """    mvin(&v[s][0], 0x80000002, 4, 1);
    mvout(&z[s][0], 0x80000001, 4, 1);
    mvout(&y[s][0], 0x80000002, 4, 1);"""))
    new = early(fn, (2, 2))
    ops = [(x.op, x.args[0].array if x.args else None) for x in new.body[2].body]
    assert ops.index(("mvout", "y"), 2) > ops.index(("fence", None))
    assert ops.index(("mvin", "v")) < ops.index(("fence", None))
    rng = np.random.default_rng(1)
    u, v = (rng.standard_normal((8, 4)).astype(np.float32) for _ in "uv")
    zeros = {n: np.zeros((8, 4), np.float32) for n in "yzw"}
    out = model.run(new, {"u": u, "v": v, **zeros}, CFG, timing=False).outputs
    np.testing.assert_array_equal(out["z"], u)
    np.testing.assert_array_equal(out["y"], v)


def test_all_work_needing_the_fence_is_refused():
    fn = parse_c(EARLY.replace("mvin(&u[s][0], 0x80000002, 4, 1);\n    mvin(&v[s][0], "
                               "0xC0000002", "mvin(&y[s][0], 0x80000002, 4, 1);\n    "
                               "mvin(&v[s][0], 0xC0000002"))
    with pytest.raises(NotApplicable, match="both kinds"):
        early(fn, (2, 2))
