"""The tuning database: storing, staleness, nearest entries, pruning, concurrent writers."""

import math
import multiprocessing
import sqlite3

import pytest

from autocomp_exo import tuning_db
from autocomp_exo.tuning_db import Entry, TuningDB, TuningDBError, entry_key, shape_distance


def entry(key="k1", cycles=100, shape=None, kind="gemm", gemmini="int8_16", steps=("hoist",),
          version=None, name="gemm"):
    return Entry(key=key, name=name, kind=kind, gemmini=gemmini,
                 shape=shape or {"A": [64, 64], "B": [64, 64], "C": [64, 64]},
                 model_version=version or tuning_db.model_version(), cycles=cycles,
                 start_cycles=200, code="void k() {}", report={"cycles": cycles},
                 steps=list(steps), settings={"proposer": "builtin"})


def test_put_get_round_trip_and_missing(tmp_path):
    db = TuningDB(tmp_path / "sub" / "t.sqlite")
    assert db.get("k1") is None and db.entries() == []
    assert not db.path.exists()                     # reading never creates the file
    db.put(entry())
    got = db.get("k1")
    assert (got.cycles, got.steps, got.report, got.shape["A"]) == (100, ["hoist"],
                                                                  {"cycles": 100}, [64, 64])
    assert not got.stale


def test_put_keeps_the_faster_current_entry(tmp_path):
    db = TuningDB(tmp_path / "t.sqlite")
    db.put(entry(cycles=100))
    assert db.put(entry(cycles=150)).cycles == 100
    assert db.get("k1").cycles == 100
    db.put(entry(cycles=90))
    assert db.get("k1").cycles == 90


def test_a_model_change_makes_entries_stale(tmp_path, monkeypatch):
    db = TuningDB(tmp_path / "t.sqlite")
    db.put(entry(cycles=100))
    monkeypatch.setattr(tuning_db, "model_version", lambda: "another-model")
    old = db.get("k1")
    assert old.stale
    # a stale entry is replaced even by a slower measurement on the current model
    db.put(entry(cycles=120, version="another-model"))
    assert db.get("k1").cycles == 120 and not db.get("k1").stale


def test_model_version_follows_the_model_sources():
    v = tuning_db.model_version()
    assert len(v) == 16 and v == tuning_db.model_version()
    names = {(p.parent.name, p.name) for p in tuning_db._model_sources()}
    # the timing model, its numbers, and the compiled CPU judge all decide cycles
    assert {("gemmini", "timing.py"), ("gemmini", "config.py"), ("riscv", "cost.py")} <= names


def test_entry_key_depends_on_semantics_mapping_and_configuration():
    base = entry_key("proc text", "start C", "int8_16")
    assert base == entry_key("proc text", "start C", "int8_16")
    assert len({base, entry_key("other proc", "start C", "int8_16"),
                entry_key("proc text", "other C", "int8_16"),
                entry_key("proc text", "start C", "int8_32")}) == 4


def test_shape_distance_by_hand():
    a = {"A": [512, 512], "B": [512, 512]}
    b = {"A": [1024, 512], "B": [512, 256]}
    assert shape_distance(a, b) == pytest.approx(2.0)         # |log2 1/2| + |log2 2|
    assert shape_distance(a, {"A": [512, 512]}) is None
    assert shape_distance(a, {"A": [512], "B": [512, 512]}) is None
    assert math.isclose(shape_distance(a, a), 0.0)


def test_nearest_orders_by_distance_then_cycles(tmp_path):
    db = TuningDB(tmp_path / "t.sqlite")
    want = {"A": [64, 64], "B": [64, 64], "C": [64, 64]}
    db.put(entry("far", 10, {"A": [512, 64], "B": [64, 64], "C": [512, 64]}))   # 6
    db.put(entry("near", 50, {"A": [128, 64], "B": [64, 64], "C": [128, 64]}))  # 2
    db.put(entry("near2", 40, {"A": [64, 128], "B": [128, 64], "C": [64, 64]}))  # 2
    db.put(entry("cfg", 1, want, gemmini="int8_32"))                               # 1
    db.put(entry("conv", 1, want, kind="conv"))
    db.put(entry("nosteps", 1, want, steps=()))
    db.put(entry("self", 1, want))
    got = [e.key for e in db.nearest("gemm", want, "int8_16", n=4, exclude="self")]
    assert got == ["cfg", "near2", "near", "far"]


def test_prune_deletes_stale_and_named_entries(tmp_path, monkeypatch):
    db = TuningDB(tmp_path / "t.sqlite")
    db.put(entry("old", version="v0"))
    db.put(entry("a"))
    db.put(entry("b"))
    gone = db.prune(keys=("b",))
    assert sorted(e.key for e in gone) == ["b", "old"]
    assert [e.key for e in db.entries()] == ["a"]


def test_not_a_database_is_a_clear_error(tmp_path):
    bad = tmp_path / "t.sqlite"
    bad.write_text("this is not sqlite\n" * 100)
    with pytest.raises(TuningDBError, match="t.sqlite"):
        TuningDB(bad).entries()
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE x (a)").connection.commit()
    with pytest.raises(TuningDBError, match="no entries table"):
        TuningDB(other).get("k")


def _writer(path, worker, count, barrier):
    barrier.wait()
    db = TuningDB(path)
    for i in range(count):
        db.put(entry(f"w{worker}-{i}", cycles=1000 - i))
        db.put(entry("shared", cycles=500 + 10 * worker + i))


def test_concurrent_writers_lose_nothing(tmp_path):
    """Several processes (a make -j) write at once: every entry arrives whole, and the
    shared key holds the fastest value any of them wrote."""
    path = tmp_path / "t.sqlite"
    workers, count = 4, 15
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers)
    procs = [ctx.Process(target=_writer, args=(path, w, count, barrier))
             for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * workers
    db = TuningDB(path)
    keys = {e.key for e in db.entries()}
    assert keys == {f"w{w}-{i}" for w in range(workers) for i in range(count)} | {"shared"}
    assert db.get("shared").cycles == 500
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
