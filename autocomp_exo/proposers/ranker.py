"""A learned ranking of the built-in proposer's applications (issue 18, item 5).

The built-in proposer samples its plans from weighted applications (a priori weight,
the report's bound, measured stalls, the static estimate). A `Ranker` multiplies each
weight by factors learned from earlier run logs (``autocomp_exo.search.ranker_fit``):
how much a rewrite of that transformation, under that bound of the parent, cut the
cycles per sample spent on it, relative to the average rewrite; times the same for the
static estimate's verdict on the rewrite (slower, about equal, faster). The factors are
small tables, read from a JSON file (``ranker.json`` next to this module by default) that also
records which runs and which commit it was fitted on.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autocomp_exo.transforms import Application
from gemmini.errors import ConfigError

DEFAULT_PATH = Path(__file__).with_name("ranker.json")
FORMAT = 1
GAIN_BUCKETS = ((0.99, "slower"), (1.01, "equal"))   # static gain below -> bucket; else faster


def gain_bucket(static_gain: float) -> str:
    """The static estimate's verdict on a rewrite: slower, equal (within 1%) or faster."""
    for below, name in GAIN_BUCKETS:
        if static_gain < below:
            return name
    return "faster"


@dataclass(frozen=True)
class RankFeatures:
    """What the ranker sees of one application before it is simulated."""
    transform: str
    bound: str              # the parent's bound from its report ("" when none)
    static_gain: float      # static estimate: parent cycles / rewrite's cycles
    stall: bool             # a measured stall boosted it (`builtin._stall_boost`)

    def to_data(self) -> dict[str, Any]:
        """JSON form (logged with each plan, read back by the trainer)."""
        return {"transform": self.transform, "bound": self.bound,
                "static_gain": round(self.static_gain, 4), "stall": self.stall}

    @staticmethod
    def from_data(d: dict[str, Any]) -> RankFeatures:
        """Inverse of `to_data`; KeyError/TypeError/ValueError on a malformed record."""
        return RankFeatures(str(d["transform"]), str(d.get("bound") or ""),
                            float(d.get("static_gain", 1.0)), bool(d.get("stall", False)))


@dataclass(frozen=True)
class Ranked:
    """One legal application with its sampling weight and the menu item it serves."""
    application: Application
    weight: float
    item: str
    features: RankFeatures


@dataclass(frozen=True)
class Ranker:
    """Learned weight factors: per ``transform|bound`` when that pair was seen in
    training, else per ``transform``, else 1; times the factor of the static gain's
    bucket (`gain_bucket`, 1 when absent). ``lo``/``hi`` clip the product."""
    by_transform: dict[str, float]
    by_transform_bound: dict[str, float]
    lo: float = 0.125
    hi: float = 8.0
    provenance: dict[str, Any] = field(default_factory=dict)
    by_gain: dict[str, float] = field(default_factory=dict)

    def factor(self, f: RankFeatures) -> float:
        """The weight factor of an application with features ``f``."""
        x = self.by_transform_bound.get(f"{f.transform}|{f.bound}",
                                        self.by_transform.get(f.transform, 1.0))
        x *= self.by_gain.get(gain_bucket(f.static_gain), 1.0)
        return min(self.hi, max(self.lo, x))

    def to_data(self) -> dict[str, Any]:
        """JSON form (see `load`)."""
        return {"format": FORMAT, "lo": self.lo, "hi": self.hi,
                "by_transform": self.by_transform,
                "by_transform_bound": self.by_transform_bound, "by_gain": self.by_gain,
                "provenance": self.provenance}

    def save(self, path: str | Path) -> None:
        """Write the JSON form to ``path``."""
        Path(path).write_text(json.dumps(self.to_data(), indent=1, sort_keys=True) + "\n")


def load(path: str | Path | None = None) -> Ranker:
    """The ranker stored at ``path`` (default: the one shipped with the package).
    A missing, unreadable or malformed file is a `ConfigError` naming the file."""
    path = Path(path) if path is not None else DEFAULT_PATH
    try:
        data = json.loads(path.read_text())
    except OSError as e:
        raise ConfigError(f"cannot read the ranker: {e.strerror}", filename=str(path)) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"the ranker is not valid JSON ({e})", filename=str(path)) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"not a ranker file (expected a JSON object with format {FORMAT})",
                          filename=str(path))
    try:
        tables = {k: _factors(data[k]) for k in ("by_transform", "by_transform_bound")}
        tables["by_gain"] = _factors(data.get("by_gain", {}))
        lo, hi = float(data.get("lo", 0.125)), float(data.get("hi", 8.0))
    except KeyError as e:
        raise ConfigError(f"the ranker has no {e.args[0]!r} table", filename=str(path)) from None
    except (TypeError, ValueError) as e:
        raise ConfigError(f"malformed ranker: {e}", filename=str(path)) from None
    if not 0 < lo <= 1 <= hi:
        raise ConfigError(f"ranker clip range must satisfy 0 < lo <= 1 <= hi, got {lo}, {hi}",
                          filename=str(path))
    return Ranker(tables["by_transform"], tables["by_transform_bound"], lo, hi,
                  dict(data.get("provenance") or {}), tables["by_gain"])


def _factors(table: Any) -> dict[str, float]:
    if not isinstance(table, dict):
        raise TypeError(f"expected an object of factors, got {type(table).__name__}")
    out = {}
    for k, v in table.items():
        x = float(v)
        if not math.isfinite(x) or x <= 0:
            raise ValueError(f"factor {k!r} must be a positive number, got {v!r}")
        out[str(k)] = x
    return out
