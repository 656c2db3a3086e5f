"""Settings: nested frozen dataclasses, loaded from a TOML file and overridden by flags.

A TOML file mirrors the dataclasses: top-level tables ``[search]``,
``[evaluation]``, ``[llm]`` (with ``[[llm.models]]``), ``[prompts]`` and ``[build]``, plus the
top-level key ``proposer``. An unknown key is a `ConfigError` naming the key and
the file; so is a value of the wrong type.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gemmini.config import CONFIGS, DEFAULT_CONFIG
from gemmini.errors import ConfigError

RENAMED = {"evaluation.config": "evaluation.gemmini"}
"""Old dotted keys still read (with a DeprecationWarning) -> their new names."""


def _at_least(obj, low, *names: str) -> None:
    """A ConfigError naming the first of ``names`` (None allowed) below ``low``."""
    for name in names:
        value = getattr(obj, name)
        if value is not None and not isinstance(value, bool) and value < low:
            raise ConfigError(f"{name}: must be at least {low}, got {value}")


@dataclass(frozen=True)
class SearchSettings:
    """Beam search (method.md sections 1 and 6)."""
    beam_width: int = 4                 # B
    plans_per_candidate: int = 4        # N
    impls_per_plan: int = 2             # K
    iterations: int = 8                 # T
    dropout: float = 0.7                # probability of dropping each menu item
    seed: int = 0
    patience: int | None = 3            # stop after this many iterations without improvement
    max_samples: int | None = None      # most candidates evaluated (sample budget)
    max_seconds: float | None = None    # wall-clock budget
    repair_attempts: int = 1            # feed a parse/check failure back this many times
    parallel_requests: int = 8          # proposer calls in flight at once
    history_limit: int = 6              # earlier attempts shown to a plan (candidate + ancestors)
    accept_equal_busier_drop: bool = False  # equal cycles but a less busy busiest engine survives
    seed_baselines: bool = True         # the workload's loop-FSM and vendor programs join beam 0
    stream: bool = True                 # a local proposer plans and rewrites while workers evaluate
    ranker: str = "off"                 # built-in plans: off | default (shipped) | a ranker file
    family_share: float = 0.5           # most of the beam descending from one first step (1: no cap)
    family_patience: int = 3            # a family not improved in this many iterations loses that
    family_margin: float = 0.1          # ... and so does one this much slower than the leader

    def __post_init__(self):
        _at_least(self, 1, "beam_width", "plans_per_candidate", "impls_per_plan",
                  "parallel_requests", "patience", "max_samples", "family_patience")
        _at_least(self, 0, "iterations", "repair_attempts", "max_seconds")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout: must be at least 0 and below 1, got {self.dropout}")
        if self.family_margin < 0:
            raise ConfigError(f"family_margin: must be at least 0, got {self.family_margin}")
        if not 0.0 < self.family_share <= 1.0:
            raise ConfigError(f"family_share: must be above 0 and at most 1, "
                              f"got {self.family_share}")


ENGINES = ("process", "inline", "ray")


@dataclass(frozen=True)
class EvaluationSettings:
    gemmini: str = DEFAULT_CONFIG       # Gemmini configuration name (gemmini.config.CONFIGS)
    engine: str = "process"             # process | inline | ray
    ray_address: str | None = None     # engine "ray": a cluster's address (None: start one here)
    workers: int = 2
    timeout: float = 300.0              # seconds per candidate
    input_kinds: tuple[str, ...] = ("uniform", "extreme")  # lowering.reference input sets
    input_seeds: tuple[int, ...] = (0,)
    cpu_cost: str = "compiled"          # compiled (the judge) | compiled-gcc | compiled-zig | ir

    def __post_init__(self):
        if self.gemmini not in CONFIGS:
            raise ConfigError(f"gemmini: unknown Gemmini configuration {self.gemmini!r} "
                              f"(known: {', '.join(CONFIGS)})")
        if self.engine not in ENGINES:
            raise ConfigError(f"engine: unknown evaluation engine {self.engine!r} "
                              f"(known: {', '.join(ENGINES)})")
        _at_least(self, 1, "workers")
        if self.timeout <= 0:
            raise ConfigError(f"timeout: must be above 0, got {self.timeout}")


@dataclass(frozen=True)
class ModelSettings:
    """One model of the LLM ensemble (any OpenAI-compatible endpoint)."""
    name: str = "gpt-4o-mini"
    base_url: str | None = None         # default: $OPENAI_BASE_URL or the openai default
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 1.0
    max_tokens: int | None = None
    usd_per_mtok_in: float | None = None
    usd_per_mtok_out: float | None = None
    send_seed: bool = True              # send a per-sample ``seed`` (off for endpoints without it)
    extra: dict[str, Any] = field(default_factory=dict)  # extra request body fields


@dataclass(frozen=True)
class LLMSettings:
    models: tuple[ModelSettings, ...] = (ModelSettings(),)
    concurrency: int = 8
    timeout: float = 900.0              # seconds per request: reasoning models may think minutes
    retries: int = 5                    # retries of connection errors, 429 and 5xx
    timeout_retries: int = 1            # a timed-out request is sent again at most this often
    max_consecutive_failures: int = 3   # failed calls in a row to one endpoint stop the run
    backoff_base: float = 1.0           # seconds; doubled on every retry
    backoff_max: float = 60.0
    max_tokens_total: int | None = None
    max_usd: float | None = None
    cache_dir: str | None = None        # default: the run directory
    exchange_dir: str | None = None     # answer requests by files instead of HTTP (exchange)
    exchange_poll: float = 1.0          # seconds between looks for an answer file
    exchange_timeout: float | None = 3600.0  # seconds to wait for one answer (None: forever)


@dataclass(frozen=True)
class PromptSettings:
    workload_kind: str = "gemm"         # gemm | conv | linalg (selects the menu)
    menu_file: str | None = None
    example: bool = False               # worked tiling example in the implementation prompt
    isa_exclude: tuple[str, ...] = ("loop_ws",)


@dataclass(frozen=True)
class BuildSettings:
    """`autocomp_exo.compile_procs` in a build (docs/build.md)."""
    tuning_db: str = "autocomp_tuning.sqlite"  # the tuning database (relative: to the cwd)
    search: bool = True                 # search on a miss (False: Exo's code and a warning)
    max_samples: int = 100              # sample budget of one proc's search on a miss
    reuse: bool = True                  # seed a miss's search with the closest entries' steps
    reuse_entries: int = 1              # how many close entries' steps to try
    refine_iterations: int = 2          # full-search iterations after the reused steps
    reuse_share: float = 0.2            # share of max_samples the replay of the steps may use

    def __post_init__(self):
        _at_least(self, 1, "max_samples", "reuse_entries")
        _at_least(self, 0, "refine_iterations")
        if not 0.0 < self.reuse_share <= 1.0:
            raise ConfigError(f"build.reuse_share must be in (0, 1], not {self.reuse_share}")


PROPOSERS = ("builtin", "llm", "ensemble", "exchange")


@dataclass(frozen=True)
class Settings:
    proposer: str = "builtin"           # builtin | llm | ensemble (builtin + llm) | exchange
    search: SearchSettings = SearchSettings()
    evaluation: EvaluationSettings = EvaluationSettings()
    llm: LLMSettings = LLMSettings()
    prompts: PromptSettings = PromptSettings()
    build: BuildSettings = BuildSettings()

    def __post_init__(self):
        if self.proposer not in PROPOSERS:
            raise ConfigError(f"proposer: unknown proposer {self.proposer!r} "
                              f"(known: {', '.join(PROPOSERS)})")



def to_dict(obj) -> dict:
    """Plain (JSON/TOML-friendly) form of a settings object."""
    return dataclasses.asdict(obj)


def from_dict(cls, data: dict, *, where: str = "<settings>", prefix: str = ""):
    """Build dataclass ``cls`` from ``data``, checking keys and types."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'settings'}: expected a table", filename=where)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if path in RENAMED:
            new = RENAMED[path]
            warnings.warn(f"{where}: setting {path!r} is deprecated; use {new!r}",
                          DeprecationWarning, stacklevel=2)
            path, key = new, new.rpartition(".")[2]
        if key not in names:
            raise ConfigError(f"unknown setting {path!r}", filename=where)
        kwargs[key] = _convert(hints[key], value, where, path)
    try:
        return cls(**kwargs)
    except ConfigError as e:       # a range check of __post_init__: say where
        raise ConfigError(f"{prefix}{e.message}", filename=where) from None


def _convert(tp, value, where: str, path: str):
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where=where, prefix=path + ".")
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(a, value, where, path)
            except ConfigError as e:
                errors.append(e)
        raise errors[0] if errors else ConfigError(f"{path}: bad value", filename=where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {value!r}", filename=where)
        (item_t, *_) = typing.get_args(tp)
        return tuple(_convert(item_t, v, where, f"{path}[{i}]") for i, v in enumerate(value))
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a table, got {value!r}", filename=where)
        return dict(value)
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is Any:
        return value
    if isinstance(tp, type) and isinstance(value, tp) and not (
            tp is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"{path}: expected {getattr(tp, '__name__', tp)}, got {value!r}",
                      filename=where)


def load_settings(path: str | Path | None = None, overrides: dict | None = None) -> Settings:
    """Settings from a TOML file (optional), then ``overrides`` (dotted keys) on top."""
    data: dict = {}
    where = "<defaults>"
    if path is not None:
        where = str(path)
        try:
            data = tomllib.loads(Path(path).read_text())
        except OSError as e:
            raise ConfigError(f"cannot read settings: {e.strerror}", filename=where) from None
        except UnicodeDecodeError as e:
            raise ConfigError(f"not a text file (byte {e.start} is not UTF-8)",
                              filename=where) from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"invalid TOML: {e}", filename=where) from None
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = data
        *parents, last = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return from_dict(Settings, data, where=where if not overrides else f"{where} + flags")
