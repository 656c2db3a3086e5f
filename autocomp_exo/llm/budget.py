"""Token accounting per model and phase, and the hard budget that stops a run.

The budget is *reserved* before a call is sent: a call is admitted only while the
tokens used plus those reserved by calls in flight plus its own estimate fit the
budget; otherwise it waits for the calls in flight to finish. A call is admitted
alone (nothing in flight) whenever some budget is left, so concurrent calls
overshoot the budget by at most one call (given estimates no smaller than the
calls; the estimate is the largest call seen so far).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

from autocomp_exo.search.stop import BudgetExhausted


class BudgetExceeded(BudgetExhausted):
    """The token or money budget is spent; no further LLM calls are made."""


@dataclass
class Tally:
    calls: int = 0                   # finished calls (cached ones included)
    cached_calls: int = 0
    failed_calls: int = 0            # calls that failed for good (after their retries)
    failed_attempts: int = 0         # attempts that failed (retried or not)
    prompt_tokens: int = 0           # of every attempt whose usage is known
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
    _lock: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _reserved_tokens: int = 0
    _reserved_usd: float = 0.0
    _in_flight: int = 0

    @property
    def limited(self) -> bool:
        return self.max_tokens is not None or self.max_usd is not None

    def check(self) -> None:
        """Raise `BudgetExceeded` when a limit has been reached."""
        with self._lock:
            self._check_locked()

    def _check_locked(self) -> None:
        t = self._total_locked()
        if self.max_tokens is not None and t.tokens >= self.max_tokens:
            raise BudgetExceeded(f"token budget of {self.max_tokens} spent ({t.tokens} used)")
        if self.max_usd is not None and t.usd >= self.max_usd:
            raise BudgetExceeded(f"budget of ${self.max_usd:.2f} spent (${t.usd:.4f} used)")

    def _fits_locked(self, tokens: int, usd: float) -> bool:
        t = self._total_locked()
        if self.max_tokens is not None and \
                t.tokens + self._reserved_tokens + tokens > self.max_tokens:
            return False
        if self.max_usd is not None and t.usd + self._reserved_usd + usd > self.max_usd:
            return False
        return True

    @contextmanager
    def reserve(self, tokens: int, usd: float):
        """Hold ``tokens`` / ``usd`` of the budget for one call while it runs (module doc).
        Raises `BudgetExceeded` when nothing is left."""
        if not self.limited:
            yield
            return
        with self._lock:
            while True:
                self._check_locked()
                if self._in_flight == 0 or self._fits_locked(tokens, usd):
                    break
                self._lock.wait()
            self._reserved_tokens += tokens
            self._reserved_usd += usd
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._reserved_tokens -= tokens
                self._reserved_usd -= usd
                self._in_flight -= 1
                self._lock.notify_all()

    def add(self, model: str, phase: str, prompt: int, completion: int, usd: float,
            cached: bool) -> None:
        """Count one finished call."""
        with self._lock:
            tally = self.by_key.setdefault((model, phase), Tally())
            tally.calls += 1
            tally.cached_calls += int(cached)
            tally.prompt_tokens += prompt
            tally.completion_tokens += completion
            tally.usd += usd

    def add_failed_attempt(self, model: str, phase: str, prompt: int, completion: int,
                           usd: float) -> None:
        """Count one failed attempt and the tokens the endpoint reported for it (0 if none)."""
        with self._lock:
            tally = self.by_key.setdefault((model, phase), Tally())
            tally.failed_attempts += 1
            tally.prompt_tokens += prompt
            tally.completion_tokens += completion
            tally.usd += usd

    def add_failed_call(self, model: str, phase: str) -> None:
        with self._lock:
            self.by_key.setdefault((model, phase), Tally()).failed_calls += 1

    def total(self) -> Tally:
        with self._lock:
            return self._total_locked()

    def _total_locked(self) -> Tally:
        out = Tally()
        for t in self.by_key.values():
            for name, value in vars(t).items():
                setattr(out, name, getattr(out, name) + value)
        return out

    def to_json(self) -> dict:
        with self._lock:
            return {f"{m}/{p}": vars(t).copy() for (m, p), t in self.by_key.items()}
