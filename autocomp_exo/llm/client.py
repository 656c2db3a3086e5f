"""A chat client for any OpenAI-compatible endpoint, built on the ``openai`` package.

It adds what a long search needs on top of the bare API: a concurrency limit,
per-request timeouts, retries with exponential backoff that honour
``Retry-After`` (the openai client's own retries are off, ``max_retries=0``), a
disk cache so a resumed run never repeats a finished call, token accounting per
model and phase (failed attempts included where the endpoint reports usage), a
hard budget reserved before each call, and a stop after too many failed calls in a
row (`EndpointError`). The wire is a *transport*: HTTP (`OpenAITransport`) or
files in a directory (`autocomp_exo.llm.exchange.ExchangeTransport`).
"""

from __future__ import annotations

import email.utils
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from autocomp_exo.llm.budget import BudgetExceeded, Usage
from autocomp_exo.llm.cache import LLMCache, call_key
from autocomp_exo.search.stop import SearchAborted
from autocomp_exo.settings import LLMSettings, ModelSettings
from gemmini.errors import ConfigError


class LLMError(Exception):
    """A call failed for good (retries exhausted or a non-retryable error)."""


class EndpointError(SearchAborted):
    """Too many calls in a row failed: the endpoint is down or misconfigured. The
    search stops (results so far saved) and the command exits non-zero."""


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    cached: bool
    key: str


@dataclass(frozen=True)
class Reply:
    """What a transport got back: the text (None: no content) and the reported usage."""
    text: str | None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class NoContent(Exception):
    """A reply without text; its usage still counts."""

    def __init__(self, reply: Reply):
        super().__init__("response without content")
        self.reply = reply


class Transport(Protocol):
    """How a request reaches a model and its answer comes back."""

    def endpoint(self, model: ModelSettings) -> str:
        """Where ``model`` is reached, for error messages (base URL + model)."""
        ...

    def check(self, model: ModelSettings) -> None:
        """Raise `ConfigError` now if ``model`` cannot be used (a missing API key)."""
        ...

    def send(self, model: ModelSettings, messages: list[dict], params: dict, *,
             key: str, phase: str, sample: int) -> Reply:
        ...

    def retryable(self, exc: Exception) -> bool:
        ...

    def is_timeout(self, exc: Exception) -> bool:
        ...

    def close(self) -> None:
        ...


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


class OpenAITransport:
    """Chat completions over HTTP with the ``openai`` package (imported on first use)."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def endpoint(self, model: ModelSettings) -> str:
        url = model.base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        return f"{url} (model {model.name})"

    def check(self, model: ModelSettings) -> None:
        self._client(model)

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
                    max_retries=0, timeout=self.timeout)
            return self._clients[key]

    def send(self, model, messages, params, *, key, phase, sample) -> Reply:
        resp = self._client(model).chat.completions.create(
            model=model.name, messages=messages, **params)
        usage = getattr(resp, "usage", None)
        reply = Reply(resp.choices[0].message.content if resp.choices else None,
                      getattr(usage, "prompt_tokens", None),
                      getattr(usage, "completion_tokens", None))
        if reply.text is None:
            raise NoContent(reply)
        return reply

    def retryable(self, exc: Exception) -> bool:
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

    def is_timeout(self, exc: Exception) -> bool:
        import openai
        return isinstance(exc, openai.APITimeoutError)

    def close(self) -> None:
        for c in self._clients.values():
            try:
                c.close()
            except Exception:  # noqa: BLE001
                pass


class LLMClient:
    """Thread-safe; ``complete`` blocks, ``complete_many`` fans samples out."""

    def __init__(self, settings: LLMSettings = LLMSettings(), *, cache: LLMCache | None = None,
                 log: Callable[..., None] | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 transport: Transport | None = None):
        self.s = settings
        self.cache = cache or LLMCache()
        self.usage = Usage(settings.max_tokens_total, settings.max_usd)
        self.log = log or (lambda event, **kw: None)
        self.sleep = sleep
        self.transport = transport or OpenAITransport(settings.timeout)
        self._sem = threading.BoundedSemaphore(max(1, settings.concurrency))
        self._pool = ThreadPoolExecutor(max_workers=max(1, settings.concurrency))
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}       # endpoint -> failed calls in a row
        self._dead: EndpointError | None = None
        self._largest: dict[str, tuple[int, int]] = {}  # model -> largest (prompt, completion)

    def check_models(self, models) -> None:
        """Raise `ConfigError` now if a model's API key is missing (not mid-search)."""
        for m in models:
            self.transport.check(m)

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

    def _seen(self, model: ModelSettings, prompt: int, completion: int) -> None:
        with self._lock:
            p, c = self._largest.get(model.name, (0, 0))
            self._largest[model.name] = (max(p, prompt), max(c, completion))

    def _estimate_call(self, model: ModelSettings, messages: list[dict]) -> tuple[int, float]:
        """Tokens (and dollars) to reserve for one call: the largest call of this model so
        far, at least this prompt plus ``max_tokens`` (or 1024 before any answer)."""
        with self._lock:
            p, c = self._largest.get(model.name, (0, 0))
        p = max(p, _estimate(messages))
        c = max(c, model.max_tokens or (0 if c else 1024))
        return p + c, self._price(model, p, c)

    def complete(self, model: ModelSettings, messages: list[dict], *, phase: str,
                 sample: int = 0, seed: int | None = None) -> Completion:
        """One response (from the cache when this exact call finished before)."""
        params = self._params(model, seed)
        key = call_key(model.name, messages, params, sample)
        hit = self.cache.get(key)
        if hit is not None:
            p, c = hit["prompt_tokens"], hit["completion_tokens"]
            self._seen(model, p, c)
            self.usage.add(model.name, phase, p, c, self._price(model, p, c), cached=True)
            self.log("llm_cache_hit", key=key, model=model.name, phase=phase, sample=sample)
            return Completion(hit["text"], p, c, True, key)
        if self._dead is not None:
            raise self._dead
        tokens, usd = self._estimate_call(model, messages)
        with self.usage.reserve(tokens, usd):
            try:
                text, p, c = self._request(model, messages, params, key, phase, sample)
            except LLMError as e:
                self._failed(model, phase, e)
                raise
        with self._lock:
            self._failures[self.transport.endpoint(model)] = 0
        self._seen(model, p, c)
        self.cache.put(key, {"model": model.name, "phase": phase, "sample": sample,
                             "text": text, "prompt_tokens": p, "completion_tokens": c})
        self.usage.add(model.name, phase, p, c, self._price(model, p, c), cached=False)
        self.log("llm_call", key=key, model=model.name, phase=phase, sample=sample,
                 params=params, messages=messages, response=text,
                 prompt_tokens=p, completion_tokens=c)
        return Completion(text, p, c, False, key)

    def _failed(self, model: ModelSettings, phase: str, error: LLMError) -> None:
        """Count a failed call; after ``max_consecutive_failures`` in a row to one
        endpoint, every further call raises `EndpointError`."""
        self.usage.add_failed_call(model.name, phase)
        where = self.transport.endpoint(model)
        with self._lock:
            n = self._failures[where] = self._failures.get(where, 0) + 1
            limit = self.s.max_consecutive_failures
            if limit and n >= limit and self._dead is None:
                last = " ".join(str(error).split())[:300]
                self._dead = EndpointError(
                    f"LLM endpoint {where} failed {n} calls in a row; last error: {last}")
            dead = self._dead
        if dead is not None:
            raise dead

    def complete_many(self, model: ModelSettings, messages: list[dict], n: int, *,
                      phase: str, seeds: list[int | None]) -> list[Completion | Exception]:
        """``n`` samples of one prompt, concurrently; failures come back as exceptions
        (an `EndpointError` is raised)."""
        def one(i):
            try:
                return self.complete(model, messages, phase=phase, sample=i, seed=seeds[i])
            except (LLMError, BudgetExceeded) as e:
                return e
        results = list(self._pool.map(one, range(n)))
        return results

    def _request(self, model: ModelSettings, messages: list[dict], params: dict, key: str,
                 phase: str, sample: int) -> tuple[str, int, int]:
        delay = self.s.backoff_base
        last: Exception | None = None
        timeouts = 0
        attempt = 0
        while True:
            try:
                with self._sem:
                    reply = self.transport.send(model, messages, params, key=key, phase=phase,
                                                sample=sample)
                p = reply.prompt_tokens or _estimate(messages)
                c = reply.completion_tokens or max(1, len(reply.text) // 4)
                return reply.text, int(p), int(c)
            except ConfigError:
                raise
            except Exception as e:  # noqa: BLE001 - classified below
                last = e
                reply = getattr(e, "reply", None)
                p = int(getattr(reply, "prompt_tokens", None) or 0)
                c = int(getattr(reply, "completion_tokens", None) or 0)
                self.usage.add_failed_attempt(model.name, phase, p, c, self._price(model, p, c))
                timed_out = self.transport.is_timeout(e)
                timeouts += int(timed_out)
                retry = (self.transport.retryable(e) or isinstance(e, NoContent)) \
                    and attempt < self.s.retries \
                    and not (timed_out and timeouts > self.s.timeout_retries)
                if not retry:
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
                attempt += 1
        self.log("llm_failed", key=key, model=model.name, phase=phase,
                 endpoint=self.transport.endpoint(model),
                 error=f"{type(last).__name__}: {last}"[:500])
        raise LLMError(f"{model.name}: {type(last).__name__}: {last}")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.cache.close()
        self.transport.close()


def _estimate(messages: list[dict]) -> int:
    return max(1, sum(len(str(m.get("content", ""))) for m in messages) // 4)
