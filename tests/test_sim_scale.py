"""The discrete-event model of benchmarks/sim_scale.py against hand-computed makespans."""

import pytest

from benchmarks.sim_scale import DISPATCH, simulate


def test_equal_costs_fill_the_workers_in_rounds():
    # 4 candidates of 1 s per iteration on 2 workers: two rounds, plus the driver's 0.5 s
    per_iteration = 0.5 + 2 * (1.0 + DISPATCH)
    assert simulate([1.0], batch=4, driver=0.5, workers=2, candidates=40) == \
        pytest.approx(4 / per_iteration)


def test_workers_beyond_the_batch_do_not_help():
    assert simulate([1.0], 8, 0.0, 8, candidates=80) == \
        simulate([1.0], 8, 0.0, 64, candidates=80) == pytest.approx(8 / (1.0 + DISPATCH))
