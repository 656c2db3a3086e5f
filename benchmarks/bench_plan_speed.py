"""Seconds the built-in proposer takes to plan one candidate (its analyses dominate).

    python benchmarks/bench_plan_speed.py [WORKLOAD ...] [--file C_FILE ...]

For each workload, plans on two programs: Exo's basic mapping, and that mapping after
``resident_all``, ``double_buffer``, ``unroll_nest`` and ``interleave_all`` (a mid-search kernel, larger and with guarded
and prefetched loads). Planning here ranks every application of every menu item (no
dropout) with a fresh proposer (no cache), so it is the worst case of one planning call.
``--file`` plans on given programs too (e.g. a run's ``best.c``: late-search kernels,
fully unrolled and guarded, are where the analyses cost most).
Prints CPU seconds of this process (other load on the machine does not count).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autocomp_exo.proposers.builtin import BuiltinProposer  # noqa: E402
from autocomp_exo.transforms import NotApplicable, applications, apply  # noqa: E402
from lowering.workload import Workload  # noqa: E402
from lowering.suite import by_name  # noqa: E402
from lowering.parser import parse_c  # noqa: E402

DEFAULT = ("gemm_512x512x512", "conv_30x30x128", "conv_58x58x64")
RECIPE = ("resident_all", "double_buffer", "unroll_nest", "interleave_all")
ALL_ITEMS = set(range(1, 18))


def mid_search(fn, proposer: BuiltinProposer):
    """``fn`` after the first application of each transformation of `RECIPE` that applies."""
    for name in RECIPE:
        for a in applications(fn, proposer.config, [name]):
            try:
                fn = apply(fn, a, proposer.config)
                break
            except NotApplicable:
                continue
    return fn


def plan_seconds(fn) -> tuple[float, int]:
    """CPU seconds of one full ranking of ``fn``'s applications, and how many it kept."""
    start = time.process_time()
    ranked = BuiltinProposer()._ranked(fn, None, ALL_ITEMS)
    return time.process_time() - start, len(ranked)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workloads", nargs="*")
    ap.add_argument("--file", action="append", default=[], help="a C file to plan on")
    args = ap.parse_args(argv)
    if not args.workloads and not args.file:
        args.workloads = list(DEFAULT)
    print(f"{'workload':<22} {'program':<12} {'seconds':>8} {'ranked':>7}")
    for name in args.workloads:
        start = parse_c(Workload.from_spec(by_name(name)).mapped_c().c_text)
        for label, fn in (("start", start), ("mid-search", mid_search(start, BuiltinProposer()))):
            secs, n = plan_seconds(fn)
            print(f"{name:<22} {label:<12} {secs:8.1f} {n:7d}", flush=True)
    for path in args.file:
        secs, n = plan_seconds(parse_c(Path(path).read_text(), filename=path))
        print(f"{Path(path).name:<35} {secs:8.1f} {n:7d}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
