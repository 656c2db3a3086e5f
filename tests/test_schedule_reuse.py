"""Schedule reuse on toy programs (search_fakes): a recorded step is replayed as its own
plan, and the refinement starts from the start with the replay's result beside it, so a
replay that leads into a dead end costs only its samples.

The toy meaning is search_fakes': cycles = 10000 // tile + pad, correct iff value == 42,
tile > 64 fails; the numbers below follow from it by hand.
"""

import json

from autocomp_exo.optimizer import REUSE_SEED, optimize, reuse_schedule
from autocomp_exo.prompts.builder import load_menu
from autocomp_exo.proposers.base import Plan, Rewrite
from autocomp_exo.search.reuse import RecipeProposer, as_step, recorded_steps
from autocomp_exo.settings import EvaluationSettings, SearchSettings, Settings
from search_fakes import DoublingProposer, parse_toy, ToyEvaluator, toy_code

MENU = load_menu("gemm")
ITEM = MENU[0].key
START = toy_code(tile=4, value=42)            # 2500 cycles


class Replaying(DoublingProposer):
    """Doubles the tile, except that a plan carrying ``data["set"]`` sets those values
    (what a recorded step applies) and a program with ``trap`` can only get slower."""

    name = "replaying"

    def plan(self, candidate, menu, n, **kw):
        if parse_toy(candidate.code).get("trap"):
            return [Plan(menu[0].key, "pad it", self.name)]
        return super().plan(candidate, menu, n, **kw)

    def implement(self, candidate, plan, k, *, seed):
        v = parse_toy(candidate.code)
        if plan.data.get("set"):
            return [Rewrite(self.name, toy_code(**{**v, **plan.data["set"]}),
                            data={"set": plan.data["set"]})]
        if v.get("trap"):
            return [Rewrite(self.name, toy_code(**{**v, "pad": v.get("pad", 0) + 7}))]
        return super().implement(candidate, plan, k, seed=seed)


def recorded(**values) -> dict:
    return {"menu_item": ITEM, "plan": f"set {values}", "applied": {"set": values},
            "implementer": "replaying"}


SETTINGS = Settings(search=SearchSettings(iterations=5, seed=1),
                    evaluation=EvaluationSettings(engine="inline"))


def test_a_recorded_step_is_replayed_as_its_own_plan():
    p = RecipeProposer(Replaying(), [recorded(tile=8), ITEM, None], MENU)
    cand = type("C", (), {"code": START})()
    (plan,) = p.plan(cand, MENU, 4, iteration=1, total_iterations=3, seed=0)
    assert (plan.menu_item, plan.data, plan.proposer) == (ITEM, {"set": {"tile": 8}},
                                                          "replaying")
    keyed = p.plan(cand, MENU, 2, iteration=2, total_iterations=3, seed=0)
    assert [q.text for q in keyed] == ["double the tile (plan 0)", "double the tile (plan 1)"]
    assert p.plan(cand, MENU, 2, iteration=3, total_iterations=3, seed=0) == []
    assert as_step("hoist").menu_item == "hoist" and as_step(None).menu_item is None


def test_the_search_records_what_each_step_applied():
    class SetsTile(Replaying):
        def plan(self, candidate, menu, n, **kw):
            t = parse_toy(candidate.code)["tile"]
            return [Plan(menu[0].key, "set", self.name, data={"set": {"tile": t * 4}})]
    res = optimize(START, settings=SETTINGS, proposer=SetsTile(), evaluator=ToyEvaluator())
    steps = recorded_steps(res.recipe)
    assert [s["applied"] for s in steps] == [{"set": {"tile": 16}}, {"set": {"tile": 64}}]
    assert json.loads(json.dumps(steps)) == steps           # stored as JSON


def test_a_dead_end_replay_does_not_stop_the_refinement(tmp_path):
    """The replay jumps to tile 8 with a trap (1250 cycles, never improvable); the
    refinement's first beam holds it and the start, and the start's line reaches tile 64
    (156 cycles) like a plain search does; only replaying into the trap, the result
    would stay at 1250."""
    plain = optimize(START, settings=SETTINGS, proposer=Replaying(), evaluator=ToyEvaluator())
    assert plain.cycles == 10000 // 64
    res = reuse_schedule(START, [recorded(tile=8, trap=1)], settings=SETTINGS,
                         proposer=Replaying(), evaluator=ToyEvaluator(), run_dir=tmp_path,
                         refine_iterations=5)
    first = json.loads((tmp_path / "refine" / "beam" / "iter_000.json").read_text())
    trap = ToyEvaluator().evaluate(toy_code(tile=8, value=42, trap=1))
    assert {b["key"] for b in first} >= {trap.key, ToyEvaluator().evaluate(START).key}
    assert res.cycles == plain.cycles
    assert res.recipe_items[:1] != [REUSE_SEED]


def test_a_good_replay_is_kept_and_its_steps_lead_the_recipe():
    res = reuse_schedule(START, [recorded(tile=32)], settings=SETTINGS,
                         proposer=Replaying(), evaluator=ToyEvaluator(), refine_iterations=1)
    assert res.cycles == 10000 // 64                         # 32 replayed, doubled once
    assert res.recipe[0]["applied"] == {"set": {"tile": 32}}
    assert res.trajectory[:2] == [2500, 10000 // 32] and res.start_cycles == 2500


def test_the_replay_uses_at_most_its_share_of_the_budget(tmp_path):
    s = Settings(search=SearchSettings(iterations=5, seed=1, max_samples=20),
                 evaluation=EvaluationSettings(engine="inline"))
    recipe = [ITEM] * 6                                      # would take 6 x 4 samples
    res = reuse_schedule(START, recipe, settings=s, proposer=Replaying(),
                         evaluator=ToyEvaluator(), refine_iterations=5, replay_share=0.25,
                         run_dir=tmp_path)
    light = json.loads((tmp_path / "light" / "best.json").read_text())
    refine = json.loads((tmp_path / "refine" / "best.json").read_text())
    assert light["samples"] <= 5 and light["samples"] + refine["samples"] == res.samples <= 20
    assert res.cycles < 2500


def test_the_builtin_replays_a_recorded_transformation_on_another_shape():
    """A step recorded on GEMM 32x32x32 names a transformation, a statement path and
    parameters; on GEMM 64x32x32 (same loop structure, other bounds) the built-in
    proposer applies that same transformation, and the result is correct."""
    from autocomp_exo.evaluation import ModelEvaluator
    from autocomp_exo.proposers.base import Candidate
    from autocomp_exo.proposers.builtin import BuiltinProposer
    from lowering.suite import gemm_algorithm
    from lowering.workload import Workload
    small = Settings(search=SearchSettings(iterations=1, beam_width=1, plans_per_candidate=2,
                                           impls_per_plan=1, seed=0, seed_baselines=False),
                     evaluation=EvaluationSettings(engine="inline"))
    source = optimize(gemm_algorithm(32, 32, 32), settings=small, progress=False)
    steps = recorded_steps(source.recipe)
    assert steps and steps[0]["applied"]["transform"]
    target = Workload.from_proc(gemm_algorithm(64, 32, 32))
    ev = ModelEvaluator.from_settings(target, small.evaluation)
    start = ev.evaluate(target.mapped_c().c_text)
    cand = Candidate(start.key, start.fn, start.code, start.cycles, start.feedback)
    p = RecipeProposer(BuiltinProposer(), steps, MENU)
    (plan,) = p.plan(cand, MENU, 2, iteration=1, total_iterations=1, seed=0)
    assert plan.data == steps[0]["applied"]
    rewrites = p.implement(cand, plan, 2, seed=0)
    assert rewrites[0].data == steps[0]["applied"]             # exactly the recorded step
    assert ev.evaluate(rewrites[0].fn).ok


def test_a_recipe_that_began_with_a_seed_program_replays_from_the_targets_own():
    """A source whose best descends from its loop FSM program: the replay starts beside
    the target's loop FSM program (not its vendor library's) and replays the steps after."""
    from autocomp_exo.optimizer import _replay_start, _Start
    start = _Start("code", ToyEvaluator(), "toy",
                   seeds=[("vendor_lib", "v"), ("hardware_fsm", "f")])
    seed_step = {"menu_item": "hardware_fsm", "plan": "start from the hardware_fsm program",
                 "planner": "seed"}
    light, steps = _replay_start(start, [seed_step, recorded(tile=8)])
    assert light.seeds == [("hardware_fsm", "f")] and steps == [recorded(tile=8)]
    light, steps = _replay_start(start, [recorded(tile=8)])
    assert light.seeds == [] and steps == [recorded(tile=8)]
    RecipeProposer(Replaying(), [seed_step, ITEM], MENU)     # a seed step is no unknown item


def test_the_build_keeps_seed_steps_and_drops_other_kinds_items():
    from autocomp_exo.build import _seed_recipes
    from autocomp_exo.tuning_db import Entry
    seed_step = {"menu_item": "hardware_fsm", "plan": "start from the hardware_fsm program",
                 "applied": None, "implementer": "seed"}
    steps = [seed_step, recorded(tile=8), "no_such_item", "hoist"]
    e = Entry(key="k", name="n", kind="gemm", gemmini="default", shape={}, model_version="v",
              cycles=1, start_cycles=2, code="", report={}, steps=steps, settings={})
    (recipe,) = _seed_recipes([e], "gemm", Settings())
    assert recipe == [seed_step, recorded(tile=8), None, "hoist"]
