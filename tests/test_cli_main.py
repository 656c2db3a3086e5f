"""Command line and settings."""

import json
from pathlib import Path

import pytest

from autocomp_exo.cli import main, parse_workload
from autocomp_exo.settings import Settings, load_settings
from gemmini.errors import ConfigError

DATA = Path(__file__).parent / "data" / "search"


def test_settings_from_toml_and_flags(tmp_path):
    cfg = tmp_path / "s.toml"
    cfg.write_text('proposer = "llm"\n[search]\nbeam_width = 6\ndropout = 0.75\n'
                   '[[llm.models]]\nname = "a"\nbase_url = "http://x/v1"\n'
                   '[[llm.models]]\nname = "b"\ntemperature = 0.5\n')
    s = load_settings(cfg, {"search.beam_width": 3, "search.seed": None})
    assert s.proposer == "llm" and s.search.beam_width == 3 and s.search.dropout == 0.75
    assert [m.name for m in s.llm.models] == ["a", "b"] and s.llm.models[1].temperature == 0.5
    assert s.search.plans_per_candidate == 4 and s.search.iterations == 8   # defaults
    assert load_settings() == Settings()


@pytest.mark.parametrize("text,match", [
    ("[search]\nbeam_widht = 2\n", "unknown setting 'search.beam_widht'"),
    ("[[llm.models]]\nname = \"a\"\ncolour = 1\n", r"unknown setting 'llm.models\[0\].colour'"),
    ("[search]\nbeam_width = \"four\"\n", "search.beam_width: expected int"),
    ("bogus = 1\n", "unknown setting 'bogus'"),
    ("[search\n", "invalid TOML")])
def test_settings_errors_name_key_and_file(tmp_path, text, match):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=match) as e:
        load_settings(cfg)
    assert str(cfg) in str(e.value)


def test_cli_reports_config_errors(tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[search]\nnope = 1\n")
    # exit code 3: input rejected (docs/cli.md; was 2 before usage errors got their own)
    assert main(["optimize", "x.c", "--workload", "gemm:64x64x64", "--settings", str(cfg)]) == 3
    err = capsys.readouterr().err
    assert "bad.toml" in err and "search.nope" in err and "Traceback" not in err
    assert main(["optimize", "kernel.c"]) == 3
    assert "--workload" in capsys.readouterr().err
    assert main(["optimize", "nothere.py:gemm"]) == 3
    assert "nothere.py" in capsys.readouterr().err


def test_runs_show(tmp_path, capsys):
    from search_fakes import DoublingProposer, ToyEvaluator, toy_code

    from autocomp_exo.optimizer import optimize
    from autocomp_exo.settings import EvaluationSettings, SearchSettings
    s = Settings(search=SearchSettings(iterations=3),
                 evaluation=EvaluationSettings(engine="inline"))
    optimize(toy_code(tile=4, value=42), settings=s, proposer=DoublingProposer(),
             evaluator=ToyEvaluator(), run_dir=tmp_path / "run")
    assert main(["runs", "show", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "finished" in out and "2,500" in out and "312" in out and "8.01x" in out
    assert main(["runs", "show", str(tmp_path)]) == 3


def test_workload_descriptions():
    with pytest.raises(ConfigError, match="gemm takes MxNxK"):
        parse_workload("gemm:1x2")
    with pytest.raises(ConfigError, match="unknown workload"):
        parse_workload("fft:8")


@pytest.mark.parametrize("cmd", ["evaluate", "optimize"])
def test_cli_on_a_c_file_with_the_real_model(tmp_path, capsys, cmd):
    args = [cmd, str(DATA / "gemm64_resident.c"), "--workload", "gemm:64x64x64"]
    if cmd == "optimize":
        args += ["--iterations", "1", "--plans", "2", "--impls", "1", "--engine", "inline",
                 "--run-dir", str(tmp_path / "run"), "--out", str(tmp_path / "out")]
    assert main(args) == 0
    out = capsys.readouterr().out
    if cmd == "evaluate":
        assert "3,070" in out or "cycles" in out
        assert "KB out of 256 KB" in out
    else:
        assert "after (best found)" in out and (tmp_path / "out" / "gemm_64x64x64.h").exists()
        assert (tmp_path / "run" / "best.c").exists()


def test_cli_evaluate_an_exo_proc_file_and_quickstart(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)            # the Quickstart's runs/quickstart lands in tmp
    user = tmp_path / "my_gemm.py"
    user.write_text("from lowering.suite import gemm_algorithm\n"
                    "my_gemm = gemm_algorithm(64, 64, 64)\n")
    assert main(["evaluate", f"{user}:my_gemm"]) == 0
    assert "KB out of 256 KB" in capsys.readouterr().out
    assert main(["quickstart", "--iterations", "1", "--plans", "1", "--impls", "1",
                 "--engine", "inline", "--out", str(tmp_path / "out")]) == 0
    assert "speedup" in capsys.readouterr().out
    header = (tmp_path / "out" / "gemm_64x64x64.h").read_text()
    assert "struct ConfigLoad" in header         # Exo's own header (its context struct)
    assert (tmp_path / "runs" / "quickstart" / "best.json").exists()


def test_example_settings_file_loads():
    # the shipped example runs as is: the built-in proposer, the LLM parts commented out
    s = load_settings(Path(__file__).parent.parent / "docs" / "settings.example.toml")
    assert s.proposer == "builtin" and s == Settings()


def test_every_evaluator_from_settings_takes_the_cpu_cost_source(monkeypatch, tmp_path, capsys):
    """The CLI builds its evaluators from the settings' [evaluation] table: a settings file
    asking for the compiled CPU cost reaches the evaluator (the run fails loudly if no
    RISC-V compiler is found rather than silently pricing from the IR)."""
    from autocomp_exo import evaluation
    seen = []
    real = evaluation.ModelEvaluator.for_workload.__func__

    def spy(cls, workload, gemmini, **fields):
        seen.append(fields.get("cpu_cost"))
        return real(cls, workload, gemmini, **fields)
    monkeypatch.setattr(evaluation.ModelEvaluator, "for_workload", classmethod(spy))
    toml = tmp_path / "s.toml"
    toml.write_text('[evaluation]\ncpu_cost = "compiled-zig"\n')
    kernel = Path(__file__).parent / "data" / "search" / "gemm64_resident.c"
    main(["evaluate", str(kernel), "--workload", "gemm:64x64x64", "--settings", str(toml)])
    assert seen == ["compiled-zig"]


def test_a_recipe_on_a_c_file_keeps_the_workloads_seed_programs(tmp_path, capsys):
    """`optimize FILE.c --workload W --recipe ...` refines beside W's loop-FSM and vendor
    programs, as a plain optimize does: one short refinement ends at least as fast as the
    FSM program, whose cycles the baselines table (evaluated apart) prints."""
    import re
    args = ["optimize", str(DATA / "gemm64_resident.c"), "--workload", "gemm:64x64x64",
            "--recipe", "tiling", "--iterations", "1", "--plans", "1", "--impls", "1",
            "--engine", "inline", "--run-dir", str(tmp_path / "run"),
            "--out", str(tmp_path / "out")]
    assert main(args) == 0
    out = capsys.readouterr().out
    fsm = int(re.search(r"hardware loop FSM\s+([\d,]+) cycles", out).group(1).replace(",", ""))
    best = json.loads((tmp_path / "run" / "refine" / "best.json").read_text())
    assert best["cycles"] <= fsm
