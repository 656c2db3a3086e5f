"""lowering.exo_frames: frames of frozen modules resolve to their module from inspect's
cache, so Exo's inspect.stack() calls do not scan sys.modules for each of them."""

import importlib._bootstrap
import inspect

import lowering  # noqa: F401  (registers on import)
from lowering.exo_frames import register_frozen_modules


def test_frozen_import_frames_resolve_from_the_cache():
    register_frozen_modules()
    name = "<frozen importlib._bootstrap>"
    assert inspect.modulesbyfile[name] == "importlib._bootstrap"
    code = importlib._bootstrap._find_and_load.__code__
    assert code.co_filename == name                      # what a frame of it reports
    assert inspect.getmodule(code, name) is importlib._bootstrap
