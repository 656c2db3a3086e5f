"""The public surface: every exported name resolves to the object it names."""

import importlib

import autocomp_exo


def test_every_export_resolves_to_a_non_module():
    for name in autocomp_exo.__all__:
        # import every module behind the exports first: a submodule that shares a
        # function's name would then shadow it on the package
        importlib.import_module(autocomp_exo._EXPORTS[name])
    for name in autocomp_exo.__all__:
        value = getattr(autocomp_exo, name)
        assert not isinstance(value, type(importlib)), name


def test_optimize_and_evaluate_are_callables():
    from autocomp_exo import evaluate, map_to_gemmini, optimize
    assert callable(optimize) and callable(evaluate) and callable(map_to_gemmini)
    assert optimize.__name__ == "optimize" and evaluate.__name__ == "evaluate"
