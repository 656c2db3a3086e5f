"""Beam search on toy programs (search_fakes) with scripted proposers."""

import time

import pytest

from autocomp_exo.prompts.builder import load_menu
from autocomp_exo.proposers.base import Plan, Rewrite
from autocomp_exo.proposers.ensemble import EnsembleProposer, split
from autocomp_exo.search.beam import BeamSearch
from autocomp_exo.search.engine import InlineEngine, ProcessEngine
from autocomp_exo.search.service import EvalService
from autocomp_exo.settings import SearchSettings
from gemmini.errors import AutocompError
from search_fakes import DoublingProposer, ToyEvaluator, parse_toy, toy_code

MENU = load_menu("gemm")


def search(proposer, start=None, **kw):
    ev = ToyEvaluator()
    svc = EvalService(ev, InlineEngine(ev))
    s = SearchSettings(**{"iterations": 8, **kw})
    res = BeamSearch(proposer, svc, MENU, s).run_search(start or toy_code(tile=4, value=42))
    return res, svc


def test_reaches_the_limit_and_keeps_only_correct_faster_code():
    res, svc = search(DoublingProposer(("double", "wrong", "slower", "garbage", "none")),
                      impls_per_plan=5)
    # tile 4 -> 64 in four doublings; 128 breaks the hardware limit
    assert parse_toy(res.best.code)["tile"] == 64
    assert res.best.cycles == 10000 // 64
    assert res.trajectory[:5] == [2500, 1250, 625, 312, 156]
    assert [c.cycles for c in res.beam] == sorted(c.cycles for c in res.beam)
    for c in res.candidates.values():          # every accepted candidate is correct
        assert parse_toy(c.code)["value"] == 42
    keys = {m.key for m in load_menu("gemm")}
    assert len(res.recipe) == 4 and all(step["menu_item"] in keys for step in res.recipe)


def test_each_distinct_program_is_simulated_once():
    res, svc = search(DoublingProposer(("double", "double", "slower")), impls_per_plan=3)
    keys = [c.id for c in res.candidates.values()]
    assert len(keys) == len(set(keys))
    # distinct programs: tiles 4..128 (x pad variants); far fewer than samples
    assert svc.simulated < res.samples / 3


def test_beam_width_and_early_stop():
    res, _ = search(DoublingProposer(("double", "slower")), beam_width=2, impls_per_plan=2,
                    patience=2, iterations=20)
    assert len(res.beam) <= 2
    assert res.stop_reason.startswith("no improvement in 2")
    assert res.iterations == 6                   # 4 improving + 2 stale


def test_sample_budget_stops_cleanly():
    res, _ = search(DoublingProposer(("double",)), max_samples=5, plans_per_candidate=4,
                    impls_per_plan=2)
    assert res.samples == 5 and res.stop_reason == "sample budget"
    assert res.best.cycles < res.start.cycles


def test_wall_clock_budget():
    class Slow(DoublingProposer):
        def implement(self, *a, **kw):
            time.sleep(0.3)
            return super().implement(*a, **kw)
    res, _ = search(Slow(), max_seconds=0.2, plans_per_candidate=1, impls_per_plan=1)
    assert res.stop_reason == "time budget" and res.iterations == 1


def test_incorrect_start_is_an_error():
    with pytest.raises(AutocompError, match="starting code is not correct"):
        search(DoublingProposer(), start=toy_code(tile=4, value=1))


def test_deterministic_for_a_seed():
    a, _ = search(DoublingProposer(("double", "slower")), seed=5)
    b, _ = search(DoublingProposer(("double", "slower")), seed=5)
    assert a.trajectory == b.trajectory and a.recipe == b.recipe


def test_proposer_exceptions_lose_only_their_samples():
    class Flaky(DoublingProposer):
        def plan(self, candidate, *a, **kw):
            if parse_toy(candidate.code)["tile"] == 8:
                raise RuntimeError("model fell over")
            return super().plan(candidate, *a, **kw)
    res, _ = search(Flaky(), beam_width=1)
    assert res.best.cycles == 10000 // 8        # stuck at tile 8 but finished


def test_repair_is_tried_once():
    class Repairing(DoublingProposer):
        repairs = 0

        def repair(self, candidate, plan, rewrite, error, *, seed):
            Repairing.repairs += 1
            assert error.startswith("parse:")
            v = parse_toy(candidate.code)
            return Rewrite(self.name, toy_code(tile=v["tile"] * 2, value=42))
    res, _ = search(Repairing(("garbage",)), impls_per_plan=1, plans_per_candidate=1,
                    repair_attempts=1)
    assert parse_toy(res.best.code)["tile"] == 64 and Repairing.repairs >= 4
    res, _ = search(Repairing(("garbage",)), impls_per_plan=1, plans_per_candidate=1,
                    repair_attempts=0)
    assert res.best.cycles == res.start.cycles


def test_ensemble_split_is_even_and_seeded():
    assert split(4, 2, 0) == [2, 2] and split(3, 2, 0) == [2, 1] and split(3, 2, 1) == [1, 2]
    totals = [0, 0, 0]
    for seed in range(30):
        for i, n in enumerate(split(2, 3, seed)):
            totals[i] += n
    assert totals == [20, 20, 20]


class Named(DoublingProposer):
    def __init__(self, name, **kw):
        super().__init__(**kw)
        self.name = name
        self.plans_asked = self.impls_asked = 0

    def plan(self, candidate, menu, n, **kw):
        self.plans_asked += n
        plans = super().plan(candidate, menu, n, **kw)
        return [Plan(p.menu_item, p.text, self.name) for p in plans]

    def implement(self, candidate, plan, k, **kw):
        self.impls_asked += k
        return [Rewrite(self.name, r.code) for r in super().implement(candidate, plan, k, **kw)]


def test_ensemble_members_share_work_and_cross_implement():
    a, b = Named("a"), Named("b")
    res, _ = search(EnsembleProposer([a, b]), plans_per_candidate=3, impls_per_plan=1,
                    iterations=3)
    # split by seed: even on average, not per request
    assert 0.6 < a.plans_asked / b.plans_asked < 1.6
    assert 0.6 < a.impls_asked / b.impls_asked < 1.6
    pairs = {(s["planner"], s["implementer"]) for s in
             (e for _, _, e in res.lineage.graph.edges(data=True))}
    assert ("a", "b") in pairs or ("b", "a") in pairs


def test_process_engine_kills_a_stuck_worker_and_survives_a_crash():
    ev = ToyEvaluator()
    engine = ProcessEngine(ev, workers=2, timeout=1.5)
    try:
        t = time.monotonic()
        out = engine.run([toy_code(tile=4, value=42), toy_code(tile=4, value=42, hang=1),
                          toy_code(tile=8, value=42, crash=1), toy_code(tile=16, value=42)])
        assert time.monotonic() - t < 20
        assert [r.ok for r in out] == [True, False, False, True]
        assert out[1].error_kind == "timeout" and out[2].error_kind == "crash"
        assert out[3].cycles == 10000 // 16
        assert engine.killed >= 2
        (again,) = engine.run([toy_code(tile=2, value=42)])   # replaced workers still work
        assert again.cycles == 5000
    finally:
        engine.close()
    assert all(not w.alive() for w in engine.workers)


def test_eval_cache_persists(tmp_path):
    ev = ToyEvaluator()
    path = tmp_path / "evals.jsonl"
    svc = EvalService(ev, InlineEngine(ev), path)
    first = svc.evaluate_many([toy_code(tile=4, value=42), "junk", toy_code(tile=4, value=42)])
    assert [e.cached for e in first] == [False, False, True]
    assert first[1].result.error_kind == "parse"
    svc.close()
    svc2 = EvalService(ev, InlineEngine(ev), path)
    (again,) = svc2.evaluate_many([toy_code(tile=4, value=42)])
    assert again.cached and again.result.cycles == 2500 and svc2.simulated == 0
    svc2.close()


def test_schedule_reuse_replays_the_recipe_then_refines(tmp_path):
    from autocomp_exo.optimizer import reuse_schedule
    from autocomp_exo.settings import EvaluationSettings, Settings

    class Recorder(DoublingProposer):
        offered = []

        def plan(self, candidate, menu, n, **kw):
            Recorder.offered.append([m.key for m in menu])
            return super().plan(candidate, menu, n, **kw)
    s = Settings(evaluation=EvaluationSettings(engine="inline"))
    recipe = ["keep_in_scratchpad", "hoist"]
    res = reuse_schedule(toy_code(tile=4, value=42), recipe, settings=s, proposer=Recorder(),
                         evaluator=ToyEvaluator(), run_dir=tmp_path, refine_iterations=1)
    runs = [m for i, m in enumerate(Recorder.offered) if i == 0 or m != Recorder.offered[i - 1]]
    assert runs[:2] == [[k] for k in recipe]             # one recipe item per light iteration
    assert res.recipe_items[:2] == recipe
    assert res.start_cycles == 2500 and res.cycles == 10000 // 32
    assert (tmp_path / "light" / "best.c").exists() and (tmp_path / "refine" / "best.c").exists()


def test_sample_budget_counts_repairs():
    class Repairing(DoublingProposer):
        def repair(self, candidate, plan, rewrite, error, *, seed):
            v = parse_toy(candidate.code)
            return Rewrite(self.name, toy_code(tile=v["tile"] * 2, value=42))
    res, _ = search(Repairing(("garbage", "double")), max_samples=7, plans_per_candidate=2,
                    impls_per_plan=2)
    assert res.samples <= 7 and res.stop_reason == "sample budget"


def test_process_engine_works_from_a_script_without_a_main_guard(tmp_path):
    """Workers are fresh interpreters: they must not re-run the caller's script
    (multiprocessing's spawn would, and the script would recurse and hang)."""
    import subprocess
    import sys
    from pathlib import Path
    tests = Path(__file__).resolve().parent
    script = tmp_path / "user_script.py"
    script.write_text(
        "import sys\n"
        f"sys.path[:0] = [{str(tests.parent)!r}, {str(tests)!r}]\n"
        "from search_fakes import ToyEvaluator, toy_code\n"
        "from autocomp_exo.search.engine import ProcessEngine\n"
        "engine = ProcessEngine(ToyEvaluator(), workers=2, timeout=60)\n"
        "out = engine.run([toy_code(tile=4, value=42), toy_code(tile=8, value=42)])\n"
        "engine.close()\n"
        "print('RESULT', [r.cycles for r in out])\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    assert "RESULT [2500, 1250]" in done.stdout
    assert done.stdout.count("RESULT") == 1


def test_a_narrow_beam_plans_each_candidate_with_several_menus():
    """The first iteration has one candidate: it is planned beam_width times, each time
    with its own menu dropout, so the iteration gets the same planning budget as later
    ones; a full beam plans each candidate once."""
    calls = []

    class Recorder(DoublingProposer):
        def plan(self, candidate, menu, n, **kw):
            calls.append((kw["iteration"], candidate.id, tuple(m.key for m in menu)))
            return super().plan(candidate, menu, n, **kw)
    search(Recorder(("double",)), iterations=1, beam_width=4, dropout=0.7, seed=3)
    assert len(calls) == 4 and len({c[1] for c in calls}) == 1
    assert len({c[2] for c in calls}) > 1                 # independent dropout draws
    calls.clear()
    search(Recorder(("double",)), iterations=1, beam_width=1, dropout=0.7, seed=3)
    assert len(calls) == 1


def test_equal_cycles_are_called_equal_and_later_plans_see_the_attempts():
    from autocomp_exo.runs import load_run
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        from autocomp_exo.runs import RunDir
        ev = ToyEvaluator()
        svc = EvalService(ev, InlineEngine(ev))
        prop = DoublingProposer(("equal", "slower", "wrong"))
        run = RunDir(d)
        BeamSearch(prop, svc, MENU, SearchSettings(iterations=2, beam_width=2, patience=None,
                                                   plans_per_candidate=1, impls_per_plan=3,
                                                   repair_attempts=0),
                   run=run).run_search(toy_code(tile=4, value=42))
        run.close()
        kinds = {e["error_kind"] for e in load_run(d)["events"] if e["event"] == "candidate"}
    assert kinds == {"equal", "slower", "wrong"}               # equal is not "slower"
    first, later = prop.seen[0], prop.seen[-1]
    assert first.history == ()
    outcomes = {a.outcome for a in later.history}
    assert outcomes == {"equal", "slower", "wrong"}
    equal = next(a for a in later.history if a.outcome == "equal")
    assert equal.on == "tried on this code" and equal.iteration == 1
    assert equal.detail == "2,500 cycles (parent 2,500); busiest engine load 2,499 (parent 2,500)"
    slower = next(a for a in later.history if a.outcome == "slower")
    assert slower.detail.startswith("2,507 cycles (parent 2,500)")
    assert next(a for a in later.history if a.outcome == "wrong").detail == "value 41 != 42"


def test_history_reaches_descendants_and_is_bounded():
    prop = DoublingProposer(("double", "slower", "equal"))
    search(prop, iterations=3, beam_width=1, plans_per_candidate=1, impls_per_plan=3,
           history_limit=4, patience=None)
    last = prop.seen[-1]                     # planned at iteration 3: a grandchild of the start
    assert 0 < len(last.history) <= 4
    assert {a.on for a in last.history} & {"the step that made this code", "tried on its parent instead"}
    assert any(a.outcome == "accepted" for a in last.history)


def test_equal_cycles_with_a_less_busy_busiest_engine_survive_when_enabled():
    base = dict(iterations=1, beam_width=4, patience=None, plans_per_candidate=1,
                impls_per_plan=1)
    off, _ = search(DoublingProposer(("equal",)), **base)
    on, _ = search(DoublingProposer(("equal",)), accept_equal_busier_drop=True, **base)
    assert len(off.beam) == 1
    assert len(on.beam) == 2 and {parse_toy(c.code).get("noop", 0) for c in on.beam} == {0, 1}
    assert on.best.cycles == off.best.cycles == 2500


def test_history_tells_the_step_that_made_a_candidate_from_its_siblings():
    """A model read every attempt on the parent as "its parent" (a sibling looked like the
    step that made the code): the step on the candidate's own path is named as such."""
    from autocomp_exo.search.lineage import Lineage
    lin = Lineage()
    lin.add_root("root", 100)
    common = dict(ok=True, accepted=True, plan="p", planner="x", implementer="x", iteration=1)
    lin.add_child("root", "a", cycles=90, menu_item="tiling", outcome="accepted", **common)
    lin.add_child("root", "b", cycles=95, menu_item="hoist", outcome="accepted", **common)
    lin.add_child("a", "c", cycles=91, menu_item="unroll", outcome="slower",
                  **{**common, "accepted": False, "iteration": 2})
    on = {a.menu_item: a.on for a in lin.history(["a", "root"], limit=10)}
    assert on == {"unroll": "tried on this code", "tiling": "the step that made this code",
                  "hoist": "tried on its parent instead"}
    deep = {a.menu_item: a.on for a in lin.history(["c", "a", "root"], limit=10)}
    assert deep["tiling"] == "a step on this code's path, 2 steps back"
    assert deep["hoist"] == "tried on an ancestor 2 steps back"


def test_history_quotes_the_plan_without_its_choice_label():
    from autocomp_exo.search.lineage import Lineage
    lin = Lineage()
    lin.add_root("root", 100)
    lin.add_child("root", "a", cycles=90, ok=True, accepted=True, iteration=1,
                  menu_item="tiling", plan="CHOICE: 1\n\nDiagnosis. Taller row tiles.",
                  planner="x", implementer="x", outcome="accepted")
    (attempt,) = lin.history(["a", "root"], limit=5)
    assert attempt.plan == "Diagnosis. Taller row tiles."


def test_lineage_gives_everything_applied_from_a_program():
    """Two rewrites of one program that end in the same child, one that ends in the
    program itself, and one of another program: the first three are what was applied
    from it."""
    from autocomp_exo.search.lineage import Lineage
    lin = Lineage()
    lin.add_root("root", 100)
    common = dict(ok=True, accepted=False, plan="p", planner="x", implementer="x",
                  iteration=1, menu_item="hoist", outcome="equal")
    a1, a2, a3, b = ({"transform": t, "site": [i]} for i, t in enumerate("wxyz"))
    lin.add_child("root", "c", cycles=100, applied=a1, **common)
    lin.add_child("root", "c", cycles=100, applied=a2, **common)
    lin.add_child("root", "c", cycles=100, applied=a1, **common)
    lin.add_child("root", "root", cycles=100, applied=a3, **common)
    lin.add_child("c", "d", cycles=99, applied=b, **common)
    assert sorted(d["transform"] for d in lin.applied_from("root")) == ["w", "x", "y"]
    assert lin.applied_from("c") == (b,)
    assert lin.applied_from("nowhere") == ()
    assert lin.recipe(["root", "c"])[0]["applied"] == a1
    restored = Lineage.from_json(lin.to_json())
    assert sorted(d["transform"] for d in restored.applied_from("root")) == ["w", "x", "y"]


class TwoRoads:
    """From the start, a shortcut (tile 10 plus a pad of 100: 1100 cycles at once) or a
    slow road that grows the tile by one per step (tile 8: 1250, then 1111, 1000, ...).
    Each plan's other rewrites (and every rewrite of a shortcut program) cut the pad by a
    little: ``pad - 1 - j``; with ``dead_end`` a shortcut program offers only slower ones.
    A program's road is its ``road`` declaration (1: shortcut)."""

    name = "roads"

    def __init__(self, dead_end=False):
        self.dead_end = dead_end

    def plan(self, candidate, menu, n, *, iteration, total_iterations, seed):
        return [Plan(menu[0].key, f"plan {i}", self.name, data={"i": i}) for i in range(n)]

    def implement(self, candidate, plan, k, *, seed):
        v = parse_toy(candidate.code)
        i = plan.data["i"]
        if v["tile"] == 4:                      # the start: plan 0 takes the shortcut
            w = dict(v, tile=10, pad=100, road=1) if i == 0 else dict(v, tile=8, pad=20, road=2)
            return [Rewrite(self.name, toy_code(**w), data={"transform": f"road{w['road']}"})]
        out = []
        for j in range(k):
            w = dict(v)
            if v["road"] == 2 and j == 0:
                w["tile"] = min(64, v["tile"] + 1)
            w["pad"] = v["pad"] + 5 if (self.dead_end and v["road"] == 1) else \
                max(0, v["pad"] - 1 - i * k - j)
            out.append(Rewrite(self.name, toy_code(**w)))
        return out


def test_one_early_choice_cannot_fill_the_beam():
    """Without the cap the shortcut's variants take every slot by iteration 2 (the slow
    road's 1111 cycles lose to four of them) and the slow road is lost; with half the
    beam per first step, the slow road stays and overtakes."""
    kw = dict(beam_width=4, plans_per_candidate=2, impls_per_plan=2, iterations=6,
              patience=None)
    greedy, _ = search(TwoRoads(), start=toy_code(tile=4, value=42, pad=0), family_share=1.0,
                       **kw)
    assert parse_toy(greedy.best.code)["road"] == 1
    diverse, _ = search(TwoRoads(), start=toy_code(tile=4, value=42, pad=0), **kw)
    assert parse_toy(diverse.best.code)["road"] == 2
    assert diverse.best.cycles < greedy.best.cycles


@pytest.mark.parametrize("family_patience, family_margin, shortcut_kept", [
    (2, 10.0, False), (100, 10.0, True), (100, 0.1, False)])
def test_a_family_that_stopped_improving_or_fell_behind_gives_up_its_protected_slots(
        family_patience, family_margin, shortcut_kept):
    """The shortcut is a dead end after one step; once the slow road leads, the
    shortcut's slot goes to the slow road's variants only when its family is old enough
    (patience) or far enough behind (margin)."""
    res, _ = search(TwoRoads(dead_end=True), start=toy_code(tile=4, value=42, pad=0),
                    beam_width=4, plans_per_candidate=2, impls_per_plan=2, iterations=7,
                    patience=None, family_patience=family_patience,
                    family_margin=family_margin)
    roads = [parse_toy(c.code).get("road") for c in res.beam]
    assert parse_toy(res.best.code)["road"] == 2
    assert (1 in roads) == shortcut_kept


class DeadEndRoads(TwoRoads):
    """TwoRoads whose shortcut has no plans at all; with ``says_so`` the proposer also
    reports it exhausted (the optional `Proposer.exhausted`)."""

    def __init__(self, says_so):
        super().__init__()
        if says_so:
            self.exhausted = lambda c: parse_toy(c.code).get("road") == 1

    def plan(self, candidate, menu, n, **kw):
        return [] if parse_toy(candidate.code).get("road") == 1 else super().plan(
            candidate, menu, n, **kw)


@pytest.mark.parametrize("says_so", [True, False])
def test_an_exhausted_candidate_gives_its_slot_to_one_that_can_grow(says_so):
    """A beam of one: the shortcut (1100 cycles) takes the slot and has nothing left.
    Told so, the search goes on from the slower road (1270, 1130, 1018, ...), which
    ends faster; not told, it stays on the shortcut."""
    res, _ = search(DeadEndRoads(says_so), start=toy_code(tile=4, value=42, pad=0),
                    beam_width=1, plans_per_candidate=2, impls_per_plan=1, iterations=8,
                    patience=3, family_share=1.0)
    best = parse_toy(res.best.code)
    if says_so:
        assert best["road"] == 2 and res.best.cycles < 1100
    else:
        assert best["road"] == 1 and res.best.cycles == 1100
