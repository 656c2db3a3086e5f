"""The sample-efficiency curve read from a run's events (hand-written events)."""

import json

from benchmarks.bench_sample_efficiency import best_so_far, plot, row_for, samples_to_reach
from gemmini.config import get_config

EVENTS = [
    {"event": "run_start"},
    {"event": "search_start", "cycles": 1000},
    {"event": "candidate", "ok": True, "cycles": 1200},      # slower than the start
    {"event": "candidate", "ok": False, "cycles": None},     # failed the check
    {"event": "candidate", "ok": True, "cycles": 800},
    {"event": "candidate", "ok": False, "cycles": 10},       # wrong: never counts
    {"event": "candidate", "ok": True, "cycles": 795},
]


def write(tmp_path, name="gemm_64x64x64"):
    d = tmp_path / name
    d.mkdir()
    (d / "events.jsonl").write_text("\n".join(json.dumps(e) for e in EVENTS) + "\n")
    return d


def test_best_so_far_counts_every_sample_and_only_correct_cycles(tmp_path):
    start, curve = best_so_far(write(tmp_path) / "events.jsonl")
    assert start == 1000
    assert curve == [1000, 1000, 800, 800, 795]


def test_samples_to_reach_a_target():
    curve = [1000, 1000, 800, 800, 795]
    assert samples_to_reach(curve, 803) == 3
    assert samples_to_reach(curve, 700) is None


def test_row_and_figure(tmp_path):
    row = row_for("gemm_64x64x64", write(tmp_path), get_config())
    assert row["ideal"] == 64 ** 3 / 256
    assert row["best"] == 795 and row["to_best"] == 3          # 800 is within 1% of 795
    png = tmp_path / "curve.png"
    plot([row], png, "test")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
