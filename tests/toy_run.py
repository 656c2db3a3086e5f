"""A toy optimization run in its own process (for the kill-and-resume tests).

usage: python tests/toy_run.py BASE_URL RUN_DIR [ENGINE]
"""

import json
import os
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]

from autocomp_exo.optimizer import optimize  # noqa: E402
from autocomp_exo.settings import (EvaluationSettings, LLMSettings, ModelSettings,  # noqa: E402
                                   SearchSettings, Settings)
from search_fakes import ToyEvaluator, toy_code  # noqa: E402


def settings(base_url: str, engine: str = "inline") -> Settings:
    models = tuple(ModelSettings(name=n, base_url=base_url, api_key_env="FAKE_KEY")
                   for n in ("m1", "m2"))
    return Settings(
        proposer="llm",
        search=SearchSettings(beam_width=2, plans_per_candidate=2, impls_per_plan=3,
                              iterations=5, seed=3),
        evaluation=EvaluationSettings(engine=engine, workers=2, timeout=5.0),
        llm=LLMSettings(models=models, timeout=20.0, retries=4, backoff_base=0.01,
                        backoff_max=0.5, concurrency=4))


if __name__ == "__main__":
    os.environ.setdefault("FAKE_KEY", "sk-test")
    base_url, run_dir = sys.argv[1], sys.argv[2]
    engine = sys.argv[3] if len(sys.argv) > 3 else "inline"
    res = optimize(toy_code(tile=2, value=42), settings=settings(base_url, engine),
                   evaluator=ToyEvaluator(), run_dir=run_dir)
    print(json.dumps({"cycles": res.cycles, "trajectory": res.trajectory,
                      "recipe": res.recipe_items, "code": res.code}))
