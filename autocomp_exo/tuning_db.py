"""The tuning database: the best known code of every proc a build has tuned.

One SQLite file (standard library ``sqlite3``) that a project commits next to its
sources. SQLite rather than JSON lines because concurrent builds (``make -j``) then
need no locking of ours: every write is one transaction, serialized by SQLite's own
file lock (writers wait up to ``BUSY_SECONDS``), so a reader never sees half an entry
and two writers never interleave. ``autocomp-exo db show`` prints it as text.

An entry is keyed by `entry_key`: a hash of the proc's semantics (its reference
proc), its Gemmini mapping (the start C) and the Gemmini configuration (name and
every hardware number). It holds the cycles, the model's report, the compact code,
the applied steps (menu item keys), the settings that found it, and the model
version it was measured on (`model_version`). An entry of another model version is
*stale*: it is re-verified on the current model before use, never trusted as is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import gemmini
from autocomp_exo import __version__
from gemmini.config import get_config
from gemmini.errors import ConfigError

BUSY_SECONDS = 120.0          # how long a writer waits for another build's transaction
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    gemmini TEXT NOT NULL,
    shape TEXT NOT NULL,
    model_version TEXT NOT NULL,
    cycles INTEGER NOT NULL,
    start_cycles INTEGER,
    code TEXT NOT NULL,
    report TEXT NOT NULL,
    steps TEXT NOT NULL,
    settings TEXT NOT NULL,
    source TEXT NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_kind ON entries (kind);
"""

_COLUMNS = ("key", "name", "kind", "gemmini", "shape", "model_version", "cycles",
            "start_cycles", "code", "report", "steps", "settings", "source", "updated")
_JSON_COLUMNS = ("shape", "report", "steps", "settings")


class TuningDBError(ConfigError):
    """The tuning database cannot be opened or is not one."""


def _model_sources() -> list[Path]:
    """The files whose contents decide a program's cycles: the `gemmini` package (ISA,
    configurations and their timing numbers, functional and timing model) and the
    compiled CPU judge (`lowering/riscv`: the toolchain header, compiler flags, the core's
    pricing)."""
    import lowering.riscv
    dirs = (Path(gemmini.__file__).parent, Path(lowering.riscv.__file__).parent)
    return [p for d in dirs for p in sorted(d.glob("*.py"))]


def model_version() -> str:
    """The version of the cycle model: a hash of its sources (`_model_sources`) and the
    tool's version, so that any change to the model, the CPU judge or a hardware number
    marks every entry (and every run directory's cached evaluation) measured before it
    stale."""
    h = hashlib.sha256(__version__.encode())
    for path in _model_sources():
        h.update(f"{path.parent.name}/{path.name}".encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def entry_key(reference_text: str, start_text: str, gemmini_name: str) -> str:
    """The database key of a proc: its semantics (reference proc text), its mapping
    (start C) and the Gemmini configuration, every hardware number included."""
    cfg = dataclasses.asdict(get_config(gemmini_name))
    blob = json.dumps({"semantics": reference_text, "mapping": start_text,
                       "gemmini": gemmini_name, "config": cfg}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Entry:
    """One tuned proc."""
    key: str
    name: str
    kind: str                       # gemm | conv | linalg: what reuse compares with
    gemmini: str                    # Gemmini configuration name
    shape: dict                     # array parameter -> dimensions
    model_version: str
    cycles: int
    start_cycles: int | None
    code: str                       # compact C of the best program
    report: dict                    # the model's report of it
    steps: list                     # applied steps in order (search.reuse.recorded_steps;
                                    # an older entry's are menu item keys)
    settings: dict                  # the settings of the search that found it
    source: str = "search"          # search | import:RUN_DIR | reverified
    updated: float = 0.0

    @property
    def stale(self) -> bool:
        return self.model_version != model_version()

    def row(self) -> tuple:
        return tuple(json.dumps(getattr(self, c), sort_keys=True, default=str)
                     if c in _JSON_COLUMNS else getattr(self, c) for c in _COLUMNS)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Entry":
        return cls(**{c: json.loads(row[c]) if c in _JSON_COLUMNS else row[c]
                      for c in _COLUMNS})


def shape_distance(a: dict, b: dict) -> float | None:
    """How far apart two procs' shapes are: the sum of |log2| of the ratios of matching
    dimensions (None: different parameters or ranks, not comparable)."""
    if set(a) != set(b):
        return None
    total = 0.0
    for name in sorted(a):
        da, db = list(a[name]), list(b[name])
        if len(da) != len(db):
            return None
        total += sum(abs(math.log2(max(x, 1) / max(y, 1))) for x, y in zip(da, db))
    return total


CONFIG_DISTANCE = 1.0   # another Gemmini configuration counts as a factor 2 in one dimension


class TuningDB:
    """A tuning database file (created on first write). Every method opens its own
    short connection, so one object may be shared and many processes may use the file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _run(self, fn, write: bool = False):
        """Call ``fn(connection)`` in one transaction (an exclusive one when writing)."""
        if not write and (not self.path.exists() or self.path.stat().st_size == 0):
            return fn(None)             # no file yet, or an empty one (sqlite3.connect made)
        try:
            if write:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
        except (OSError, sqlite3.Error) as e:
            raise TuningDBError(f"cannot open the tuning database: {e}",
                                filename=str(self.path)) from None
        con.row_factory = sqlite3.Row
        try:
            con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            if write:
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        con.execute(stmt)
                con.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)",
                            (str(SCHEMA_VERSION),))
            self._check_schema(con)
            result = fn(con)
            con.execute("COMMIT")
            return result
        except sqlite3.DatabaseError as e:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise TuningDBError(f"not a usable tuning database ({e})",
                                filename=str(self.path)) from None
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    def _check_schema(self, con) -> None:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "entries" not in tables:
            raise sqlite3.DatabaseError("no entries table")
        row = con.execute("SELECT value FROM meta WHERE name='schema'").fetchone()
        if row is None or row[0] != str(SCHEMA_VERSION):
            raise sqlite3.DatabaseError(f"schema {row[0] if row else '?'}, this tool reads "
                                        f"schema {SCHEMA_VERSION}")

    # -- reading ------------------------------------------------------------
    def get(self, key: str) -> Entry | None:
        def q(con):
            if con is None:
                return None
            row = con.execute("SELECT * FROM entries WHERE key = ?", (key,)).fetchone()
            return Entry.from_row(row) if row else None
        return self._run(q)

    def entries(self) -> list[Entry]:
        """Every entry, in a fixed order (kind, name, key)."""
        def q(con):
            if con is None:
                return []
            rows = con.execute("SELECT * FROM entries ORDER BY kind, name, key").fetchall()
            return [Entry.from_row(r) for r in rows]
        return self._run(q)

    def nearest(self, kind: str, shape: dict, gemmini_name: str, n: int = 1,
                exclude: str | None = None) -> list[Entry]:
        """The ``n`` entries closest to a proc of ``kind`` and ``shape`` on ``gemmini_name``
        (same kind, comparable parameters), closest first; ties by fewer cycles, then key."""
        scored = []
        for e in self.entries():
            if e.kind != kind or e.key == exclude or not e.steps:
                continue
            d = shape_distance(shape, e.shape)
            if d is None:
                continue
            d += 0.0 if e.gemmini == gemmini_name else CONFIG_DISTANCE
            scored.append((d, e.cycles, e.key, e))
        return [s[-1] for s in sorted(scored, key=lambda s: s[:3])[:n]]

    # -- writing ------------------------------------------------------------
    def put(self, entry: Entry) -> Entry:
        """Store ``entry`` unless a current (not stale) entry of its key is at least as
        fast; returns the entry the database holds afterwards."""
        entry = dataclasses.replace(entry, updated=round(time.time(), 3))

        def q(con):
            row = con.execute("SELECT * FROM entries WHERE key = ?", (entry.key,)).fetchone()
            old = Entry.from_row(row) if row else None
            if old is not None and not old.stale and old.cycles <= entry.cycles \
                    and not entry.stale:
                return old
            placeholders = ", ".join("?" for _ in _COLUMNS)
            con.execute(f"INSERT OR REPLACE INTO entries ({', '.join(_COLUMNS)}) "
                        f"VALUES ({placeholders})", entry.row())
            return entry
        return self._run(q, write=True)

    def prune(self, *, stale: bool = True, keys: tuple[str, ...] = ()) -> list[Entry]:
        """Delete stale entries (with ``stale``) and the entries of ``keys``; returns them."""
        current = model_version()

        def q(con):
            gone = []
            for row in con.execute("SELECT * FROM entries").fetchall():
                e = Entry.from_row(row)
                if (stale and e.model_version != current) or e.key in keys:
                    gone.append(e)
            con.executemany("DELETE FROM entries WHERE key = ?", [(e.key,) for e in gone])
            return gone
        if not self.path.exists():
            return []
        return self._run(q, write=True)
