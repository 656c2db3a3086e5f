"""The reference check on real mapped code: passes on Exo's basic mapping, fails on
deliberately broken variants with a message that locates the first wrong element.

Expectations are independent of the model: the reference is Exo's algorithm C built
with gcc (lowering.reference), and each broken variant is wrong by construction.
"""

from __future__ import annotations

import re

import pytest

from lowering.workload import Workload
from lowering.suite import SUITE, by_name
from gemmini import model
from lowering.parser import parse_c
from lowering.print_compact import to_compact
from lowering.reference import check_sets, make_input_sets


@pytest.fixture(scope="module")
def gemm64():
    w = Workload.from_spec(by_name("gemm_64x64x64"))
    fn = parse_c(w.mapped_c().c_text, filename="gemm_64x64x64.c")
    return w, fn, make_input_sets(w)


def run_and_check(fn, w, sets):
    outs = [model.run(fn, s.inputs, timing=False, macs=w.macs).outputs for s in sets]
    return check_sets(outs, sets)


def variant(fn, pattern: str, replacement: str):
    """The compact text of `fn` with one regex substitution (exactly one match)."""
    text, n = re.subn(pattern, replacement, to_compact(fn), count=1)
    assert n == 1, f"pattern {pattern!r} not found"
    return parse_c(text, filename="variant.c")


def test_basic_mapping_passes_on_every_input_set(gemm64):
    w, fn, sets = gemm64
    assert len(sets) >= 6 and min(s.saturation for s in sets) < 0.05
    result = run_and_check(fn, w, sets)
    assert result.ok, result.message
    assert result.sets_checked == len(sets)


@pytest.mark.parametrize("what, pattern, replacement", [
    # a wrong local address: computes read the next A block instead of their own
    ("wrong address", r"compute_preloaded\(a \+ 16 \* k", "compute_preloaded(a + 16 * ((k + 1) % 4)"),
    # the accumulate bit dropped: each k block overwrites the partial sum
    ("missing accumulate bit", r"\(res \+ 16 \* j_in_o\) \| 0x40000000", "res + 16 * j_in_o"),
    # the A load dropped for every row tile but the first: stale rows are reused
    ("dropped mvin", r"mvin2\(", "if (i == 0) mvin2("),
])
def test_broken_variants_fail_with_the_first_wrong_element(gemm64, what, pattern, replacement):
    w, fn, sets = gemm64
    broken = variant(fn, pattern, replacement)
    assert broken != fn
    result = run_and_check(broken, w, sets)
    assert not result.ok, what
    first = result.first
    assert first is not None and first.array == "C"
    assert f"C[{first.index[0]}, {first.index[1]}]" in result.message
    assert f"expected {first.expected}" in result.message and f"got {first.got}" in result.message
    # the located element really is wrong in the model's output of that set
    s = next(s for s in sets if s.name == first.set_name)
    got = model.run(broken, s.inputs, timing=False).outputs["C"]
    assert got[first.index] == first.got != s.expected["C"][first.index]


@pytest.mark.slow
@pytest.mark.parametrize("name", [s.name for s in SUITE])
def test_suite_basic_mapping_passes(name):
    w = Workload.from_spec(by_name(name))
    fn = parse_c(w.mapped_c().c_text, filename=f"{name}.c")
    sets = make_input_sets(w, kinds=("uniform", "small"), acts=(False, True))
    result = run_and_check(fn, w, sets)
    assert result.ok, result.message
