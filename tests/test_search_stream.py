"""Streaming: with the built-in proposer and worker processes, plans and rewrites are made
while earlier rewrites are evaluated (`search.stream`); the search's results are those of
the phased iteration (plan all, rewrite all, evaluate all)."""
from autocomp_exo import gemm_algorithm, map_to_gemmini, optimize
from autocomp_exo.runs import read_jsonl

SMALL = {"search": {"iterations": 3, "beam_width": 2, "plans_per_candidate": 2, "seed": 5,
                    "seed_baselines": False},
         "evaluation": {"workers": 2, "engine": "process"}}


def _search(tmp_path, name: str, stream: bool, max_samples: int | None):
    search = {**SMALL["search"], "stream": stream, "max_samples": max_samples}
    result = optimize(map_to_gemmini(gemm_algorithm(32, 32, 48)),
                      settings={**SMALL, "search": search}, run_dir=tmp_path / name,
                      progress=False)
    events = read_jsonl(tmp_path / name / "events.jsonl")
    return result, events


def _evaluated(events) -> list:
    return [(e["key"], e.get("cycles")) for e in events if e["event"] == "candidate"]


def test_streamed_and_phased_iterations_find_the_same_code(tmp_path):
    for budget in (None, 11):      # 11: the sample budget ends an iteration midway
        s, s_events = _search(tmp_path, f"stream-{budget}", True, budget)
        p, p_events = _search(tmp_path, f"phased-{budget}", False, budget)
        assert s.cycles < s.start_cycles
        assert (s.cycles, s.code, s.recipe_items, s.samples, s.trajectory, s.stop_reason) == \
            (p.cycles, p.code, p.recipe_items, p.samples, p.trajectory, p.stop_reason)
        assert _evaluated(s_events) == _evaluated(p_events)     # same candidates, same order
        if budget is not None:
            assert s.samples == budget


def test_streaming_sends_rewrites_to_the_workers_before_the_iteration_is_planned(
        tmp_path, monkeypatch):
    """Each batch sent to the engine notes how many planning calls were made by then: with
    streaming, the first batch of an iteration leaves after its first candidate's plans;
    phased, every batch leaves after all of them (2 beam slots x 3 iterations)."""
    from autocomp_exo.proposers.builtin import BuiltinProposer
    from autocomp_exo.search.service import EvalService
    plans_made, at_send = [0], []
    plan, evaluate_many = BuiltinProposer.plan, EvalService.evaluate_many

    def counting_plan(self, *a, **k):
        plans_made[0] += 1
        return plan(self, *a, **k)

    def noting_evaluate_many(self, items):
        at_send.append(plans_made[0])
        return evaluate_many(self, items)
    monkeypatch.setattr(BuiltinProposer, "plan", counting_plan)
    monkeypatch.setattr(EvalService, "evaluate_many", noting_evaluate_many)
    for stream in (True, False):
        plans_made[0], at_send[:] = 0, []
        _search(tmp_path, f"count-{stream}", stream, None)
        # the first call evaluates the start program, before any plan
        sends = at_send[1:]
        # phased: one batch per iteration, each after both slots planned (2, 4, 6)
        if stream:
            assert any(n % 2 == 1 for n in sends), sends   # sent with a slot unplanned
        else:
            assert sends == [2 * k for k in range(1, len(sends) + 1)], sends
