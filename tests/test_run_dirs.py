"""Run directories a user can trust: identity, lock, keep-the-better best, resume from the
last saved iteration, progress shown or silenced."""

import json
import logging
import os
import re

import pytest
from search_fakes import DoublingProposer, ToyEvaluator, toy_code

from autocomp_exo.optimizer import optimize
from autocomp_exo.runs import RunDir, RunDirLocked, RunDirMismatch
from autocomp_exo.settings import EvaluationSettings, SearchSettings, Settings


def toy(iterations=3, seed=0):
    return Settings(search=SearchSettings(iterations=iterations, seed=seed, patience=None),
                    evaluation=EvaluationSettings(engine="inline"))


def run(tmp_path, iterations=3, seed=0, **kw):
    return optimize(toy_code(tile=4, value=42), settings=toy(iterations, seed),
                    proposer=DoublingProposer(), evaluator=ToyEvaluator(),
                    run_dir=tmp_path / "run", progress=False, **kw)


def test_resume_continues_after_the_saved_iteration_with_the_same_result(tmp_path):
    fresh = run(tmp_path / "a")
    # toy cycles: 10000 // tile, the tile doubling each iteration from 4: 2500 -> 312
    assert fresh.trajectory == [2500, 1250, 625, 312] and not fresh.resumed
    again = run(tmp_path / "a")
    assert again.resumed and again.reused == fresh.samples + 1     # + the start's evaluation
    assert (again.cycles, again.trajectory, again.recipe_items, again.code) == \
        (fresh.cycles, fresh.trajectory, fresh.recipe_items, fresh.code)
    events = [json.loads(x) for x in (tmp_path / "a" / "run" / "events.jsonl").read_text()
              .splitlines()]
    restored = [e for e in events if e["event"] == "restored"]
    assert [e["iteration"] for e in restored] == [3]
    # more iterations continue from iteration 3 (4 iterations: 2500 // 8 = 156)
    longer = run(tmp_path / "a", iterations=4)
    assert longer.trajectory == [2500, 1250, 625, 312, 156]


def test_a_worse_rerun_keeps_the_better_best_and_says_so(tmp_path):
    best = run(tmp_path, iterations=3)
    saved = (tmp_path / "run" / "best.c").read_text()
    short = run(tmp_path, iterations=1)       # same run, fewer iterations: replays 1
    assert short.cycles == 1250 > best.cycles == 312
    assert any("kept the earlier best" in n and "312" in n for n in short.notes)
    assert (tmp_path / "run" / "best.c").read_text() == saved
    assert json.loads((tmp_path / "run" / "best.json").read_text())["cycles"] == 312


def test_a_different_run_is_refused_unless_fresh(tmp_path):
    run(tmp_path, iterations=1)
    with pytest.raises(RunDirMismatch, match="seed 0 there, 5 here"):
        run(tmp_path, iterations=1, seed=5)
    res = run(tmp_path, iterations=1, seed=5, fresh=True)
    assert not res.resumed
    ident = json.loads((tmp_path / "run" / "identity.json").read_text())
    assert ident["settings"]["search"]["seed"] == 5


def test_a_run_of_another_model_version_is_refused_unless_fresh(tmp_path, monkeypatch):
    from autocomp_exo import tuning_db
    run(tmp_path, iterations=1)
    monkeypatch.setattr(tuning_db, "model_version", lambda: "next-model")
    with pytest.raises(RunDirMismatch, match="another version of the cycle model"):
        run(tmp_path, iterations=1)
    assert not run(tmp_path, iterations=1, fresh=True).resumed


def test_the_lock_is_held_while_open_and_released_after_an_error(tmp_path):
    d = RunDir(tmp_path / "run")
    assert (tmp_path / "run" / "lock").read_text().split()[0] == str(os.getpid())
    with pytest.raises(RunDirLocked, match=f"in use by process {os.getpid()}"):
        RunDir(tmp_path / "run")
    d.close()
    assert not (tmp_path / "run" / "lock").exists()
    # the starting code is wrong: the run fails, and the directory is free again
    with pytest.raises(Exception, match="starting code is not correct"):
        optimize(toy_code(tile=4, value=41), settings=toy(1), proposer=DoublingProposer(),
                 evaluator=ToyEvaluator(), run_dir=tmp_path / "run2", progress=False)
    assert not (tmp_path / "run2" / "lock").exists()


def test_progress_logs_off_a_terminal_and_false_silences(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="autocomp_exo.progress"):
        optimize(toy_code(tile=4, value=42), settings=toy(2), proposer=DoublingProposer(),
                 evaluator=ToyEvaluator())
    lines = [r.getMessage() for r in caplog.records if r.name == "autocomp_exo.progress"]
    assert len(lines) == 2
    assert lines[0] == "iteration 1/2: best 2,500 cycles (1.00x), 0 evaluated"
    assert re.fullmatch(r"iteration 2/2: best 1,250 cycles \(2\.00x\), [1-9]\d* evaluated",
                        lines[1])
    caplog.clear()
    with caplog.at_level(logging.INFO):
        optimize(toy_code(tile=4, value=42), settings=toy(2), proposer=DoublingProposer(),
                 evaluator=ToyEvaluator(), progress=False)
    assert not [r for r in caplog.records if r.name == "autocomp_exo.progress"]
    seen = []
    optimize(toy_code(tile=4, value=42), settings=toy(2), proposer=DoublingProposer(),
             evaluator=ToyEvaluator(), progress=seen.append)
    assert seen and seen[-1].best_cycles == 10000 // 16      # tile 4 doubled twice
