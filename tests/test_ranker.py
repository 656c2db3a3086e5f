"""The learned ranker of the built-in proposer: fitting from run logs, loading, use."""

import json

import pytest

from autocomp_exo.prompts.builder import load_menu
from autocomp_exo.proposers.base import Candidate, Feedback, MenuItem
from autocomp_exo.proposers.builtin import BuiltinProposer
from autocomp_exo.proposers.ranker import RankFeatures, Ranker, load
from autocomp_exo.search.ranker_fit import Observation, fit, read_run
from gemmini.errors import ConfigError
from transforms_support import basic_gemm

MENU = [MenuItem(m.number, m.key, f"Menu text of {m.key}.") for m in load_menu("gemm")]


def _event(transform, parent, child, it=1, bound="cpu", ok=True, gain=1.0, **extra):
    return {"event": "candidate", "planner": "builtin", "repair_round": 0, "iteration": it,
            "transform": transform, "parent": "p", "parent_cycles": parent, "cycles": child,
            "ok": ok, "features": {"transform": transform, "bound": bound,
                                   "static_gain": gain, "stall": False}, **extra}


def _write_run(path, events):
    path.mkdir(parents=True)
    (path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def test_the_trainer_ranks_a_transformation_that_improves_above_one_that_never_does(tmp_path):
    """'good' halves its parent every time, 'bad' is always slower, 'meh' improves by 1%
    half the time; the fitted factors order them good > meh > bad, per transformation
    and per transformation|bound."""
    events = []
    for it in range(1, 6):
        events += [_event("good", 1000, 500, it), _event("bad", 1000, 1200, it),
                   _event("bad", 1000, None, it, ok=False),
                   _event("meh", 1000, 800, it), _event("meh", 1000, 1000, it)]
    obs = read_run(_write_run(tmp_path / "r1", events))
    assert len(obs) == 25
    r = fit(obs, prior=1.0)
    assert r.by_transform["good"] > r.by_transform["meh"] > r.by_transform["bad"]
    assert r.by_transform["good"] > 1.0 > r.by_transform["bad"]
    assert r.factor(RankFeatures("good", "cpu", 1.0, False)) == r.by_transform_bound["good|cpu"]
    assert r.factor(RankFeatures("good", "load", 1.0, False)) == r.by_transform["good"]
    assert r.factor(RankFeatures("unseen", "cpu", 1.0, False)) == 1.0


def test_the_bound_splits_a_transformation(tmp_path):
    """'x' improves under a load bound and never under a CPU bound: its pair factors
    say so while its transformation factor sits between them."""
    events = []
    for it in range(1, 5):
        events += [_event("x", 1000, 600, it, bound="load"), _event("x", 1000, 1100, it),
                   _event("y", 1000, 900, it)]
    r = fit(read_run(_write_run(tmp_path / "r", events)), prior=1.0)
    assert r.by_transform_bound["x|load"] > r.by_transform["x"] > r.by_transform_bound["x|cpu"]


def test_the_static_gain_buckets_are_fitted_within_a_transformation(tmp_path):
    """Within one transformation, the rewrites the static estimate calls faster improve
    and those it calls slower do not: the faster bucket's factor exceeds the slower's,
    and the product with the transformation factor orders the two applications."""
    events = []
    for it in range(1, 5):
        events += [_event("x", 1000, 700, it, gain=1.2), _event("x", 1000, 1000, it, gain=0.9),
                   _event("y", 1000, 900, it, gain=1.0)]
    r = fit(read_run(_write_run(tmp_path / "r", events)), prior=1.0)
    assert r.by_gain["faster"] > 1.0 > r.by_gain["slower"]
    assert r.factor(RankFeatures("x", "cpu", 1.2, False)) > r.factor(
        RankFeatures("x", "cpu", 0.9, False))


def test_older_logs_take_the_bound_from_the_parent_report(tmp_path):
    ev = _event("good", 1000, 500)
    del ev["features"]
    run = _write_run(tmp_path / "r", [ev])
    (run / "evals.jsonl").write_text(json.dumps({"key": "p", "feedback": {"bound": "load"}})
                                     + "\n")
    (o,) = read_run(run)
    assert o.features.transform == "good" and o.features.bound == "load"


def test_bad_run_logs_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="no events.jsonl"):
        read_run(tmp_path)
    run = _write_run(tmp_path / "r", [])
    (run / "events.jsonl").write_text('{"event": "candidate"}\n{oops\n')
    with pytest.raises(ValueError, match=r"events.jsonl:2: not JSON"):
        read_run(run)
    with pytest.raises(ValueError, match="nothing to fit"):
        fit([])
    with pytest.raises(ValueError, match="improved"):
        fit([Observation(RankFeatures("a", "", 1.0, False), 100, 120, True)])


def test_a_ranker_file_round_trips(tmp_path):
    r = Ranker({"a": 2.0}, {"a|cpu": 3.0}, 0.25, 4.0, {"commit": "abc"}, {"faster": 1.5})
    r.save(tmp_path / "r.json")
    assert load(tmp_path / "r.json") == r


@pytest.mark.parametrize("text, message", [
    (None, "cannot read the ranker"),
    ("{not json", "not valid JSON"),
    ('{"format": 99}', "not a ranker file"),
    ('{"format": 1, "by_transform": {}}', "no 'by_transform_bound' table"),
    ('{"format": 1, "by_transform": {"a": -1}, "by_transform_bound": {}}', "positive"),
    ('{"format": 1, "by_transform": [], "by_transform_bound": {}}', "malformed"),
])
def test_a_missing_or_corrupt_ranker_file_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "ranker.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=message) as e:
        load(path)
    assert str(path) in str(e.value)


def test_the_shipped_ranker_loads():
    r = load()
    assert r.by_transform and r.provenance.get("runs")


def _candidate():
    fb = Feedback(cycles=10_000, utilization=0.3, sp_kib_used=10.0, sp_kib_total=256.0,
                  acc_kib_used=1.0, acc_kib_total=64.0, bound="cpu")
    return Candidate(id="c0", fn=basic_gemm(32, 128, 128), code="", cycles=10_000, feedback=fb)


def test_the_proposer_orders_its_applications_by_the_ranker():
    """A ranker favouring one transformation multiplies exactly its weights (and puts it
    first); without a ranker, or with one that has no factors, nothing changes."""
    cand = _candidate()
    items = {m.key for m in MENU}
    off = BuiltinProposer()._ranked(cand.fn, cand.feedback, items)
    neutral = BuiltinProposer(ranker=Ranker({}, {}))._ranked(cand.fn, cand.feedback, items)
    assert [(r.application, r.weight) for r in off] == [
        (r.application, r.weight) for r in neutral]
    last = off[-1].application.transform
    favour = Ranker({last: 0.5}, {f"{last}|cpu": 1e6}, hi=1e9)
    on = BuiltinProposer(ranker=favour)._ranked(cand.fn, cand.feedback, items)
    assert on[0].application.transform == last
    w_off = {r.application: r.weight for r in off}
    for r in on:
        f = 1e6 if r.application.transform == last else 1.0
        assert r.weight == pytest.approx(w_off[r.application] * f)
    plans_off = BuiltinProposer().plan(cand, MENU, 4, iteration=0, total_iterations=8, seed=1)
    plans_neutral = BuiltinProposer(ranker=Ranker({}, {})).plan(
        cand, MENU, 4, iteration=0, total_iterations=8, seed=1)
    assert [p.data for p in plans_off] == [p.data for p in plans_neutral]
    assert all(p.data["features"]["bound"] == "cpu" for p in plans_off)


def test_the_setting_switches_the_ranker(tmp_path):
    from autocomp_exo.optimizer import _builtin
    assert _builtin(ranker="off").ranker is None
    assert _builtin(ranker="default").ranker == load()
    with pytest.raises(ConfigError, match="cannot read the ranker"):
        _builtin(ranker=str(tmp_path / "missing.json"))
