"""Random compositions of transformations keep the semantics (seeded, small shapes)."""

import random

import pytest

from autocomp_exo.transforms import NotApplicable, applications, apply
from gemmini.config import get_config
from lowering.parser import parse_c
from lowering.print_compact import to_compact
from transforms_support import basic_gemm, check_gemm

CFG = get_config()
SHAPES = [(32, 128, 128), (48, 64, 64), (32, 256, 64)]


@pytest.mark.parametrize("seed", range(4))
def test_random_sequences_stay_correct_and_printable(seed):
    rng = random.Random(seed)
    M, N, K = SHAPES[seed % len(SHAPES)]
    fn = basic_gemm(M, N, K)
    applied = []
    for _ in range(5):
        apps = applications(fn, CFG)
        rng.shuffle(apps)
        for a in apps[:10]:
            try:
                new = apply(fn, a, CFG)
            except NotApplicable:
                continue
            applied.append(a.note)
            fn = new
            break
    assert applied
    check_gemm(fn, M, N, K, seed=seed)
    assert parse_c(to_compact(fn)) == fn, applied


def test_found_applications_are_mostly_legal():
    """The analyses keep the share of refused rewrites low on Exo's basic mapping."""
    fn = basic_gemm(32, 128, 128)
    apps = applications(fn, CFG)
    refused = 0
    for a in apps:
        try:
            apply(fn, a, CFG)
        except NotApplicable:
            refused += 1
    assert refused <= 0.25 * len(apps), (refused, len(apps))
