"""Acceptance table of an LLM-driven run: how many answers parse, run, are correct and faster.

    python -m benchmarks.llm_acceptance RUN_DIR [RUN_DIR ...] [--markdown]

Reads each run directory's event log (``events.jsonl``) and counts, over the model's
implementation answers (first tries and repairs):

* ``parsed``: the answer held code that parsed (no ``parse`` error);
* ``hw ok``: it also ran on the model without breaking a hardware rule;
* ``correct``: it also matched the reference on every input set;
* ``faster``: it was also strictly faster than its parent.

Plans are counted apart: "plans used" are the plans that named a menu item and reached an
implementation request. The last columns are
the start and best cycles of the run.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Acceptance:
    run: str
    plan_requests: int = 0
    plans_chosen: int = 0
    impl_requests: int = 0
    answers_without_code: int = 0
    parsed: int = 0
    hardware_ok: int = 0
    correct: int = 0
    faster: int = 0
    start_cycles: int | None = None
    best_cycles: int | None = None

    def row(self) -> list[str]:
        def pct(n: int) -> str:
            return f"{n} ({100 * n / self.impl_requests:.0f}%)" if self.impl_requests else "-"
        return [self.run, str(self.plan_requests), str(self.plans_chosen),
                str(self.impl_requests), pct(self.parsed), pct(self.hardware_ok),
                pct(self.correct), pct(self.faster), f"{self.start_cycles:,}",
                f"{self.best_cycles:,}"]


HEADER = ["run", "plan requests", "plans used", "implementation requests", "parsed",
          "hardware ok", "correct", "faster", "start cycles", "best cycles"]


def read_events(run_dir: Path) -> list[dict]:
    path = run_dir / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def acceptance(run_dir: Path) -> Acceptance:
    """Count the answers of one run directory."""
    acc = Acceptance(run_dir.name)
    for e in read_events(run_dir):
        kind = e.get("event")
        if kind == "llm_call":
            if e.get("phase") == "plan":
                acc.plan_requests += 1
            else:
                acc.impl_requests += 1
        elif kind == "plan":
            acc.plans_chosen += e.get("menu_item") is not None
        elif kind == "rewrite" and not e.get("has_code"):
            acc.answers_without_code += 1
        elif kind == "candidate":
            err = e.get("error_kind")
            acc.parsed += err != "parse"
            acc.hardware_ok += err not in ("parse", "hardware", "crash", "timeout")
            acc.correct += bool(e.get("ok"))
            acc.faster += bool(e.get("ok")) and e.get("cycles") is not None and \
                e["cycles"] < e.get("parent_cycles", e["cycles"])
        elif kind == "search_start":
            acc.start_cycles = e.get("cycles")
        elif kind == "search_end":
            acc.best_cycles = e.get("best_cycles")
        elif kind == "beam" and e.get("best_cycles") is not None:
            acc.best_cycles = e["best_cycles"]
    return acc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args(argv)
    rows = [acceptance(r).row() for r in args.runs]
    if args.markdown:
        print("| " + " | ".join(HEADER) + " |")
        print("|" + "---|" * len(HEADER))
        for r in rows:
            print("| " + " | ".join(r) + " |")
        return 0
    from rich.console import Console
    from rich.table import Table
    table = Table(*HEADER, title="LLM answers: acceptance")
    for r in rows:
        table.add_row(*r)
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
