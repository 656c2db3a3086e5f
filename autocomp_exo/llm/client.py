"""A chat client for any OpenAI-compatible endpoint, built on the ``openai`` package.

It adds what a long search needs on top of the bare API: a concurrency limit,
per-request timeouts, retries with exponential backoff that honour
``Retry-After`` (the openai client's own retries are off, ``max_retries=0``), a
disk cache so a resumed run never repeats a finished call, token accounting per
model and phase, and a hard budget.
"""

from __future__ import annotations

import email.utils
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

from autocomp_exo.llm.budget import BudgetExceeded, Usage
from autocomp_exo.llm.cache import LLMCache, call_key
from autocomp_exo.settings import LLMSettings, ModelSettings
from gemmini.errors import ConfigError


class LLMError(Exception):
    """A call failed for good (retries exhausted or a non-retryable error)."""


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    cached: bool
    key: str


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _retryable(exc: Exception) -> bool:
    import openai
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError,
                        openai.RateLimitError, openai.InternalServerError)):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError
                  | openai.BadRequestError | openai.NotFoundError):
        return False
    # malformed bodies and the like: worth another try
    return True


class LLMClient:
    """Thread-safe; ``complete`` blocks, ``complete_many`` fans samples out."""

    def __init__(self, settings: LLMSettings = LLMSettings(), *, cache: LLMCache | None = None,
                 log: Callable[..., None] | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.s = settings
        self.cache = cache or LLMCache()
        self.usage = Usage(settings.max_tokens_total, settings.max_usd)
        self.log = log or (lambda event, **kw: None)
        self.sleep = sleep
        self._sem = threading.BoundedSemaphore(max(1, settings.concurrency))
        self._pool = ThreadPoolExecutor(max_workers=max(1, settings.concurrency))
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _client(self, model: ModelSettings):
        import openai
        with self._lock:
            key = f"{model.base_url}|{model.api_key_env}"
            if key not in self._clients:
                api_key = os.environ.get(model.api_key_env)
                if not api_key:
                    raise ConfigError(
                        f"no API key for model {model.name!r}: environment variable "
                        f"{model.api_key_env} is not set")
                self._clients[key] = openai.OpenAI(
                    api_key=api_key, base_url=model.base_url or os.environ.get("OPENAI_BASE_URL"),
                    max_retries=0, timeout=self.s.timeout)
            return self._clients[key]

    def check_models(self, models) -> None:
        """Raise `ConfigError` now if a model's API key is missing (not mid-search)."""
        for m in models:
            self._client(m)

    def _params(self, model: ModelSettings, seed: int | None) -> dict:
        params: dict[str, Any] = {"temperature": model.temperature}
        if model.max_tokens is not None:
            params["max_tokens"] = model.max_tokens
        if seed is not None and model.send_seed:
            params["seed"] = seed
        params.update(model.extra)
        return params

    def _price(self, model: ModelSettings, prompt: int, completion: int) -> float:
        usd = 0.0
        if model.usd_per_mtok_in:
            usd += prompt * model.usd_per_mtok_in / 1e6
        if model.usd_per_mtok_out:
            usd += completion * model.usd_per_mtok_out / 1e6
        return usd

    def complete(self, model: ModelSettings, messages: list[dict], *, phase: str,
                 sample: int = 0, seed: int | None = None) -> Completion:
        """One response (from the cache when this exact call finished before)."""
        params = self._params(model, seed)
        key = call_key(model.name, messages, params, sample)
        hit = self.cache.get(key)
        if hit is not None:
            p, c = hit["prompt_tokens"], hit["completion_tokens"]
            self.usage.add(model.name, phase, p, c, self._price(model, p, c), cached=True)
            self.log("llm_cache_hit", key=key, model=model.name, phase=phase, sample=sample)
            return Completion(hit["text"], p, c, True, key)
        self.usage.check()
        text, p, c = self._request(model, messages, params, key, phase)
        self.cache.put(key, {"model": model.name, "phase": phase, "sample": sample,
                             "text": text, "prompt_tokens": p, "completion_tokens": c})
        self.usage.add(model.name, phase, p, c, self._price(model, p, c), cached=False)
        self.log("llm_call", key=key, model=model.name, phase=phase, sample=sample,
                 params=params, messages=messages, response=text,
                 prompt_tokens=p, completion_tokens=c)
        return Completion(text, p, c, False, key)

    def complete_many(self, model: ModelSettings, messages: list[dict], n: int, *,
                      phase: str, seeds: list[int | None]) -> list[Completion | Exception]:
        """``n`` samples of one prompt, concurrently; failures come back as exceptions."""
        def one(i):
            try:
                return self.complete(model, messages, phase=phase, sample=i, seed=seeds[i])
            except (LLMError, BudgetExceeded) as e:
                return e
        return list(self._pool.map(one, range(n)))

    def _request(self, model: ModelSettings, messages: list[dict], params: dict, key: str,
                 phase: str) -> tuple[str, int, int]:
        client = self._client(model)
        delay = self.s.backoff_base
        last: Exception | None = None
        for attempt in range(self.s.retries + 1):
            self.usage.check()
            try:
                with self._sem:
                    resp = client.chat.completions.create(
                        model=model.name, messages=messages, **params)
                text = resp.choices[0].message.content
                if text is None:
                    raise LLMError("response without content")
                usage = getattr(resp, "usage", None)
                p = getattr(usage, "prompt_tokens", None) or _estimate(messages)
                c = getattr(usage, "completion_tokens", None) or max(1, len(text) // 4)
                return text, int(p), int(c)
            except BudgetExceeded:
                raise
            except Exception as e:  # noqa: BLE001 - classified below
                last = e
                if not _retryable(e) or attempt == self.s.retries:
                    break
                wait = _retry_after(e)
                if wait is None:
                    wait = min(self.s.backoff_max, delay) * (0.5 + random.random() / 2)
                wait = min(wait, self.s.backoff_max)
                self.log("llm_retry", key=key, model=model.name, phase=phase,
                         attempt=attempt + 1, wait=round(wait, 3),
                         error=f"{type(e).__name__}: {e}"[:300])
                self.sleep(wait)
                delay *= 2
        self.log("llm_failed", key=key, model=model.name, phase=phase,
                 error=f"{type(last).__name__}: {last}"[:500])
        raise LLMError(f"{model.name}: {type(last).__name__}: {last}")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.cache.close()
        for c in self._clients.values():
            try:
                c.close()
            except Exception:  # noqa: BLE001
                pass


def _estimate(messages: list[dict]) -> int:
    return max(1, sum(len(str(m.get("content", ""))) for m in messages) // 4)
