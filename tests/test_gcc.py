"""lowering.gcc (the one C compiler driver) and lowering.cache (the one cache root)."""

from __future__ import annotations

import ctypes
import os
import shutil
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gemmini.errors import AutocompError
from lowering import gcc
from lowering.cache import cache_root

REAL_GCC = shutil.which("gcc") or shutil.which("cc")
needs_gcc = pytest.mark.skipif(REAL_GCC is None, reason="needs gcc")

ANSWER_C = '#include "answer.h"\nint answer(void) { return ANSWER * FACTOR; }\n'


@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("AUTOCOMP_EXO_CACHE", str(root))
    return root


@pytest.fixture
def counting_gcc(tmp_path, monkeypatch, cache):
    """A gcc on PATH that logs each call and hands it to the real compiler."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    script = bin_dir / "gcc"
    script.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexport PATH="{os.environ["PATH"]}"\n'
                      f'exec "{REAL_GCC}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bin_dir))

    def compiles() -> int:
        if not log.exists():
            return 0
        return sum("--version" not in line for line in log.read_text().splitlines())
    return compiles


# ---------------------------------------------------------------------------
# the cache root
# ---------------------------------------------------------------------------

def test_cache_root_follows_the_env_vars_in_order(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AUTOCOMP_EXO_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert cache_root() == tmp_path / "home" / ".cache" / "autocomp-exo"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "autocomp-exo"
    monkeypatch.setenv("AUTOCOMP_EXO_CACHE", str(tmp_path / "own"))
    assert cache_root() == tmp_path / "own"
    monkeypatch.setenv("AUTOCOMP_EXO_CACHE", "")          # empty counts as unset
    assert cache_root() == tmp_path / "xdg" / "autocomp-exo"


@needs_gcc
def test_every_build_lands_in_its_own_subfolder(cache):
    path = gcc.build({"answer.c": ANSWER_C}, cache="reflib",
                     headers={"answer.h": "#define ANSWER 6\n#define FACTOR 7\n"})
    assert path.parent == cache / "reflib" and path.suffix == ".so"


# ---------------------------------------------------------------------------
# building and loading
# ---------------------------------------------------------------------------

@needs_gcc
def test_second_build_is_a_cache_hit(counting_gcc, cache):
    kw = dict(cache="t", headers={"answer.h": "#define ANSWER 6\n"}, defines={"FACTOR": 7})
    first = gcc.build({"answer.c": ANSWER_C}, **kw)
    assert counting_gcc() == 1
    assert gcc.build({"answer.c": ANSWER_C}, **kw) == first
    assert counting_gcc() == 1
    lib = gcc.load_library(first)
    lib.answer.restype = ctypes.c_int
    assert lib.answer() == 42
    assert sorted(p.name for p in (cache / "t").iterdir()) == [first.name]  # no leftovers


@needs_gcc
def test_concurrent_builds_of_one_source_agree(cache):
    src = {"answer.c": ANSWER_C.replace('#include "answer.h"', "#define ANSWER 6\n#define FACTOR 7")}
    with ThreadPoolExecutor(4) as pool:
        paths = list(pool.map(lambda _: gcc.build(src, cache="t"), range(4)))
    assert len(set(paths)) == 1
    assert sorted(p.name for p in (cache / "t").iterdir()) == [paths[0].name]
    lib = gcc.load_library(paths[0])
    lib.answer.restype = ctypes.c_int
    assert lib.answer() == 42


@needs_gcc
@pytest.mark.parametrize("change", ["source", "header", "define", "flag"])
def test_anything_that_changes_the_output_changes_the_key(counting_gcc, cache, change):
    kw = dict(cache="t", headers={"answer.h": "#define ANSWER 6\n"}, defines={"FACTOR": 7},
              flags=("-O1",))
    sources = {"answer.c": ANSWER_C}
    first = gcc.build(sources, **kw)
    if change == "source":
        sources = {"answer.c": ANSWER_C + "\n"}
    elif change == "header":
        kw["headers"] = {"answer.h": "#define ANSWER 5\n"}
    elif change == "define":
        kw["defines"] = {"FACTOR": 8}
    else:
        kw["flags"] = ("-O2",)
    assert gcc.build(sources, **kw) != first
    assert counting_gcc() == 2


@needs_gcc
def test_program_is_built_and_run(cache):
    exe = gcc.build({"main.c": '#include <stdio.h>\nint main(void) { printf("%d\\n", 6 * 7); '
                               'return 0; }\n'}, cache="count", kind=gcc.PROGRAM)
    assert gcc.run_program(exe) == "42\n"
    bad = gcc.build({"main.c": "int main(void) { return 3; }\n"}, cache="count",
                    kind=gcc.PROGRAM)
    with pytest.raises(gcc.ProgramError, match="status 3"):
        gcc.run_program(bad)


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------

@needs_gcc
def test_compile_error_names_file_and_line(cache):
    src = "int f(void) {\n  int x = 1;\n  return x +;\n}\n"
    with pytest.raises(gcc.CompileError) as info:
        gcc.build({"kern.c": src}, cache="t")
    err = info.value
    assert (err.filename, err.line) == ("kern.c", 3)
    assert str(err).startswith("kern.c:3:")
    assert "return x +;" in str(err)                  # the offending line is quoted
    assert not any((cache / "t").iterdir())           # nothing half-built is left


@needs_gcc
def test_error_in_a_header_names_the_header(cache):
    with pytest.raises(gcc.CompileError) as info:
        gcc.build({"answer.c": ANSWER_C}, cache="t",
                  headers={"answer.h": "#define ANSWER 6\n#define FACTOR 7\nint oops = ;\n"})
    assert (info.value.filename, info.value.line) == ("answer.h", 3)


@needs_gcc
def test_link_error_is_one_message(cache):
    with pytest.raises(gcc.CompileError, match="undefined reference to .nowhere") as info:
        gcc.build({"main.c": "int nowhere(void);\nint main(void) { return nowhere(); }\n"},
                  cache="t", kind=gcc.PROGRAM)
    assert info.value.filename == "main.c"


def test_missing_compiler_is_a_clear_error(tmp_path, monkeypatch, cache):
    monkeypatch.setenv("PATH", str(tmp_path))             # holds no compiler
    with pytest.raises(gcc.CompileError, match="no C compiler found.*gcc and cc") as info:
        gcc.build({"answer.c": ANSWER_C}, cache="t")
    assert isinstance(info.value, AutocompError)


def test_cc_is_used_when_there_is_no_gcc(tmp_path, monkeypatch):
    fake = Path(tmp_path) / "cc"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert gcc.find_compiler() == str(fake)
