"""Test set-up shared by every test module."""

import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import configuration as hypothesis_configuration

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Hypothesis keeps its example database under the system's temporary directory, not in the
# clone (tests never write into the repository).
hypothesis_configuration.set_hypothesis_home_dir(
    Path(tempfile.gettempdir()) / "autocomp-exo-hypothesis")


@pytest.fixture(autouse=True, scope="session")
def _test_cache_root(tmp_path_factory):
    """Every disk cache of the run lives under pytest's temporary root, never in the user's
    ~/.cache; the folder outlives one run so Exo's slow mappings are reused."""
    root = tmp_path_factory.getbasetemp().parent / "autocomp-exo-cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOCOMP_EXO_CACHE", str(root))
        yield root


@pytest.fixture(autouse=True)
def _transformation_crashes_fail_the_test(caplog):
    """The built-in proposer survives a transformation that raises anything but
    `NotApplicable` (it logs and counts the crash); in tests such a crash is a bug."""
    yield
    crashes = [r.getMessage() for r in caplog.get_records("call")
               if r.name == "autocomp_exo.proposers.builtin" and "crashed" in r.getMessage()]
    if crashes:
        pytest.fail(f"{len(crashes)} transformation crash(es), first: {crashes[0]}")


@pytest.fixture(scope="session")
def tinympc_workloads():
    """The three TinyMPC workloads, built once per run (Exo's inlining of their reference
    takes several seconds each)."""
    from lowering import tinympc
    return {s.name: tinympc.workload(s.name) for s in tinympc.SPECS}
