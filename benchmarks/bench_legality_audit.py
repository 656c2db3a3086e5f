"""How many rewrites the legality checks accept that the reference check then rejects,
with the enumeration's small loops run in full (now) and with every loop of a large
enumeration truncated (before `deps.full_trips`).

    python -m benchmarks.bench_legality_audit runs/builtin_search/gemm_784x1024x256 \\
        gemm_784x1024x256 --every 10

For every ``--every``-th kernel of a run directory's ``candidates/``, every application of
the residency, hoisting and interleaving transformations is applied both ways; a rewrite
accepted by either way and not identical under both is evaluated (model plus the bit-exact
reference check). Prints, per way, the rewrites accepted and those accepted but wrong.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

NAMES = ("resident", "resident_all", "hoist", "interleave", "interleave_all")


def audit(run_dir: Path, workload: str, every: int) -> dict:
    from autocomp_exo.evaluation import ModelEvaluator
    from autocomp_exo.transforms import TRANSFORMS, NotApplicable, apply, deps
    from gemmini.config import get_config
    from lowering.parser import parse_c
    from lowering.suite import by_name
    from lowering.workload import Workload

    cfg = get_config()
    evaluator = ModelEvaluator.for_workload(Workload.from_spec(by_name(workload)), cfg)
    files = sorted(run_dir.glob("candidates/*.c"))[::every]
    ways = {"truncated": lambda body, env: 0, "small loops in full": deps.full_trips}
    out = {w: {"accepted": 0, "accepted_wrong": 0} for w in ways}
    out["kernels"], out["applications"] = len(files), 0
    try:
        for f in files:
            fn = parse_c(f.read_text())
            for name in NAMES:
                for a in TRANSFORMS[name].find(fn, cfg):
                    out["applications"] += 1
                    got = {}
                    for way, full in ways.items():
                        deps.full_trips = full
                        try:
                            got[way] = apply(fn, a, cfg)
                        except NotApplicable:
                            got[way] = None
                    for way, new in got.items():
                        out[way]["accepted"] += new is not None
                    before, now = got.values()
                    if before != now:           # the two ways disagree: which was right?
                        for way, new in got.items():
                            if new is not None and not evaluator.evaluate(new).ok:
                                out[way]["accepted_wrong"] += 1
    finally:
        deps.full_trips = ways["small loops in full"]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("workload")
    ap.add_argument("--every", type=int, default=1, help="audit every n-th kernel")
    args = ap.parse_args(argv)
    t0 = time.time()
    r = audit(args.run_dir, args.workload, args.every)
    print(f"{r['kernels']} kernels, {r['applications']} applications "
          f"({time.time() - t0:.0f} s)")
    for way in ("truncated", "small loops in full"):
        print(f"{way:>20}: {r[way]['accepted']} accepted, {r[way]['accepted_wrong']} of them "
              "wrong (among those the two ways disagree on)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
