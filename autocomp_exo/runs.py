"""Run directories: everything a search writes, laid out so a killed run can resume.

Layout of a run directory::

    config.json          resolved settings of the run
    events.jsonl         every prompt, response, plan, candidate, check result, cycles, tokens
    llm_cache.jsonl      finished LLM calls, keyed by (model, messages, parameters, sample)
    evals.jsonl          finished evaluations, keyed by the normalized IR
    beam/iter_NNN.json   the beam after each iteration
    lineage.json         candidate lineage (networkx node-link JSON)
    candidates/KEY.c     compact C of every correct candidate
    best.c, best_toolchain.c, best.json   the best result so far
    status.json          finished / stopped (and why)

Whole files are written atomically (temp file + ``os.replace``); JSONL lines are
appended and flushed at once (a killed process loses nothing it flushed) and a
torn last line (a kill mid-write) is cut off when the file is opened again, so a
kill never corrupts a run. Cache lines are also fsync'ed one by one; event lines
are fsync'ed at every beam snapshot and at the end (an fsync costs milliseconds
and a run logs hundreds of events), which only matters if the machine itself
goes down.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator


def atomic_write(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_json(path: str | Path, data: Any) -> None:
    atomic_write(path, json.dumps(data, indent=1, sort_keys=True, default=str) + "\n")


def read_json(path: str | Path, default: Any = None) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return default


def repair_jsonl(path: str | Path) -> None:
    """Cut a torn last line (no trailing newline) left by a kill mid-append."""
    path = Path(path)
    if not path.exists():
        return
    with open(path, "rb+") as f:
        data = f.read()
        if data and not data.endswith(b"\n"):
            f.truncate(data.rfind(b"\n") + 1)


def read_jsonl(path: str | Path) -> Iterator[dict]:
    """Records of a JSONL file, skipping a torn or unreadable line."""
    try:
        with open(path) as f:
            for line in f:
                if not line.endswith("\n"):
                    return
                try:
                    yield json.loads(line)
                except ValueError:
                    continue
    except FileNotFoundError:
        return


class JsonlWriter:
    """Thread-safe appender of JSON lines, each flushed and fsync'ed."""

    def __init__(self, path: str | Path, fsync: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair_jsonl(self.path)
        self._f = open(self.path, "a")
        self._lock = threading.Lock()
        self.fsync = fsync

    def append(self, record: dict) -> None:
        line = json.dumps(record, sort_keys=True, default=str) + "\n"
        with self._lock:
            self._f.write(line)
            self._f.flush()
            if self.fsync:
                os.fsync(self._f.fileno())

    def sync(self) -> None:
        """fsync what was appended so far."""
        with self._lock:
            os.fsync(self._f.fileno())

    def close(self) -> None:
        with self._lock:
            self._f.close()


class RunDir:
    """One run directory (created if missing; reopened to resume)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.resumed = (self.path / "events.jsonl").exists()
        self.events = JsonlWriter(self.path / "events.jsonl", fsync=False)
        self.start = time.time()

    # -- files ------------------------------------------------------------
    @property
    def llm_cache_path(self) -> Path:
        return self.path / "llm_cache.jsonl"

    @property
    def eval_cache_path(self) -> Path:
        return self.path / "evals.jsonl"

    def log(self, event: str, **fields: Any) -> None:
        """Append one event to the event log."""
        self.events.append({"event": event, "time": round(time.time(), 3), **fields})

    def write_config(self, config: dict) -> None:
        write_json(self.path / "config.json", config)

    def write_beam(self, iteration: int, beam: list[dict]) -> None:
        self.events.sync()
        write_json(self.path / "beam" / f"iter_{iteration:03d}.json", beam)

    def write_candidate(self, key: str, code: str) -> None:
        p = self.path / "candidates" / f"{key}.c"
        if not p.exists():
            atomic_write(p, code)

    def write_lineage(self, data: dict) -> None:
        write_json(self.path / "lineage.json", data)

    def write_best(self, info: dict, compact: str, toolchain: str | None) -> None:
        atomic_write(self.path / "best.c", compact)
        if toolchain:
            atomic_write(self.path / "best_toolchain.c", toolchain)
        write_json(self.path / "best.json", info)

    def write_status(self, status: dict) -> None:
        write_json(self.path / "status.json", status)

    def close(self) -> None:
        self.events.sync()
        self.events.close()


def load_run(path: str | Path) -> dict:
    """A summary of a run directory (for ``runs show`` and tests); raises FileNotFoundError."""
    path = Path(path)
    if not (path / "events.jsonl").exists():
        raise FileNotFoundError(f"{path}: not a run directory (no events.jsonl)")
    events = list(read_jsonl(path / "events.jsonl"))
    beams = sorted((path / "beam").glob("iter_*.json")) if (path / "beam").exists() else []
    counts: dict[str, int] = {}
    for e in events:
        counts[e.get("event", "?")] = counts.get(e.get("event", "?"), 0) + 1
    return {
        "path": str(path),
        "config": read_json(path / "config.json", {}),
        "status": read_json(path / "status.json", {}),
        "best": read_json(path / "best.json", {}),
        "best_code": (path / "best.c").read_text() if (path / "best.c").exists() else None,
        "lineage": read_json(path / "lineage.json", {}),
        "beams": [read_json(b, []) for b in beams],
        "event_counts": counts,
        "events": events,
        # LLM calls that failed for good, and failed attempts that were retried
        "llm_failures": {"failed_calls": counts.get("llm_failed", 0),
                         "retried_attempts": counts.get("llm_retry", 0)},
    }
