"""The baseline runner on one small GEMM: all four baselines built, run, checked, written."""

import csv
import json

import numpy as np
import pytest

from benchmarks import run_baselines as rb

SMALL = "gemm_64x64x64"
TINY = "gemm_16x16x32"     # vendor / FSM only: no Exo scheduling needed


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    from rich.console import Console

    out = tmp_path_factory.mktemp("baselines")
    console = Console(record=True, width=140)
    results = rb.run([SMALL], rb.BASELINES, out, jobs=1, console=console)
    return out, results, console.export_text()


def test_outputs_written(small_run):
    out, _, _ = small_run
    for name in ("results.csv", "results.json", "speed_vs_fsm.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "speed_vs_fsm.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_baseline_correct(small_run):
    out, results, _ = small_run
    assert [r.baseline for r in results] == list(rb.BASELINES)
    for r in results:
        assert r.status == "ok", (r.baseline, r.message)
        # 64^3 is small: every input set (7 kinds x ReLU off/on) is checked
        assert r.sets_checked == 14
        assert r.cycles > 0
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert {(row["workload"], row["baseline"], row["status"]) for row in rows} == \
        {(SMALL, b, "ok") for b in rb.BASELINES}
    data = json.loads((out / "results.json").read_text())
    assert data["meta"]["workloads"] == [SMALL]
    assert len(data["results"]) == 4


def test_utilization_and_speed_follow_from_cycles(small_run):
    _, results, _ = small_run
    by = {r.baseline: r for r in results}
    ideal = 64 * 64 * 64 / 256                       # MACs / DIM^2, computed independently
    for r in results:
        assert r.utilization == pytest.approx(ideal / r.cycles)
        assert r.speed_vs_fsm == pytest.approx(by["hardware_fsm"].cycles / r.cycles)
    assert by["hardware_fsm"].speed_vs_fsm == pytest.approx(1.0)


def test_table_lists_every_cell(small_run):
    _, results, text = small_run
    for b in rb.BASELINES:
        assert b in text
    assert text.count("ok (14 sets)") == 4


def test_missing_or_failing_baseline_is_reported_not_raised(tmp_path, monkeypatch):
    real = rb.baseline_function

    def broken(spec, baseline, config=None):
        if baseline == "vendor_lib":
            raise RuntimeError("no library today")
        return real(spec, baseline, config)

    monkeypatch.setattr(rb, "baseline_function", broken)
    results = rb.run([TINY, "gemm_bogus"], ("vendor_lib", "hardware_fsm"), tmp_path, jobs=1)
    cell = {(r.workload, r.baseline): r for r in results}
    assert cell[(TINY, "vendor_lib")].status == "error"
    assert "no library today" in cell[(TINY, "vendor_lib")].message
    assert cell[(TINY, "hardware_fsm")].status == "ok"
    assert cell[("gemm_bogus", "hardware_fsm")].status == "error"
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert len(rows) == 4


def test_wrong_output_is_marked_wrong(tmp_path, monkeypatch):
    from gemmini import model

    real_run = model.run

    def corrupt(fn, inputs, config=None, **kw):
        r = real_run(fn, inputs, config, **kw)
        out = {k: np.zeros_like(v) + 7 for k, v in r.outputs.items()}
        return model.ModelRun(out, r.report)

    monkeypatch.setattr(model, "run", corrupt)
    (r,) = rb.run([TINY], ("hardware_fsm",), tmp_path, jobs=1)
    assert r.status == "wrong"
    assert "expected" in r.message
