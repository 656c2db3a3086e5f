"""compile_procs: Exo's drop-in with the tuning database, checked by gcc and numpy.

The emitted .c and .h are compiled by gcc with the host emulator's gemmini.h and run on
random inputs; the outputs must equal numpy's GEMM (independent of the code under test)
and Exo's own files, with searching off and no entry, must be Exo's output byte for byte.
"""

import dataclasses
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import exo
import numpy as np
import pytest

from autocomp_exo import build, tuning_db
from autocomp_exo.build import compile_procs
from autocomp_exo.settings import BuildSettings, EvaluationSettings, SearchSettings, Settings
from autocomp_exo.tuning_db import TuningDB
from benchmarks.numpy_reference import numpy_gemm
from lowering.emulator.build import run_c
from lowering.mapping import map_to_gemmini
from lowering.suite import gemm_algorithm

ROOT = Path(__file__).resolve().parent.parent
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")

SMALL = Settings(search=SearchSettings(iterations=2, beam_width=2, plans_per_candidate=2,
                                       impls_per_plan=1, patience=1),
                 evaluation=EvaluationSettings(engine="inline"),
                 build=BuildSettings(max_samples=4, refine_iterations=1))


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """A database holding gemm 32x32x32, found by a search, and that build's files."""
    d = tmp_path_factory.mktemp("tuned")
    t0 = time.perf_counter()
    outcomes = compile_procs([gemm_algorithm(32, 32, 32)], d / "out", "k.c", "k.h",
                             settings=SMALL, db=d / "t.sqlite", search=True)
    return d, outcomes, time.perf_counter() - t0


def copy_db(tuned, tmp_path) -> Path:
    shutil.copy(tuned[0] / "t.sqlite", tmp_path / "t.sqlite")
    return tmp_path / "t.sqlite"


def run_gemm(c_text, h_text, name, M, N, K, act, seed=3):
    rng = np.random.default_rng(seed)
    A = rng.integers(-128, 128, (M, K), dtype=np.int8)
    B = rng.integers(-128, 128, (K, N), dtype=np.int8)
    scale = np.float32(1 / 300)
    out = run_c(c_text, {"scale": scale, "act": act, "A": A, "B": B,
                         "C": np.zeros((M, N), np.int8)}, function=name, h_text=h_text)
    return out.outputs["C"].reshape(M, N), numpy_gemm(A, B, scale, act)


def test_no_search_and_no_entry_is_exos_own_output(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(build.NO_SEARCH_ENV, "1")
    procs = [gemm_algorithm(32, 32, 32), gemm_algorithm(16, 32, 16)]
    with caplog.at_level(logging.WARNING, logger="autocomp_exo.build"):
        outcomes = compile_procs(procs, tmp_path / "ours", "k.c", "k.h", settings=SMALL,
                                 db=tmp_path / "t.sqlite")
    (tmp_path / "exo").mkdir()
    exo.compile_procs(procs, tmp_path / "exo", "k.c", "k.h")
    for f in ("k.c", "k.h"):
        assert (tmp_path / "ours" / f).read_bytes() == (tmp_path / "exo" / f).read_bytes()
    assert [o.source for o in outcomes] == ["exo", "exo"]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2 and all("\n" not in w and "Exo's own code" in w for w in warnings)
    assert not (tmp_path / "t.sqlite").exists()


@needs_gcc
def test_search_stores_an_entry_and_the_files_compute_the_gemm(tuned):
    d, outcomes, _ = tuned
    assert [o.source for o in outcomes] == ["search"]
    entry = TuningDB(d / "t.sqlite").get(outcomes[0].key)
    assert entry.cycles == outcomes[0].cycles and entry.report["cycles"] == entry.cycles
    assert entry.settings["search"]["beam_width"] == 2 and "build" not in entry.settings
    c, h = (d / "out" / "k.c").read_text(), (d / "out" / "k.h").read_text()
    assert h.startswith("\n#pragma once\n#ifndef K_H") and c.startswith('#include "k.h"')
    for act in (False, True):
        got, want = run_gemm(c, h, "gemm_32x32x32", 32, 32, 32, act)
        assert np.array_equal(got, want)


def test_a_second_build_reads_the_database_and_gives_identical_files(tuned, tmp_path):
    db = copy_db(tuned, tmp_path)
    before = db.read_bytes()
    outcomes = compile_procs([gemm_algorithm(32, 32, 32)], tmp_path, "k.c", "k.h",
                             settings=SMALL, db=db, search=False)
    assert [o.source for o in outcomes] == ["database"]
    for f in ("k.c", "k.h"):
        assert (tmp_path / f).read_bytes() == (tuned[0] / "out" / f).read_bytes()
    assert db.read_bytes() == before                    # a hit writes nothing


def test_unchanged_files_are_not_rewritten(tuned, tmp_path):
    db = copy_db(tuned, tmp_path)
    compile_procs([gemm_algorithm(32, 32, 32)], tmp_path, "k.c", "k.h", settings=SMALL, db=db)
    stamp = 1_000_000_000
    for f in ("k.c", "k.h"):
        os.utime(tmp_path / f, (stamp, stamp))
    compile_procs([gemm_algorithm(32, 32, 32)], tmp_path, "k.c", "k.h", settings=SMALL, db=db)
    assert [(tmp_path / f).stat().st_mtime for f in ("k.c", "k.h")] == [stamp, stamp]


@needs_gcc
def test_tuned_and_untuned_procs_share_one_file(tuned, tmp_path, caplog):
    db = copy_db(tuned, tmp_path)
    # the untuned proc is mapped (Exo's C of a plain algorithm uses ACC_SCALE without
    # including gemmini.h, so it does not compile alone)
    procs = [map_to_gemmini(gemm_algorithm(16, 32, 16)), gemm_algorithm(32, 32, 32)]
    outcomes = compile_procs(procs, tmp_path, "mm.c", "mm.h", settings=SMALL, db=db,
                             search=False)
    assert [o.source for o in outcomes] == ["exo", "database"]
    c, h = (tmp_path / "mm.c").read_text(), (tmp_path / "mm.h").read_text()
    assert "#ifndef MM_H" in h
    for name, (M, N, K) in (("gemm_32x32x32", (32, 32, 32)), ("gemm_16x32x16", (16, 32, 16))):
        got, want = run_gemm(c, h, name, M, N, K, act=True)
        assert np.array_equal(got, want), name


def _patch_model_version(monkeypatch, version):
    monkeypatch.setattr(tuning_db, "model_version", lambda: version)
    monkeypatch.setattr(build, "model_version", lambda: version)


def test_a_stale_entry_is_reverified_before_use(tuned, tmp_path, monkeypatch):
    db = copy_db(tuned, tmp_path)
    key = tuned[1][0].key
    _patch_model_version(monkeypatch, "next-model")
    assert TuningDB(db).get(key).stale
    outcomes = compile_procs([gemm_algorithm(32, 32, 32)], tmp_path, "k.c", "k.h",
                             settings=SMALL, db=db, search=False)
    assert [o.source for o in outcomes] == ["reverified"]
    e = TuningDB(db).get(key)
    assert e.model_version == "next-model" and e.cycles == tuned[1][0].cycles


def test_a_stale_entry_that_fails_the_check_is_not_used(tuned, tmp_path, monkeypatch, caplog):
    db = TuningDB(copy_db(tuned, tmp_path))
    key = tuned[1][0].key
    e = db.get(key)
    lines = e.code.splitlines()
    # the first statement that writes the output (an mvout, or the FSM's loop_ws)
    first_store = next(i for i, line in enumerate(lines) if "mvout" in line or "loop_ws" in line)
    wrong = "\n".join(lines[:first_store] + lines[first_store + 1:]) + "\n"
    db.prune(keys=(key,))
    db.put(dataclasses.replace(e, code=wrong, model_version="old-model"))
    with caplog.at_level(logging.WARNING, logger="autocomp_exo.build"):
        outcomes = compile_procs([gemm_algorithm(32, 32, 32)], tmp_path, "k.c", "k.h",
                                 settings=SMALL, db=db.path, search=False)
    assert [o.source for o in outcomes] == ["exo"]
    assert any("wrong on the current model" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_a_close_entry_seeds_the_search(tuned, tmp_path):
    db = copy_db(tuned, tmp_path)
    outcomes = compile_procs([gemm_algorithm(64, 32, 32)], tmp_path, "k.c", "k.h",
                             settings=SMALL, db=db)
    assert [o.source for o in outcomes] == ["reuse"]
    c, h = (tmp_path / "k.c").read_text(), (tmp_path / "k.h").read_text()
    got, want = run_gemm(c, h, "gemm_64x32x32", 64, 32, 32, act=False)
    assert np.array_equal(got, want)


BUILD_SCRIPT = """\
import sys
from autocomp_exo import compile_procs, gemm_algorithm
outcomes = compile_procs([gemm_algorithm(32, 32, 32)], "gen", "kernels.c", "kernels.h",
                         settings="settings.toml", db="tuning.sqlite")
print(" ".join(o.source for o in outcomes), file=open("build.log", "a"))
"""

MAKEFILE = """\
PYTHON ?= python3
all: kernels.o
gen.stamp: kernels.py settings.toml
\t$(PYTHON) kernels.py
\ttouch $@
gen/kernels.c gen/kernels.h: gen.stamp
kernels.o: gen/kernels.c gen/kernels.h
\tgcc -std=gnu11 -c -I$(EMULATOR) -Igen gen/kernels.c -o $@
"""

SETTINGS = """\
[search]
iterations = 2
beam_width = 2
plans_per_candidate = 2
impls_per_plan = 1
patience = 1
[evaluation]
engine = "inline"
[build]
max_samples = 4
"""


@needs_gcc
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_a_makefile_build_twice(tmp_path):
    """The first make searches; after an edit of the build script the second make runs the
    step again, which finds everything in the database, searches nothing and rewrites
    nothing (same bytes, same mtimes)."""
    (tmp_path / "kernels.py").write_text(BUILD_SCRIPT)
    (tmp_path / "Makefile").write_text(MAKEFILE)
    (tmp_path / "settings.toml").write_text(SETTINGS)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHON": sys.executable}
    make = ["make", "-s", f"EMULATOR={ROOT / 'lowering' / 'emulator'}"]
    t0 = time.perf_counter()
    first = subprocess.run(make, cwd=tmp_path, env=env, capture_output=True, text=True)
    t1 = time.perf_counter()
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "kernels.o").exists()          # gcc compiled the emitted C
    gen = [tmp_path / "gen" / "kernels.c", tmp_path / "gen" / "kernels.h"]
    before = [(p.read_bytes(), p.stat().st_mtime_ns) for p in gen]
    with open(tmp_path / "kernels.py", "a") as f:
        f.write("# edited\n")
    t2 = time.perf_counter()
    second = subprocess.run(make, cwd=tmp_path, env=env, capture_output=True, text=True)
    print(f"first make {t1 - t0:.1f} s (search), second make {time.perf_counter() - t2:.1f} s")
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "build.log").read_text().split("\n")[:2] == ["search", "database"]
    assert [(p.read_bytes(), p.stat().st_mtime_ns) for p in gen] == before


def test_db_commands_import_show_prune(tmp_path, capsys):
    """``db import`` stores a run directory's best result (measured again), ``db show``
    lists it, another proc's run is refused, ``db prune --key`` deletes it."""
    from autocomp_exo.cli import main
    from autocomp_exo.exitcodes import Exit
    from autocomp_exo.optimizer import optimize
    res = optimize(gemm_algorithm(32, 32, 32), settings=SMALL, run_dir=tmp_path / "run",
                   progress=False)
    procs = tmp_path / "procs.py"
    procs.write_text("from lowering.suite import gemm_algorithm\n"
                     "gemm = gemm_algorithm(32, 32, 32)\nother = gemm_algorithm(16, 32, 16)\n")
    db = str(tmp_path / "t.sqlite")
    assert main(["db", "import", str(tmp_path / "run"), "--proc", f"{procs}:gemm",
                 "--db", db]) == Exit.OK
    (e,) = TuningDB(db).entries()
    assert (e.name, e.cycles) == ("gemm_32x32x32", res.cycles)
    assert [step["menu_item"] for step in e.steps] == res.recipe_items
    assert [step["applied"] for step in e.steps] == [r["applied"] for r in res.recipe]
    assert e.source.startswith("import:")
    capsys.readouterr()
    assert main(["db", "show", "--db", db]) == Exit.OK
    out = capsys.readouterr()
    assert e.key in out.out and "gemm_32x32x32" in out.out and "current" in out.out
    assert "1 entry" in out.err
    assert main(["db", "import", str(tmp_path / "run"), "--proc", f"{procs}:other",
                 "--db", db]) == Exit.INPUT
    assert "another program" in capsys.readouterr().err
    assert main(["db", "prune", "--key", e.key[:8], "--db", db]) == Exit.OK
    assert TuningDB(db).entries() == []


def test_code_with_another_signature_than_exos_is_refused(tuned):
    e = TuningDB(tuned[0] / "t.sqlite").get(tuned[1][0].key)
    exo_c = "void gemm_32x32x32( void *ctxt, const float* scale, const int8_t* A ) {\n}\n"
    with pytest.raises(build.BuildError, match="signature differs from Exo's"):
        build.function_c(e, "gemm_32x32x32", exo_c)
    same = ("void gemm_32x32x32( kernels_Context *ctxt, const float* scale, bool act, "
            "const int8_t* A, const int8_t* B, int8_t* C ) {\n}\n")
    assert same.splitlines()[0] in build.function_c(e, "gemm_32x32x32", same)
