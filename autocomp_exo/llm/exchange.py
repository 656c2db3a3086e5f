"""The exchange transport: each LLM request is a file, and the answer is a file someone
writes, so that a person with a chat window, or any agent, can be the model.

Layout of an exchange directory::

    README.md                        how to answer (written when the run starts)
    requests/NNNN_PHASE_KEY.md       one request: instructions, then the messages as text
    requests/NNNN_PHASE_KEY.json     the same request as JSON (messages, answer path)
    answers/NNNN_PHASE_KEY.md        the answer, written by whoever answers

``NNNN`` numbers the requests in the order they were first asked; ``KEY`` is the
request's LLM cache key, so a restarted run finds its earlier requests (and their
answers) again instead of asking anew. An answer is read once its file exists, is not
empty and has not changed for one poll interval. A request left unanswered for
``timeout`` seconds fails like an HTTP call that timed out (and counts toward the
consecutive-failure stop). Everything else (cache, resume, budget, token counts)
works as for an HTTP endpoint: this is only the wire.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from autocomp_exo.llm.client import Reply
from autocomp_exo.runs import atomic_write
from autocomp_exo.settings import ModelSettings

FORMATS = {
    "plan": "Plain text. Start with a line `CHOICE: <menu number>`, then explain the plan "
            "(do not write the full new code).",
    "implement": "The complete new C function in one fenced ```c code block (text around "
                 "it is ignored).",
    "repair": "The complete corrected C function in one fenced ```c code block (text around "
              "it is ignored).",
}

README = """# autocomp-exo exchange directory

autocomp-exo is waiting for answers here: every file in `requests/` is one request to a
chat model; answer it by writing the file its header names, under `answers/`.

- `autocomp-exo exchange pending {dir}` lists the requests still waiting.
- Each `requests/*.md` starts with the answer path and the expected format, then the
  chat messages (system, user, maybe an earlier assistant answer and a follow-up).
  `requests/*.json` holds the same request as JSON.
- Write the answer as plain text, as a chat model would reply. autocomp-exo reads it once
  the file has not changed for {poll:g} s (writing to a temporary name and renaming is
  safest). Do not edit an answer after it was read: answers are cached in the run.
- Several requests may carry the same prompt (samples): give each an independent answer.
- Unanswered requests fail after {timeout}; a restarted run asks only what is still
  unanswered.
"""


class ExchangeTimeout(Exception):
    """No answer arrived in time."""


@dataclass(frozen=True)
class Pending:
    number: int
    phase: str
    request: Path
    answer: Path


def _stem(number: int, phase: str, key: str) -> str:
    return f"{number:04d}_{phase}_{key}"


def pending(directory: str | Path) -> list[Pending]:
    """The requests of ``directory`` that have no answer yet, oldest first."""
    d = Path(directory)
    out = []
    for req in sorted((d / "requests").glob("*.json")):
        number, phase, _key = req.stem.split("_", 2)
        answer = d / "answers" / f"{req.stem}.md"
        if not (answer.exists() and answer.stat().st_size > 0):
            out.append(Pending(int(number), phase, req.with_suffix(".md"), answer))
    return out


class ExchangeTransport:
    """Requests as files in ``directory``; answers read from files (module doc)."""

    def __init__(self, directory: str | Path, *, poll: float = 1.0,
                 timeout: float | None = 3600.0, log: Callable[..., None] | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.dir = Path(directory).resolve()
        self.poll = poll
        self.timeout = timeout
        self.log = log or (lambda event, **kw: None)
        self.sleep = sleep
        self._lock = threading.Lock()
        (self.dir / "requests").mkdir(parents=True, exist_ok=True)
        (self.dir / "answers").mkdir(parents=True, exist_ok=True)
        wait = "never" if timeout is None else f"{timeout:g} s"
        atomic_write(self.dir / "README.md",
                     README.format(dir=self.dir, poll=poll, timeout=wait))

    def endpoint(self, model: ModelSettings) -> str:
        return f"exchange directory {self.dir} (model {model.name})"

    def check(self, model: ModelSettings) -> None:
        return None

    def retryable(self, exc: Exception) -> bool:
        return False                      # waiting longer is the transport's own business

    def is_timeout(self, exc: Exception) -> bool:
        return isinstance(exc, ExchangeTimeout)

    def close(self) -> None:
        return None

    def request_path(self, key: str, phase: str, messages: list[dict], model: ModelSettings,
                     sample: int) -> tuple[Path, Path]:
        """The request file of ``key`` (written now unless it exists) and its answer path."""
        with self._lock:
            found = sorted((self.dir / "requests").glob(f"*_{key}.json"))
            if found:
                stem = found[0].stem
            else:
                number = len(list((self.dir / "requests").glob("*.json"))) + 1
                stem = _stem(number, phase, key)
                answer = self.dir / "answers" / f"{stem}.md"
                data = {"key": key, "phase": phase, "sample": sample, "model": model.name,
                        "answer_file": str(answer), "format": FORMATS.get(phase, ""),
                        "messages": messages}
                atomic_write(self.dir / "requests" / f"{stem}.md",
                             request_text(stem, data))
                atomic_write(self.dir / "requests" / f"{stem}.json",
                             json.dumps(data, indent=1) + "\n")
        return self.dir / "requests" / f"{stem}.md", self.dir / "answers" / f"{stem}.md"

    def send(self, model, messages, params, *, key, phase, sample) -> Reply:
        request, answer = self.request_path(key, phase, messages, model, sample)
        self.log("exchange_waiting", key=key, phase=phase, request=str(request),
                 answer=str(answer))
        start = time.monotonic()
        last = None
        while True:
            if answer.exists():
                st = answer.stat()
                now = (st.st_size, st.st_mtime_ns)
                if st.st_size > 0 and now == last:
                    text = answer.read_text()
                    self.log("exchange_answered", key=key, answer=str(answer))
                    return Reply(text)
                last = now
            if self.timeout is not None and time.monotonic() - start > self.timeout:
                raise ExchangeTimeout(f"no answer in {answer} after {self.timeout:g} s")
            self.sleep(self.poll)


def request_text(stem: str, data: dict) -> str:
    """The readable request file: what to do first, then the messages."""
    n = len(data["messages"])
    head = [
        f"# autocomp-exo request {stem.split('_', 1)[0]} ({data['phase']}, "
        f"sample {data['sample']})",
        "",
        "Answer this request by writing your reply to the file",
        "",
        f"    {data['answer_file']}",
        "",
        f"Format: {data['format']}",
        "Reply exactly as the chat model would: the messages below are the whole "
        "conversation. The same prompt may be asked several times (samples); answer each "
        "on its own.",
        "",
    ]
    body = []
    for i, m in enumerate(data["messages"], start=1):
        body += [f"======== message {i} of {n} (role: {m['role']}) ========", "",
                 str(m.get("content", "")).rstrip(), ""]
    body += ["======== end of messages ========", ""]
    return "\n".join(head + body)
