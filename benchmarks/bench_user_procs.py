"""User-style procs we do not ship: mapped?, correct?, start cycles, cycles after a search.

    nice python3 -m benchmarks.bench_user_procs                 # every case, 100 samples
    nice python3 -m benchmarks.bench_user_procs fc_bias_alg --samples 20

Run from the repository root: the procs live in the test tree (``tests/user_procs.py``,
written with Exo's Gemmini instructions, and ``tests/data/user_procs/algorithms.py``,
plain loops for ``map_to_gemmini``). For each: whether it is mapped (given: written with
instructions; yes: ``map_to_gemmini`` mapped it; no: the one-line reason), whether the
mapped code passes the check against the proc's own semantics on the model, its cycles,
the cycles of the best kernel of a built-in search with a sample budget, and whether the
broken twin is caught by the check (a proc without a twin: its code with the last mvout
cut).
"""

from __future__ import annotations

import argparse
import importlib
import re
import time

from rich.console import Console
from rich.table import Table

KINDS = ("uniform", "extreme")


def cases() -> dict:
    """name -> (proc, broken twin or None, "given" | "algorithm")."""
    u = importlib.import_module("tests.user_procs")
    a = importlib.import_module("tests.data.user_procs.algorithms")
    out = {name: (getattr(u, name), getattr(u, f"broken_{name}"), "given")
           for name in ("fc_bias", "batched_gemm", "gemm_relu", "gemm_abc", "conv_rgb",
                        "gemm_residual")}
    for name, (good, broken, _) in a.CASES.items():
        out[f"{name}_alg"] = (good, broken, "algorithm")
    out["gemm_unscaled_alg"] = (a.gemm_unscaled, None, "algorithm")
    out["renamed_gemm_alg"] = (u.renamed_gemm, None, "algorithm")
    out["matmul_abt_alg"] = (u.matmul_abt, None, "algorithm")
    return out


def without_last_mvout(c_text: str) -> str:
    """The broken variant of a kernel that has no broken twin: its last store is missing
    (the last one in code: Exo's ``/* relying on ... */`` notes quote the instruction)."""
    comments = [(m.start(), m.end()) for m in re.finditer(r"/\*.*?\*/", c_text, re.S)]
    last = max(m.start() for m in re.finditer(r"gemmini_extended_mvout\(", c_text)
               if not any(a <= m.start() < b for a, b in comments))
    return c_text[:last] + c_text[c_text.index(";", last) + 1:]


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def measure(name: str, good, broken, style: str, max_samples: int, seed: int) -> dict:
    """One row of the table."""
    from autocomp_exo import Budget, optimize
    from autocomp_exo.evaluation import evaluate
    from autocomp_exo.settings import load_settings
    from gemmini.errors import AutocompError
    from lowering.exo_to_c import compile_proc
    from lowering.mapping import map_to_gemmini
    from lowering.workload import Workload

    row = {"proc": name, "style": style, "mapped": "given", "correct": "-", "start": None,
           "search": None, "samples": None, "broken caught": "-", "seconds": None}
    t0 = time.time()
    mapped = good
    if style == "algorithm":
        try:
            mapped = map_to_gemmini(good)
            row["mapped"] = "yes"
        except AutocompError as e:
            row["mapped"] = f"no: {_first_line(e).split('Gemmini: ', 1)[-1]}"
            row["seconds"] = round(time.time() - t0, 1)
            return row
    try:
        ev = evaluate(mapped, kinds=KINDS)
    except AutocompError as e:
        row["correct"] = f"not run: {_first_line(e)[:70]}"
        row["seconds"] = round(time.time() - t0, 1)
        return row
    row["correct"] = "yes" if ev.check.ok else "NO"
    row["start"] = ev.report.cycles
    w = Workload.from_proc(mapped)
    if broken is None:
        bad_c = without_last_mvout(compile_proc(mapped).c_text)
    else:
        bad_c = compile_proc(broken if style == "given" else map_to_gemmini(broken)).c_text
    caught = not evaluate(bad_c, workload=w, kinds=KINDS).check.ok
    row["broken caught"] = ("yes" if caught else "NO") + ("" if broken else " (last mvout cut)")
    settings = load_settings(overrides={"search.seed": seed})
    per_iteration = (settings.search.beam_width * settings.search.plans_per_candidate
                     * settings.search.impls_per_plan)
    settings = load_settings(overrides={"search.seed": seed, "search.patience": 10,
                                        "search.iterations":
                                            max(8, -(-max_samples // per_iteration) + 2)})
    result = optimize(mapped, settings=settings, budget=Budget(max_samples=max_samples),
                      progress=False)
    row["search"], row["samples"] = result.cycles, result.samples
    row["seconds"] = round(time.time() - t0, 1)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*", help="default: every case")
    ap.add_argument("--samples", "--max-samples", dest="max_samples", type=int, default=100,
                    help="sample budget of each built-in search (default 100)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    everything = cases()
    names = args.cases or list(everything)
    table = Table(title=f"user-style procs: built-in search, {args.max_samples} samples "
                        "(model cycles)")
    for col in ("proc", "style", "mapped?", "correct?", "start cycles", "after search",
                "samples", "broken caught?", "seconds"):
        table.add_column(col, justify="left" if col in ("proc", "mapped?") else "right")
    for name in names:
        r = measure(name, *everything[name], args.max_samples, args.seed)
        table.add_row(r["proc"], r["style"], r["mapped"], r["correct"],
                      "-" if r["start"] is None else f"{r['start']:,}",
                      "-" if r["search"] is None else f"{r['search']:,}",
                      "-" if r["samples"] is None else str(r["samples"]),
                      r["broken caught"], str(r["seconds"]))
        print(f"{name}: {r}", flush=True)
    Console(width=200).print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
