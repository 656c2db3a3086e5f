"""Fit the built-in proposer's learned ranker from run directories (issue 18, item 5).

    python -m tools.train_ranker runs/train/runs/builtin_search          # every run under it
    python -m tools.train_ranker RUN_DIR ... --out autocomp_exo/proposers/ranker.json

Every argument is a run directory (with ``events.jsonl``) or a directory of them. Prints
the per-transformation table (samples, improvements, factor) and writes the ranker
JSON with its provenance (the runs, their workloads and samples, the commit).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from autocomp_exo.proposers.ranker import DEFAULT_PATH
from autocomp_exo.search.ranker_fit import DEFAULT_PRIOR, fit, group, read_run, relative_values


def run_dirs(paths: list[Path]) -> list[Path]:
    """The run directories named by ``paths`` (each one, or the ones directly under it)."""
    out: list[Path] = []
    for p in paths:
        if (p / "events.jsonl").is_file():
            out.append(p)
        elif p.is_dir():
            out += sorted(d for d in p.iterdir() if (d / "events.jsonl").is_file())
        else:
            raise SystemExit(f"{p}: no such directory")
    if not out:
        raise SystemExit(f"no run directories (with events.jsonl) in {', '.join(map(str, paths))}")
    return out


def _commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=DEFAULT_PATH)
    ap.add_argument("--prior", type=float, default=DEFAULT_PRIOR,
                    help="pseudo-samples shrinking each group towards the level above")
    args = ap.parse_args(argv)
    dirs = run_dirs(args.runs)
    obs, runs = [], []
    for d in dirs:
        got = read_run(d)
        obs += got
        runs.append({"run": d.name, "observations": len(got)})
    try:
        ranker = fit(obs, prior=args.prior, provenance={
            "runs": runs, "commit": _commit(),
            "trained": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "command": "python -m tools.train_ranker " + " ".join(sys.argv[1:] if argv is None
                                                                  else argv)})
    except ValueError as e:
        raise SystemExit(f"train_ranker: {e}") from None
    stats = group(relative_values(obs), lambda o: o.features.transform)
    print(f"{'transformation':16} {'samples':>7} {'improved':>8} {'factor':>7}")
    for t, f in sorted(ranker.by_transform.items(), key=lambda x: -x[1]):
        g = stats[t]
        print(f"{t:16} {g.n:7d} {g.improved:8d} {f:7.2f}")
    ranker.save(args.out)
    print(f"{ranker.provenance['observations']} observations (of {len(obs)}) from "
          f"{len(dirs)} runs -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
