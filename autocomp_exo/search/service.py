"""Evaluation with deduplication: normalize, look up the cache, simulate the rest.

The cache is keyed by the normalized IR, so the same code (however it was
written) is never simulated twice; with a run directory it persists as
``evals.jsonl`` and survives a kill.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from autocomp_exo.runs import JsonlWriter, read_jsonl
from autocomp_exo.search.engine import Engine
from autocomp_exo.search.evaluator import PARSE, EvalResult, Evaluator, failure
from gemmini.errors import AutocompError


@dataclass(frozen=True)
class Evaluated:
    """One program's result and whether it came from the cache."""
    result: EvalResult
    cached: bool


class EvalService:
    """Normalize in this process, simulate new programs on ``engine``, cache by IR key."""

    def __init__(self, evaluator: Evaluator, engine: Engine, cache_path: str | Path | None = None,
                 on_evaluated: Callable[[EvalResult], None] | None = None):
        self.evaluator = evaluator
        self.engine = engine
        self.cache: dict[str, dict] = {}
        self.writer = None
        self.on_evaluated = on_evaluated
        self.simulated = 0
        self.reused = 0                    # results taken from an earlier run's log
        if cache_path is not None:
            for rec in read_jsonl(cache_path):
                self.cache[rec["key"]] = rec
            self.writer = JsonlWriter(cache_path)
        self._logged = set(self.cache)

    def normalize(self, item) -> tuple[object, str] | EvalResult:
        try:
            return self.evaluator.normalize(item)
        except AutocompError as e:
            return failure(PARSE, str(e), code=item if isinstance(item, str) else None)
        except Exception as e:  # noqa: BLE001 - a parser bug must fail one candidate only
            return failure(PARSE, f"{type(e).__name__}: {e}",
                           code=item if isinstance(item, str) else None)

    def evaluate_many(self, items: list) -> list[Evaluated]:
        """Results for ``items`` (code text or IR), in order."""
        out: list[Evaluated | None] = [None] * len(items)
        todo: dict[str, list[int]] = {}
        fns: dict[str, object] = {}
        for i, item in enumerate(items):
            norm = self.normalize(item)
            if isinstance(norm, EvalResult):
                out[i] = Evaluated(norm, False)
                continue
            fn, key = norm
            if key in self.cache:
                out[i] = Evaluated(self._from_cache(key, fn), True)
                if key in self._logged:
                    self.reused += 1
                    self._logged.discard(key)
            else:
                todo.setdefault(key, []).append(i)
                fns[key] = fn
        keys = list(todo)
        results = self.engine.run([fns[k] for k in keys]) if keys else []
        for key, res in zip(keys, results):
            res = replace(res, key=key, fn=res.fn or fns[key])
            self._store(key, res)
            first, *rest = todo[key]
            out[first] = Evaluated(res, False)
            for j in rest:
                out[j] = Evaluated(res, True)
        return out  # type: ignore[return-value]

    def _from_cache(self, key: str, fn) -> EvalResult:
        return replace(EvalResult.from_json(self.cache[key], fn=fn), key=key)

    def _store(self, key: str, res: EvalResult) -> None:
        self.simulated += 1
        rec = res.to_json()
        self.cache[key] = rec
        if self.writer:
            self.writer.append(rec)
        if self.on_evaluated:
            self.on_evaluated(res)

    def close(self) -> None:
        if self.writer:
            self.writer.close()
        self.engine.close()
