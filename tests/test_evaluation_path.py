"""One evaluation path: `evaluate()` and the search's `ModelEvaluator` share input sets,
the output check (`lowering.reference.check_sets`, with an fp32 tolerance) and the
report; the Gemmini configuration is ``gemmini=``, the search settings ``settings=``."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from autocomp_exo.evaluation import ModelEvaluator, evaluate
from autocomp_exo.optimizer import optimize, reuse_schedule
from autocomp_exo.search.evaluator import WRONG
from autocomp_exo.settings import EvaluationSettings, SearchSettings, Settings, load_settings
from gemmini.config import DEFAULT_CONFIG
from gemmini.errors import ConfigError, HardwareError
from lowering.reference import InputSet, check, check_sets
from search_fakes import DoublingProposer, ToyEvaluator, toy_code


# --------------------------------------------------------------------------- the check

def test_check_with_a_tolerance_accepts_close_floats_and_rejects_far_ones_and_nan():
    want = {"C": np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)}
    close = {"C": want["C"] + np.float32(0.01)}
    assert not check(close, want).ok                          # exact by default
    assert check(close, want, atol=0.02).ok
    far = {"C": np.array([[1.0, 2.0], [3.5, 4.0]], np.float32)}
    r = check(far, want, atol=0.02)
    assert not r.ok and r.first.index == (1, 0)
    assert (r.first.expected, r.first.got, r.first.count) == (3.0, 3.5, 1)
    assert r.message == "set 'set0': C[1, 0] expected 3.0, got 3.5 (1 of 4 elements differ)"
    nan = {"C": np.array([[1.0, np.nan], [3.0, 4.0]], np.float32)}
    assert not check(nan, want, atol=1.0).ok


def test_check_sets_stops_consuming_lazy_outputs_at_the_first_wrong_set():
    sets = [InputSet(f"s{i}", {}, {"C": np.full(3, i, np.int8)}) for i in range(4)]
    given = []

    def outputs():
        for i in range(4):
            given.append(i)
            yield {"C": np.full(3, i if i != 1 else 9, np.int8)}
    r = check_sets(outputs(), sets)
    assert not r.ok and r.sets_checked == 1 and r.message.startswith("set 's1': C[0] ")
    assert given == [0, 1]
    assert r.saturation == ()                   # the sets carry no saturation share
    assert not check_sets([{"C": np.zeros(3, np.int8)}], sets).ok      # too few outputs


# --------------------------------------------------------------------------- the evaluator

@pytest.fixture(scope="module")
def gemm64():
    from lowering import suite as workloads
    from lowering.parser import parse_c
    from lowering.workload import Workload
    w = Workload.from_spec(workloads.gemm(64, 64, 64))
    return w, w.mapped_c().c_text, parse_c(w.mapped_c().c_text)


def test_evaluate_and_the_search_evaluator_check_the_same_sets(gemm64):
    w, code, fn = gemm64
    e = evaluate(fn, workload=w)
    assert e.check.ok and e.check.sets_checked == 3 * len(w.acts)     # uniform, extreme, ties
    assert [name for name, _ in e.check.saturation][0] == "uniform_s0"
    assert evaluate(fn, workload=w, kinds=("uniform",)).check.sets_checked == len(w.acts)
    ev = ModelEvaluator.for_workload(w)
    assert [s.name.split("_")[0] for s in ev.sets] == \
        ["uniform"] * len(w.acts) + ["extreme"] * len(w.acts)
    checked = ev.run(fn)              # the path evaluate() takes, on the search's sets
    assert checked.check.ok and checked.report.cycles == e.report.cycles
    assert checked.check.sets_checked == 2 * len(w.acts)


def test_a_wrong_program_fails_alike_in_both(gemm64):
    """The accumulate bit dropped: each k block overwrites the partial sum."""
    w, _, fn = gemm64
    from lowering.parser import parse_c
    from lowering.print_compact import to_compact
    text, n = re.subn(r"\(res \+ 16 \* j_in_o\) \| 0x40000000", "res + 16 * j_in_o",
                      to_compact(fn), count=1)
    assert n == 1
    broken = parse_c(text)
    e = evaluate(broken, workload=w)
    assert not e.check.ok and e.check.message.startswith("set 'uniform_s0': C[")
    assert e.check.sets_checked == 0                    # stopped at the first wrong set
    r = ModelEvaluator.for_workload(w).evaluate(broken)
    assert r.error_kind == WRONG and r.error_message == e.check.message


def test_gemmini_keyword_and_its_deprecated_name(gemm64):
    """Code mapped for DIM 16 reads rows an int8_32 Gemmini never wrote: the keyword (old
    or new name) reaches the model."""
    _, _, fn = gemm64
    assert evaluate(fn, gemmini="int8_16").report.config == "int8_16"
    with pytest.raises(HardwareError, match="never written"):
        evaluate(fn, gemmini="int8_32")
    with pytest.warns(DeprecationWarning, match="gemmini="):
        with pytest.raises(HardwareError, match="never written"):
            evaluate(fn, config="int8_32")
    with pytest.raises(ConfigError, match="gemmini= only"):
        evaluate(fn, gemmini="int8_32", config="int8_16")
    assert ModelEvaluator().gemmini == DEFAULT_CONFIG == "int8_16"


# --------------------------------------------------------------------------- settings

def test_optimize_takes_settings_and_warns_on_config():
    s = Settings(search=SearchSettings(iterations=1), evaluation=EvaluationSettings(
        engine="inline"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = optimize(toy_code(tile=4, value=42), settings=s, proposer=DoublingProposer(),
                     evaluator=ToyEvaluator())
    with pytest.warns(DeprecationWarning, match="settings="):
        b = optimize(toy_code(tile=4, value=42), config=s, proposer=DoublingProposer(),
                     evaluator=ToyEvaluator())
    assert a.cycles == b.cycles == 1250


def test_old_settings_key_evaluation_config_is_read_as_gemmini(tmp_path):
    old = tmp_path / "old.toml"
    old.write_text('[evaluation]\nconfig = "int8_32"\n')
    with pytest.warns(DeprecationWarning, match="evaluation.gemmini"):
        s = load_settings(old)
    assert s.evaluation.gemmini == "int8_32"


def test_cli_old_flag_names_still_work(tmp_path, capsys):
    from autocomp_exo.cli import _parser, _settings
    f = tmp_path / "s.toml"
    f.write_text("[search]\niterations = 5\n")
    new = _settings(_parser().parse_args(["evaluate", "x.c", "--settings", str(f),
                                          "--gemmini", "fp32_4"]))
    old = _settings(_parser().parse_args(["evaluate", "x.c", "--config", str(f),
                                          "--gemmini-config", "fp32_4"]))
    assert new == old and new.search.iterations == 5 and new.evaluation.gemmini == "fp32_4"
    assert "--config is deprecated" in capsys.readouterr().err


def test_a_recipe_names_menu_items_by_key():
    s = Settings(evaluation=EvaluationSettings(engine="inline"))
    with pytest.raises(ConfigError, match="unknown menu item 'no_such_item'"):
        reuse_schedule(toy_code(tile=4, value=42), ["hoist", "no_such_item"], settings=s,
                       proposer=DoublingProposer(), evaluator=ToyEvaluator())
    with pytest.raises(ConfigError, match="by key"):
        reuse_schedule(toy_code(tile=4, value=42), [9], settings=s,
                       proposer=DoublingProposer(), evaluator=ToyEvaluator())
