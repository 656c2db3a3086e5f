"""Token accounting per model and phase, and the hard budget that stops a run."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from autocomp_exo.search.stop import BudgetExhausted


class BudgetExceeded(BudgetExhausted):
    """The token or money budget is spent; no further LLM calls are made."""


@dataclass
class Tally:
    calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class Usage:
    """Tokens by (model, phase). Cached responses count too, so that a resumed run
    spends its budget exactly as the uninterrupted run would have."""
    max_tokens: int | None = None
    max_usd: float | None = None
    by_key: dict[tuple[str, str], Tally] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check(self) -> None:
        """Raise `BudgetExceeded` when a limit has been reached."""
        t = self.total()
        if self.max_tokens is not None and t.tokens >= self.max_tokens:
            raise BudgetExceeded(f"token budget of {self.max_tokens} spent ({t.tokens} used)")
        if self.max_usd is not None and t.usd >= self.max_usd:
            raise BudgetExceeded(f"budget of ${self.max_usd:.2f} spent (${t.usd:.4f} used)")

    def add(self, model: str, phase: str, prompt: int, completion: int, usd: float,
            cached: bool) -> None:
        with self._lock:
            tally = self.by_key.setdefault((model, phase), Tally())
            tally.calls += 1
            tally.cached_calls += int(cached)
            tally.prompt_tokens += prompt
            tally.completion_tokens += completion
            tally.usd += usd

    def total(self) -> Tally:
        with self._lock:
            out = Tally()
            for t in self.by_key.values():
                out.calls += t.calls
                out.cached_calls += t.cached_calls
                out.prompt_tokens += t.prompt_tokens
                out.completion_tokens += t.completion_tokens
                out.usd += t.usd
            return out

    def to_json(self) -> dict:
        with self._lock:
            return {f"{m}/{p}": vars(t).copy() for (m, p), t in self.by_key.items()}
