"""Fit the built-in proposer's learned ranker (`autocomp_exo.proposers.ranker`) from run logs.

Each evaluated rewrite of a built-in plan is one observation: its transformation, the
parent's bound (from the plan's logged features, or for older logs the parent's report
in ``evals.jsonl``), and its value, the log of the cycles it cut from its parent
(``ln(parent / child)``, 0 for a slower, equal or failed rewrite: those samples buy
nothing). Early rewrites cut far more than late ones, so each value is taken relative
to the mean value of its iteration in its run (the rewrites it competed with for the
beam); an iteration where nothing improved says nothing and is left out. The ranker's
factor for a group is its mean relative value per sample over the mean of all
observations, shrunk towards the level above (pair -> transformation -> all) by
``prior`` pseudo-observations, so a rarely seen group stays near 1. The static gain's
buckets (`ranker.gain_bucket`) get their factors the same way, fitted on the values
left after dividing out each observation's transformation factor.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from autocomp_exo.proposers.ranker import RankFeatures, Ranker, gain_bucket

DEFAULT_PRIOR = 8.0


@dataclass(frozen=True)
class Observation:
    """One evaluated rewrite of a built-in plan."""
    features: RankFeatures
    parent_cycles: int
    cycles: int | None
    ok: bool
    run: str = ""
    iteration: int = 0

    @property
    def value(self) -> float:
        """ln(parent / child) when it is faster, else 0."""
        if not self.ok or not self.cycles or self.cycles >= self.parent_cycles:
            return 0.0
        return math.log(self.parent_cycles / self.cycles)


def read_run(run_dir: str | Path) -> list[Observation]:
    """The built-in rewrites evaluated in one run directory (first attempts only).
    A directory without ``events.jsonl`` or with a malformed line is a ValueError
    naming the file and line."""
    run_dir = Path(run_dir)
    events = run_dir / "events.jsonl"
    if not events.is_file():
        raise ValueError(f"{run_dir}: not a run directory (no events.jsonl)")
    bounds = _bounds(run_dir / "evals.jsonl")
    out = []
    for n, line in enumerate(events.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            e = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{events}:{n}: not JSON ({err})") from None
        if (e.get("event") != "candidate" or e.get("planner") != "builtin"
                or e.get("repair_round") or not e.get("transform")
                or not e.get("parent_cycles")):
            continue
        if e.get("features"):
            feats = RankFeatures.from_data(e["features"])
        else:   # older logs: the transformation and the parent's reported bound
            feats = RankFeatures(e["transform"], bounds.get(e.get("parent"), ""), 1.0, False)
        out.append(Observation(feats, int(e["parent_cycles"]), e.get("cycles"),
                               bool(e.get("ok")), str(run_dir), int(e.get("iteration") or 0)))
    return out


def _bounds(evals: Path) -> dict[str, str]:
    """Candidate key -> the bound of its report, from ``evals.jsonl`` (if any)."""
    out: dict[str, str] = {}
    if not evals.is_file():
        return out
    for line in evals.read_text().splitlines():
        try:
            e = json.loads(line)
        except json.JSONDecodeError:
            continue
        fb = e.get("feedback") or {}
        if e.get("key") and fb.get("bound"):
            out[e["key"]] = fb["bound"]
    return out


@dataclass(frozen=True)
class GroupStats:
    """Observations, improvements and summed value of one group."""
    n: int
    improved: int
    value: float


def relative_values(obs: list[Observation]) -> list[tuple[Observation, float]]:
    """Each observation with its value over the mean value of its run's iteration;
    iterations where nothing improved are left out."""
    per: dict[tuple[str, int], list[Observation]] = defaultdict(list)
    for o in obs:
        per[(o.run, o.iteration)].append(o)
    out = []
    for group_obs in per.values():
        mean = sum(o.value for o in group_obs) / len(group_obs)
        if mean > 0:
            out += [(o, o.value / mean) for o in group_obs]
    return out


def group(values: list[tuple[Observation, float]], key) -> dict[str, GroupStats]:
    """Per ``key(observation)``: count, improvements and summed (relative) value."""
    acc: dict[str, list] = defaultdict(lambda: [0, 0, 0.0])
    for o, v in values:
        a = acc[key(o)]
        a[0] += 1
        a[1] += o.value > 0
        a[2] += v
    return {k: GroupStats(*v) for k, v in acc.items()}


def fit(obs: list[Observation], prior: float = DEFAULT_PRIOR, lo: float = 0.125,
        hi: float = 8.0, provenance: dict | None = None) -> Ranker:
    """The ranker of ``obs``: per transformation and per transformation|bound, the mean
    relative value per sample over the overall mean, shrunk by ``prior`` pseudo-samples."""
    if not obs:
        raise ValueError("no built-in rewrites in the given runs: nothing to fit")
    if prior < 0:
        raise ValueError(f"prior must be at least 0, got {prior}")
    values = relative_values(obs)
    if not values:
        raise ValueError("no rewrite in the given runs improved its parent: nothing to fit")
    mean = sum(v for _, v in values) / len(values)
    per_t: dict[str, float] = {}
    for t, g in group(values, lambda o: o.features.transform).items():
        per_t[t] = (g.value + prior * mean) / (g.n + prior)
    per_tb: dict[str, float] = {}
    for k, g in group(values, lambda o: f"{o.features.transform}|{o.features.bound}").items():
        t = k.split("|", 1)[0]
        per_tb[k] = (g.value + prior * per_t[t]) / (g.n + prior)
    clip = lambda x: min(hi, max(lo, x / mean))   # noqa: E731 - local shorthand
    by_t = {t: round(clip(v), 4) for t, v in sorted(per_t.items())}
    by_tb = {k: round(clip(v), 4) for k, v in sorted(per_tb.items())}
    resid = [(o, v / by_tb[f"{o.features.transform}|{o.features.bound}"]) for o, v in values]
    rmean = sum(v for _, v in resid) / len(resid)
    by_g = {}
    if rmean > 0:
        for b, g in group(resid, lambda o: gain_bucket(o.features.static_gain)).items():
            by_g[b] = round(min(hi, max(lo, (g.value + prior * rmean) / (g.n + prior) / rmean)), 4)
    return Ranker(by_t, by_tb, lo, hi,
                  dict(provenance or {}, observations=len(values), prior=prior), by_g)
