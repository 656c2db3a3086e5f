"""Run directories: everything a search writes, laid out so a killed run can resume.

Layout of a run directory::

    identity.json        what the run is (start code, workload name, Gemmini configuration,
                         cycle-model version, settings that change results); another run
                         is refused
    lock                 pid of the process using the directory (while it runs)
    config.json          resolved settings of the run
    events.jsonl         every prompt, response, plan, candidate, check result, cycles, tokens
    llm_cache.jsonl      finished LLM calls, keyed by (model, messages, parameters, sample)
    evals.jsonl          finished evaluations, keyed by the normalized IR
    beam/iter_NNN.json   the beam after each iteration
    beam/state_NNN.json  the search's state after each iteration (a resume continues there)
    lineage.json         candidate lineage (networkx node-link JSON)
    candidates/KEY.c     compact C of every correct candidate
    best.c, best_toolchain.c, best.json   the best result so far
    status.json          finished / stopped (and why)
    baselines.json       cycles of the workload's baselines (Exo unoptimized, vendor, FSM)

Whole files are written atomically (temp file + ``os.replace``); JSONL lines are
appended and flushed at once (a killed process loses nothing it flushed) and a
torn last line (a kill mid-write) is cut off when the file is opened again, so a
kill never corrupts a run. Cache lines are also fsync'ed one by one; event lines
are fsync'ed at every beam snapshot and at the end (an fsync costs milliseconds
and a run logs hundreds of events), which only matters if the machine itself
goes down. Files are created with the permissions the umask allows (like any tool's
output), never narrower.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from gemmini.errors import ConfigError


class RunDirError(ConfigError):
    """A run directory that cannot be used for this run (another run's, or in use)."""


class RunDirMismatch(RunDirError):
    """The run directory holds a different run."""


class RunDirLocked(RunDirError):
    """Another live process is using the run directory."""


def _umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_error(e: OSError, path: Path) -> OSError:
    """``e`` with the path it was writing (a failed write() names no file)."""
    return OSError(e.errno, e.strerror or str(e), str(path))


def atomic_write(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise _write_error(e, path) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())     # mkstemp makes 0600; honour the umask instead
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise _write_error(e, path) from None
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
            try:
                self._f.write(line)
                self._f.flush()
                if self.fsync:
                    os.fsync(self._f.fileno())
            except OSError as e:
                raise _write_error(e, self.path) from None

    def sync(self) -> None:
        """fsync what was appended so far."""
        with self._lock:
            try:
                os.fsync(self._f.fileno())
            except OSError as e:
                raise _write_error(e, self.path) from None

    def close(self) -> None:
        with self._lock:
            self._f.close()


class RunDir:
    """One run directory (created if missing; reopened to resume)."""

    def __init__(self, path: str | Path, identity: dict | None = None, fresh: bool = False):
        """Open ``path`` for a run described by ``identity`` (None: any run). A directory
        holding a different run is refused unless ``fresh`` (which clears its run files);
        a directory in use by a live process is refused; a dead holder's lock is taken
        over (``notes`` says so)."""
        self.path = Path(path)
        self.notes: list[str] = []
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise _write_error(e, self.path) from None
        self._lock_path = self.path / "lock"
        self._take_lock()
        try:
            if fresh:
                clear_run(self.path)
            self._check_identity(identity)
            self.resumed = (self.path / "events.jsonl").exists()
            self.events = JsonlWriter(self.path / "events.jsonl", fsync=False)
        except BaseException:
            self._release_lock()
            raise
        self.start = time.time()

    # -- identity and lock --------------------------------------------------
    def _check_identity(self, identity: dict | None) -> None:
        saved = read_json(self.path / "identity.json")
        if identity is None:
            return
        if saved is None:
            write_json(self.path / "identity.json", identity)
            return
        diff = identity_difference(saved, identity)
        if diff:
            raise RunDirMismatch(f"holds a different run ({diff}); use a new --run-dir, or "
                              "--fresh to discard it", filename=str(self.path))

    def _take_lock(self) -> None:
        me = f"{os.getpid()} {socket.gethostname()}\n"
        for _ in range(3):
            try:
                fd = os.open(self._lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
            except FileExistsError:
                holder = lock_holder(self._lock_path)
                if holder is not None and (holder == os.getpid() or pid_alive(holder)):
                    raise RunDirLocked(f"in use by process {holder} (lock file "
                                      f"{self._lock_path}); wait for it to finish or use "
                                      "another --run-dir", filename=str(self.path)) from None
                try:
                    os.unlink(self._lock_path)
                except FileNotFoundError:
                    pass
                self.notes.append(f"took over the lock of process {holder}, which is no "
                                  "longer running")
                continue
            except OSError as e:
                raise _write_error(e, self._lock_path) from None
            with os.fdopen(fd, "w") as f:
                f.write(me)
            return
        raise RunDirError(f"cannot take the lock {self._lock_path}", filename=str(self.path))

    def _release_lock(self) -> None:
        if lock_holder(self._lock_path) == os.getpid():
            try:
                os.unlink(self._lock_path)
            except OSError:
                pass

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

    def write_state(self, iteration: int, state: dict) -> None:
        """What a resumed run needs to continue after ``iteration`` without replaying it."""
        write_json(self.path / "beam" / f"state_{iteration:03d}.json", state)

    def write_candidate(self, key: str, code: str) -> None:
        p = self.path / "candidates" / f"{key}.c"
        if not p.exists():
            atomic_write(p, code)

    def write_lineage(self, data: dict) -> None:
        write_json(self.path / "lineage.json", data)

    def write_best(self, info: dict, compact: str, toolchain: str | None) -> dict | None:
        """Save the best result unless the saved one is faster; returns the saved one's
        info in that case (the caller says so), else None."""
        saved = read_json(self.path / "best.json")
        if saved and saved.get("cycles") is not None and saved["cycles"] < info["cycles"]:
            return saved
        atomic_write(self.path / "best.c", compact)
        if toolchain:
            atomic_write(self.path / "best_toolchain.c", toolchain)
        write_json(self.path / "best.json", info)
        return None

    def write_status(self, status: dict) -> None:
        write_json(self.path / "status.json", status)

    def close(self) -> None:
        try:
            self.events.sync()
            self.events.close()
        finally:
            self._release_lock()


RUN_FILES = ("identity.json", "config.json", "events.jsonl", "llm_cache.jsonl", "evals.jsonl",
             "lineage.json", "best.c", "best_toolchain.c", "best.json", "status.json",
             "baselines.json", "report.html")
RUN_DIRS = ("beam", "candidates", "light", "refine")


def clear_run(path: Path) -> None:
    """Remove a run's own files from ``path`` (other files, e.g. ``out/``, stay)."""
    for name in RUN_FILES:
        (path / name).unlink(missing_ok=True)
    for name in RUN_DIRS:
        shutil.rmtree(path / name, ignore_errors=True)


def identity_difference(saved: dict, wanted: dict) -> str:
    """A short description of how two run identities differ ("" if they match)."""
    diffs = []
    for key in sorted(set(saved) | set(wanted)):
        a, b = saved.get(key), wanted.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            inner = identity_difference(a, b)
            diffs.append(f"{key}: {inner}")
        elif key == "start":
            diffs.append("a different starting program")
        elif key == "model":
            diffs.append(f"measured on another version of the cycle model ({a or 'unrecorded'}"
                         f" there, {b} here): its cached evaluations no longer hold")
        else:
            diffs.append(f"{key} {a!r} there, {b!r} here")
    return "; ".join(diffs)


def lock_holder(path: Path) -> int | None:
    """The pid written in a lock file (None: no readable lock)."""
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def load_run(path: str | Path) -> dict:
    """A summary of a run directory (for ``runs show`` and tests); raises RunDirError."""
    path = Path(path)
    if not path.is_dir():
        raise RunDirError("no such directory", filename=str(path))
    if not (path / "events.jsonl").exists():
        raise RunDirError("not a run directory (no events.jsonl)", filename=str(path))
    events = list(read_jsonl(path / "events.jsonl"))
    beams = sorted((path / "beam").glob("iter_*.json")) if (path / "beam").exists() else []
    counts: dict[str, int] = {}
    for e in events:
        counts[e.get("event", "?")] = counts.get(e.get("event", "?"), 0) + 1
    return {
        "path": str(path),
        "config": read_json(path / "config.json", {}),
        "identity": read_json(path / "identity.json", {}),
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
