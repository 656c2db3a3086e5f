"""The suite benchmark's report: fractions from saved rows, CPU time of finished children."""

import json
import subprocess
import sys

from benchmarks.bench_builtin_search import cpu_seconds, main

ROW = {"workload": "gemm_512x512x512", "cycles": 1_048_576, "utilization": 0.5,
       "samples": 300, "seconds": 10.0, "cpu_seconds": 7.5, "emulator": "ok", "transforms": {},
       "baselines": {"exo_unoptimized": 4_194_304, "exo_hand_optimized": 2_097_152,
                     "vendor_lib": 3_145_728, "hardware_fsm": 524_288},
       "over_unoptimized": 4.0, "over_hand": 2.0, "fraction_of_fsm": 0.5}


def test_report_prints_the_saved_rows_with_ideal_and_vendor_fractions(tmp_path, monkeypatch,
                                                                      capsys):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "runs" / "builtin_search"
    out.mkdir(parents=True)
    (out / "results.json").write_text(json.dumps([ROW]))
    assert main(["--report"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "gemm_512x512x512" in ln)
    cells = [c.strip() for c in line.split("│") if c.strip()]
    # ideal = 512^3 / 16^2 = 524,288 cycles: half of the search's 1,048,576
    assert cells[5:11] == ["1,048,576", "0.500", "4.00", "2.00", "3.00", "0.50"]
    assert cells[-2:] == ["7.5", "ok"]


def test_cpu_seconds_counts_finished_children():
    before = cpu_seconds()
    subprocess.run([sys.executable, "-c", "sum(range(20_000_000))"], check=True)
    assert cpu_seconds() - before > 0.1
