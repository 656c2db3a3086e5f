"""Mutated programs: parse_c returns a Function or raises a ParseError, quickly."""

import re
import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gemmini.errors import ParseError
from gemmini.ir import Function
from lowering.parser import parse_c

PHASES = (Phase.explicit, Phase.generate, Phase.shrink)  # no explain phase: slow, needs no db

DATA = Path(__file__).resolve().parent / "data"
SOURCES = [
    (DATA / "compact" / "method_gemm_32.c").read_text(),
    (DATA / "compact" / "gemm_64_twin.c").read_text(),
    (DATA / "exo_c" / "gemm_64x64x64.c").read_text(),
]
TOKEN = re.compile(r"\s+|//[^\n]*|/\*.*?\*/|\w+|\S", re.S)
TOKENS = [TOKEN.findall(s) for s in SOURCES]
EXTRA = ["{", "}", "(", ")", ";", "*", "&", "while", "goto", "0", "~", "[", "]", "\"", "'",
         "/*", "*/", "#", "\\\n", "int", "A", "mvin", "1.5f", "0x", "->", "..."]
TIME_LIMIT_S = 3.0


@st.composite
def mutated(draw):
    k = draw(st.integers(0, len(TOKENS) - 1))
    toks = list(TOKENS[k])
    for _ in range(draw(st.integers(1, 4))):
        if not toks:
            break
        i = draw(st.integers(0, len(toks) - 1))
        kind = draw(st.sampled_from(["drop", "dup", "swap", "insert"]))
        if kind == "drop":
            del toks[i]
        elif kind == "dup":
            toks.insert(i, toks[i])
        elif kind == "swap" and i + 1 < len(toks):
            toks[i], toks[i + 1] = toks[i + 1], toks[i]
        else:
            toks.insert(i, draw(st.sampled_from(EXTRA + toks[:50])))
    return "".join(toks)


def _check(text):
    start = time.perf_counter()
    try:
        result = parse_c(text)
    except ParseError as e:
        assert str(e)
    else:
        assert isinstance(result, Function)
    assert time.perf_counter() - start < TIME_LIMIT_S


@settings(max_examples=80, deadline=None, database=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_programs_fail_cleanly(text):
    _check(text)


@settings(max_examples=100, deadline=None, database=None, phases=PHASES)
@given(st.text(alphabet="{}()[];*&~|<>=+-/%!?:,.'\"#\\\n 0123456789abcAfor_ifmvin", max_size=200))
def test_random_text_fails_cleanly(text):
    _check(text)
