"""Test set-up shared by every test module."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(autouse=True, scope="session")
def _test_cache_root(tmp_path_factory):
    """Every disk cache of the run lives under pytest's temporary root, never in the user's
    ~/.cache; the folder outlives one run so Exo's slow mappings are reused."""
    root = tmp_path_factory.getbasetemp().parent / "autocomp-exo-cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOCOMP_EXO_CACHE", str(root))
        yield root
