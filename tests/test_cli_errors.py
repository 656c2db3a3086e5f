"""Bad inputs and faults on the command line: each gets one line on stderr naming the problem
and the file, the exit code of docs/cli.md, and no traceback (``--verbose`` shows it)."""

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autocomp_exo.cli import main
from autocomp_exo.exitcodes import Exit

ROOT = Path(__file__).resolve().parent.parent
KERNEL = ROOT / "tests" / "data" / "search" / "gemm64_resident.c"
WL = ["--workload", "gemm:64x64x64"]
FAST = ["--iterations", "1", "--plans", "1", "--impls", "1", "--engine", "inline"]


def cli(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    return code, out, err


def error_line(err: str) -> str:
    lines = [x for x in err.splitlines() if "error:" in x]
    assert len(lines) == 1, err
    return lines[0]


def _files(tmp: Path) -> dict:
    """Bad input files, by name."""
    f = {}
    f["binary.c"] = b"\x7fELF\x02\x01\x01\x00\xff\xfe" * 20
    f["empty.c"] = b"  \n"
    f["syntax.c"] = KERNEL.read_bytes().replace(b"fence();", b"fence(;")
    f["wrong.c"] = KERNEL.read_bytes().replace(b"for (int k = 0; k < 4; k++) {\n      for",
                                               b"for (int k = 0; k < 3; k++) {\n      for")
    f["badaddr.c"] = KERNEL.read_bytes().replace(b"uint32_t b = 4096;", b"uint32_t b = 99999;")
    f["notproc.py"] = b"x = 3\n"
    f["syntax.py"] = b"def f(:\n    pass\n"
    f["raises.py"] = b"import math\n\nvalue = 1 / 0\n"
    f["unknown_key.toml"] = b"[search]\nbeam_widht = 2\n"
    f["wrong_type.toml"] = b'[search]\niterations = "many"\n'
    f["bad_range.toml"] = b"[search]\niterations = -3\n"
    f["bad_dropout.toml"] = b"[search]\ndropout = 1.5\n"
    f["bad_gemmini.toml"] = b'[evaluation]\ngemmini = "int4_16"\n'
    f["bad_proposer.toml"] = b'proposer = "oracle"\n'
    f["invalid.toml"] = b"[search\n"
    f["binary.toml"] = b"\xff\xfe\x00\x01"
    for name, data in f.items():
        (tmp / name).write_bytes(data)
    (tmp / "adir.c").mkdir()
    return f


# (argv with {t} for the temporary directory, exit code, strings the error line must hold)
CASES = {
    "binary C file": (["evaluate", "{t}/binary.c", *WL], Exit.INPUT,
                      ["binary.c", "not a text file"]),
    "empty C file": (["evaluate", "{t}/empty.c", *WL], Exit.INPUT, ["empty.c", "empty file"]),
    "missing C file": (["evaluate", "{t}/nothere.c", *WL], Exit.INPUT,
                       ["nothere.c", "cannot read"]),
    "C file is a directory": (["optimize", "{t}/adir.c", *WL], Exit.INPUT,
                              ["adir.c", "cannot read"]),
    "C syntax error": (["evaluate", "{t}/syntax.c", *WL], Exit.INPUT, ["syntax.c:29"]),
    "C file without --workload": (["evaluate", "{t}/empty.c"], Exit.INPUT, ["--workload"]),
    "wrong kernel": (["evaluate", "{t}/wrong.c", *WL], Exit.KERNEL_WRONG, ["wrong.c", "wrong"]),
    "kernel breaks a hardware rule": (["evaluate", "{t}/badaddr.c", *WL], Exit.KERNEL_WRONG,
                                      ["badaddr.c", "hardware"]),
    "zero-size workload": (["evaluate", str(KERNEL), "--workload", "gemm:0x64x64"],
                           Exit.INPUT, ["gemm:0x64x64", "must be positive"]),
    "workload with two sizes": (["evaluate", str(KERNEL), "--workload", "gemm:1x2"],
                                Exit.INPUT, ["gemm takes MxNxK"]),
    "unknown workload": (["evaluate", str(KERNEL), "--workload", "fft:8"], Exit.INPUT,
                         ["unknown workload 'fft:8'"]),
    "unknown --gemmini": (["evaluate", str(KERNEL), *WL, "--gemmini", "int4_16"], Exit.INPUT,
                          ["int4_16", "known: int8_16"]),
    "unknown --gemmini-config": (["evaluate", str(KERNEL), *WL, "--gemmini-config", "int4_16"],
                                 Exit.INPUT, ["int4_16"]),
    "unknown gemmini in TOML": (["evaluate", str(KERNEL), *WL, "--settings",
                                 "{t}/bad_gemmini.toml"], Exit.INPUT,
                                ["bad_gemmini.toml", "evaluation.gemmini", "int4_16"]),
    "--beam-width 0": (["optimize", str(KERNEL), *WL, "--beam-width", "0"], Exit.USAGE,
                       ["--beam-width", "at least 1"]),
    "--beam-width not a number": (["optimize", str(KERNEL), *WL, "--beam-width", "four"],
                                  Exit.USAGE, ["--beam-width", "four"]),
    "--iterations -3": (["optimize", str(KERNEL), *WL, "--iterations", "-3"], Exit.USAGE,
                        ["--iterations", "at least 0"]),
    "--dropout 1.5": (["optimize", str(KERNEL), *WL, "--dropout", "1.5"], Exit.USAGE,
                      ["--dropout", "1.5"]),
    "--timeout 0": (["optimize", str(KERNEL), *WL, "--timeout", "0"], Exit.USAGE,
                    ["--timeout", "above 0"]),
    "unknown flag": (["optimize", str(KERNEL), *WL, "--colour", "3"], Exit.USAGE, ["--colour"]),
    "unknown command": (["optimise", str(KERNEL)], Exit.USAGE, ["optimise"]),
    "unknown proposer": (["optimize", str(KERNEL), *WL, "--proposer", "oracle"], Exit.USAGE,
                         ["oracle"]),
    "iterations = -3 in TOML": (["optimize", str(KERNEL), *WL, "--settings",
                                 "{t}/bad_range.toml"], Exit.INPUT,
                                ["bad_range.toml", "search.iterations", "-3"]),
    "dropout = 1.5 in TOML": (["optimize", str(KERNEL), *WL, "--settings",
                               "{t}/bad_dropout.toml"], Exit.INPUT,
                              ["bad_dropout.toml", "search.dropout"]),
    "unknown key in TOML": (["optimize", str(KERNEL), *WL, "--settings",
                             "{t}/unknown_key.toml"], Exit.INPUT,
                            ["unknown_key.toml", "search.beam_widht"]),
    "wrong type in TOML": (["optimize", str(KERNEL), *WL, "--settings",
                            "{t}/wrong_type.toml"], Exit.INPUT,
                           ["wrong_type.toml", "search.iterations: expected int"]),
    "unknown proposer in TOML": (["optimize", str(KERNEL), *WL, "--settings",
                                  "{t}/bad_proposer.toml"], Exit.INPUT,
                                 ["bad_proposer.toml", "oracle"]),
    "invalid TOML": (["optimize", str(KERNEL), *WL, "--settings", "{t}/invalid.toml"],
                     Exit.INPUT, ["invalid.toml", "invalid TOML"]),
    "binary TOML": (["optimize", str(KERNEL), *WL, "--settings", "{t}/binary.toml"],
                    Exit.INPUT, ["binary.toml"]),
    "missing settings file": (["optimize", str(KERNEL), *WL, "--settings", "{t}/none.toml"],
                              Exit.INPUT, ["none.toml", "cannot read"]),
    "unknown --recipe item": (["optimize", str(KERNEL), *WL, "--recipe", "99",
                               "--run-dir", "{t}/run", *FAST], Exit.INPUT,
                              ["recipe", "'99'"]),
    "empty --recipe": (["optimize", str(KERNEL), *WL, "--recipe", ",", "--run-dir",
                        "{t}/run"], Exit.INPUT, ["--recipe"]),
    "name is not a proc": (["evaluate", "{t}/notproc.py:x"], Exit.INPUT,
                           ["notproc.py", "'x' is a int, not an Exo proc"]),
    "proc that does not exist": (["evaluate", "{t}/notproc.py:gemm"], Exit.INPUT,
                                 ["notproc.py", "no 'gemm' defined"]),
    "proc file with a syntax error": (["evaluate", "{t}/syntax.py:f"], Exit.INPUT,
                                      ["syntax.py:1", "syntax error"]),
    "proc file that raises": (["evaluate", "{t}/raises.py:f"], Exit.INPUT,
                              ["raises.py:3", "ZeroDivisionError"]),
    "missing proc file": (["evaluate", "{t}/nothere.py:f"], Exit.INPUT,
                          ["nothere.py", "file not found"]),
    "proc target without :NAME": (["evaluate", "{t}/notproc.py"], Exit.INPUT,
                                  ["FILE.py:NAME"]),
    "runs show on a plain directory": (["runs", "show", "{t}"], Exit.INPUT,
                                       ["not a run directory"]),
    "runs show on a missing directory": (["runs", "show", "{t}/nope"], Exit.INPUT,
                                         ["nope", "no such directory"]),
    "report on a plain directory": (["report", "{t}"], Exit.INPUT, ["not a run directory"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gets_one_line_and_its_exit_code(name, tmp_path, capsys):
    argv, code, needles = CASES[name]
    _files(tmp_path)
    with pytest.raises(SystemExit) if code == Exit.USAGE else _nothing() as raised:
        got, out, err = cli([a.replace("{t}", str(tmp_path)) for a in argv], capsys)
    if code == Exit.USAGE:
        got = raised.value.code
        err = capsys.readouterr().err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert got == code, err
    line = error_line(err)
    for needle in needles:
        assert needle.replace("{t}", str(tmp_path)) in line, line


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A short finished run of the test kernel (copied by each test that changes it)."""
    d = tmp_path_factory.mktemp("cli_run") / "run"
    assert main(["optimize", str(KERNEL), *WL, *FAST, "--run-dir", str(d),
                 "--out", str(d.parent / "out")]) == 0
    return d


def test_another_workload_in_a_run_directory_is_refused(finished_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    code, _, err = cli(["optimize", KERNEL, *WL, *FAST, "--seed", "7", "--run-dir", run],
                       capsys)
    assert code == Exit.INPUT
    line = error_line(err)
    assert str(run) in line and "different run" in line and "seed 0 there, 7 here" in line
    assert "--fresh" in line
    code, _, _ = cli(["optimize", KERNEL, *WL, *FAST, "--seed", "7", "--run-dir", run,
                      "--fresh"], capsys)
    assert code == Exit.OK


def test_a_run_directory_in_use_is_refused_naming_the_pid(finished_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run / "lock").write_text(f"{holder.pid} host\n")
        code, _, err = cli(["optimize", KERNEL, *WL, *FAST, "--run-dir", run], capsys)
    finally:
        holder.kill()
        holder.wait()
    assert code == Exit.INPUT
    line = error_line(err)
    assert f"in use by process {holder.pid}" in line and str(run) in line
    # the holder is gone now: its lock is stale and is taken over, with a note
    code, out, err = cli(["optimize", KERNEL, *WL, *FAST, "--run-dir", run], capsys)
    assert code == Exit.OK and f"took over the lock of process {holder.pid}" in out + err
    assert not (run / "lock").exists()


def test_disk_full_mid_run(tmp_path, capsys, monkeypatch):
    # simulated: os.fsync reports ENOSPC after the run has written its first lines, as a
    # full disk does when the data reaches it
    calls = []
    real = os.fsync

    def fsync(fd):
        calls.append(fd)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)
    monkeypatch.setattr(os, "fsync", fsync)
    code, _, err = cli(["optimize", KERNEL, *WL, *FAST, "--run-dir", tmp_path / "run"], capsys)
    assert code == Exit.OUTPUT
    line = error_line(err)
    assert "No space left on device" in line and str(tmp_path / "run") in line


def test_internal_error_is_one_line_and_verbose_shows_the_traceback(tmp_path, capsys,
                                                                     monkeypatch):
    import autocomp_exo.cli as cli_module

    def broken(args):
        raise RuntimeError("a bug")
    monkeypatch.setattr(cli_module, "cmd_runs_show", broken)
    code, _, err = cli(["runs", "show", tmp_path], capsys)
    assert code == Exit.INTERNAL and "internal error: RuntimeError: a bug" in error_line(err)
    assert "--verbose" in err
    assert main(["runs", "show", str(tmp_path), "--verbose"]) == Exit.INTERNAL
    assert "Traceback" in capsys.readouterr().err


def test_version_and_help_on_every_flag(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and "autocomp-exo 0." in capsys.readouterr().out
    from autocomp_exo.cli import _parser
    parsers = [_parser()]
    while parsers:
        p = parsers.pop()
        for action in p._actions:
            if action.choices and isinstance(action.choices, dict):
                parsers += action.choices.values()
            elif action.help is None:
                pytest.fail(f"{p.prog}: {action.option_strings or action.dest} has no help")


def test_the_example_settings_file_runs_as_shipped(tmp_path, capsys):
    code, out, _ = cli(["optimize", KERNEL, *WL, *FAST, "--settings",
                        ROOT / "docs" / "settings.example.toml", "--run-dir", tmp_path / "r"],
                       capsys)
    assert code == Exit.OK and "after (best found)" in out


def test_without_run_dir_the_run_is_saved_in_a_default_directory(tmp_path, capsys,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(["optimize", KERNEL, *WL, *FAST], capsys)
    assert code == Exit.OK and "runs/gemm64_resident (default" in err
    assert (tmp_path / "runs" / "gemm64_resident" / "best.json").exists()
    assert (tmp_path / "runs" / "gemm64_resident" / "out" / "gemm_64x64x64.c").exists()
    # another seed does not touch that run: it gets the next default name
    code, out, err = cli(["optimize", KERNEL, *WL, *FAST, "--seed", "7"], capsys)
    assert code == Exit.OK and "runs/gemm64_resident-2" in err


def test_a_faster_earlier_output_is_kept_and_said_so(finished_run, tmp_path, capsys):
    out = finished_run.parent / "out"
    info = out / "gemm_64x64x64.json"
    saved = info.read_text()
    code_text = (out / "gemm_64x64x64.c").read_text()
    info.write_text(saved.replace('"cycles": ', '"cycles": 1, "was": '))
    try:
        code, text, _ = cli(["optimize", KERNEL, *WL, *FAST, "--run-dir", tmp_path / "r",
                             "--out", out], capsys)
    finally:
        info.write_text(saved)
    assert code == Exit.OK and "kept" in text and "it is faster (1 cycles)" in text
    assert (out / "gemm_64x64x64.c").read_text() == code_text


def test_files_honour_the_umask(tmp_path, capsys):
    old = os.umask(0o027)
    try:
        code, _, _ = cli(["optimize", KERNEL, *WL, *FAST, "--run-dir", tmp_path / "r"], capsys)
    finally:
        os.umask(old)
    assert code == Exit.OK
    for name in ("best.c", "best.json", "out/gemm_64x64x64.c", "status.json"):
        assert (tmp_path / "r" / name).stat().st_mode & 0o777 == 0o640, name


def _sigint_default():
    """In the child: Ctrl-C as a terminal delivers it, even when the tests run where
    SIGINT is ignored (a background job of a non-interactive shell), which the child
    would inherit and Python would respect."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_saves_the_best_so_far_and_exits_130(tmp_path):
    run = tmp_path / "run"
    p = subprocess.Popen([sys.executable, "-m", "autocomp_exo.cli", "optimize", str(KERNEL),
                          *WL, "--iterations", "30", "--patience", "30", "--engine", "inline",
                          "--run-dir", str(run)], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, preexec_fn=_sigint_default)
    deadline = time.time() + 120
    while not (run / "beam" / "iter_001.json").exists() and time.time() < deadline:
        assert p.poll() is None, p.communicate()
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == Exit.INTERRUPTED, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert "interrupted; best so far" in last and str(run / "best.c") in last
    assert (run / "best.c").exists()
    import json
    assert json.loads((run / "status.json").read_text())["state"] == "interrupted"
