"""End to end on a real 64x64x64 GEMM: parser + Gemmini model + reference check.

The expected outputs come from numpy (int32 matmul, float32 scale, round half to
even, saturation, ReLU), independent of the code under test.
"""

from pathlib import Path

import numpy as np
import pytest

from autocomp_exo.optimizer import optimize  # noqa: E402
from autocomp_exo.proposers.base import Plan, Rewrite  # noqa: E402
from autocomp_exo.evaluation import ModelEvaluator  # noqa: E402
from autocomp_exo.settings import EvaluationSettings, SearchSettings, Settings  # noqa: E402
from benchmarks.numpy_reference import numpy_gemm

FAST = (Path(__file__).parent / "data" / "search" / "gemm64_resident.c").read_text()
VARIANTS = {
    "broken": FAST.replace("fence();", "fence(;"),
    "wrong": FAST.replace("mvout(&C[16 * i][16 * j]", "mvout(&C[16 * j][16 * i]"),
    "hardware": FAST.replace("mvin2(&A[16 * i][0], a + 64 * i, 64, 16)",
                             "mvin2(&A[16 * i][0], a + 64 * i, 64, 17)"),
    "fast": FAST,
}


@pytest.fixture(scope="module")
def gemm64():
    from lowering.workload import Workload
    from lowering import suite as workloads
    w = Workload.from_spec(workloads.gemm(64, 64, 64))
    return w, ModelEvaluator.for_workload(w, kinds=("uniform",))


class Scripted:
    """Plans 'keep B resident'; implements it with a broken, a wrong, an illegal and a
    correct faster kernel."""
    name = "scripted"

    def plan(self, candidate, menu, n, **kw):
        return [Plan("keep_in_scratchpad", "Keep all of B resident in the scratchpad; load it once.", self.name)]

    def implement(self, candidate, plan, k, **kw):
        return [Rewrite(self.name, code) for code in VARIANTS.values()]




def test_scripted_search_finds_the_faster_correct_kernel(gemm64, tmp_path):
    w, ev = gemm64
    start = w.mapped_c().c_text
    s = Settings(search=SearchSettings(iterations=2, beam_width=2, plans_per_candidate=1,
                                       impls_per_plan=4, patience=1),
                 evaluation=EvaluationSettings(engine="inline"))
    res = optimize(start, settings=s, proposer=Scripted(), evaluator=ev, run_dir=tmp_path / "run")
    assert res.cycles < res.start_cycles and res.speedup > 1.1
    assert res.recipe_items == ["keep_in_scratchpad"]
    kinds = {}
    from autocomp_exo.runs import load_run
    for e in load_run(tmp_path / "run")["events"]:
        if e["event"] == "candidate" and e["iteration"] == 1:
            kinds[e["error_kind"]] = kinds.get(e["error_kind"], 0) + 1
    assert kinds == {"parse": 1, "wrong": 1, "hardware": 1, None: 1}

    # the result is correct on fresh inputs, by numpy
    from gemmini.model import run
    rng = np.random.default_rng(11)
    A = rng.integers(-128, 128, (64, 64), dtype=np.int8)
    B = rng.integers(-128, 128, (64, 64), dtype=np.int8)
    for act in (False, True):
        scale = np.float32(1 / 512)
        out = run(res.fn, {"A": A, "B": B, "C": np.zeros((64, 64), np.int8),
                           "scale": scale, "act": act}, timing=False).outputs["C"]
        assert np.array_equal(out.reshape(64, 64), numpy_gemm(A, B, scale, act))

    # the toolchain C re-parses to the same program; write() gives .c and .h
    from lowering.parser import parse_c
    from lowering.simplify import simplify_function
    assert res.toolchain_code and "gemmini.h" in res.toolchain_code
    assert simplify_function(parse_c(res.toolchain_code)) == res.fn
    c_path, h_path = res.write(tmp_path / "out")
    header = h_path.read_text()
    assert "#ifndef" in header and "gemm_64x64x64(" in header and "stdint.h" in header
    assert c_path.read_text() == res.toolchain_code


def test_builtin_search_on_an_exo_proc(gemm64, tmp_path):
    w, _ = gemm64
    s = Settings(search=SearchSettings(iterations=2, beam_width=2, plans_per_candidate=2,
                                       impls_per_plan=1),
                 evaluation=EvaluationSettings(engine="inline", input_kinds=("uniform",)))
    res = optimize(w.algorithm, settings=s)
    assert res.cycles < res.start_cycles
    assert res.header and "gemm" in res.header

    # the emitted .c/.h build with gcc against the host emulator and match numpy
    from lowering.emulator.build import run_c
    c_path, h_path = res.write(tmp_path / "out")
    rng = np.random.default_rng(5)
    A = rng.integers(-128, 128, (64, 64), dtype=np.int8)
    B = rng.integers(-128, 128, (64, 64), dtype=np.int8)
    for act in (False, True):
        scale = np.float32(1 / 1500)
        out = run_c(c_path.read_text(), {"A": A, "B": B, "scale": scale, "act": act},
                    params=res.fn.params, context=res.fn.context, function=res.fn.name,
                    h_text=h_path.read_text()).outputs["C"]
        assert np.array_equal(out.reshape(64, 64), numpy_gemm(A, B, scale, act))


def test_llm_proposer_over_http_on_the_real_gemm(gemm64, tmp_path, monkeypatch):
    from fake_openai import FakeLLM

    from autocomp_exo.settings import LLMSettings, ModelSettings
    w, ev = gemm64
    monkeypatch.setenv("FAKE_KEY", "sk-test")
    seen = []

    def answer(body):
        user = body["messages"][-1]["content"]
        seen.append(user)
        if "Choose exactly one optimization" in user:
            return "CHOICE: 9\nLoad all of B once and keep it in the scratchpad."
        return "```c\n" + FAST + "```"

    with FakeLLM(transient_every=0) as srv:
        srv.answer = answer
        s = Settings(proposer="llm",
                     search=SearchSettings(iterations=1, beam_width=1, plans_per_candidate=1,
                                           impls_per_plan=1, dropout=0.0),
                     evaluation=EvaluationSettings(engine="inline"),
                     llm=LLMSettings(models=(ModelSettings(name="m", base_url=srv.base_url,
                                                           api_key_env="FAKE_KEY"),)))
        res = optimize(w.mapped_c().c_text, settings=s, evaluator=ev, run_dir=tmp_path / "run")
    assert res.recipe_items == ["keep_in_scratchpad"] and res.cycles < res.start_cycles
    plan_prompt = seen[0]
    assert "mvin3(" in plan_prompt and "KB out of 256 KB" in plan_prompt   # real code + feedback
    assert f"{res.start_cycles:,} cycles" in plan_prompt
    # the model's diagnostics reach the prompt: engines ranked with margins, the causes
    assert "Busy cycles per engine, busiest first" in plan_prompt
    for cause in ("Bank conflicts:", "Stolen cycles:", "Exposed preloads:", "CPU stalls:",
                  "Instructions executed: "):
        assert cause in plan_prompt, cause


def test_builtin_search_logs_transformations_and_legality_counts(gemm64, tmp_path):
    from autocomp_exo.runs import read_jsonl
    from autocomp_exo.transforms import TRANSFORMS
    w, ev = gemm64
    s = Settings(search=SearchSettings(iterations=2, beam_width=2, plans_per_candidate=3,
                                       impls_per_plan=1, dropout=0.0),
                 evaluation=EvaluationSettings(engine="inline", input_kinds=("uniform",)))
    optimize(w.mapped_c().c_text, settings=s, evaluator=ev, run_dir=tmp_path / "run")
    events = list(read_jsonl(tmp_path / "run" / "events.jsonl"))
    named = [e["transform"] for e in events if e["event"] == "candidate"]
    assert named and set(named) <= set(TRANSFORMS)
    stats = next(e for e in events if e["event"] == "search_end")["proposer_stats"]
    assert stats and all(0 <= d["illegal"] <= d["tried"] for d in stats.values())
    assert sum(d["planned"] for d in stats.values()) >= len({e["transform"] for e in events
                                                             if e["event"] == "candidate"})
