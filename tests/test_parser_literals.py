"""Integer literals read as C reads them: decimal, hex and octal (a leading 0)."""

import pytest

from gemmini import ir
from gemmini.errors import ParseError
from lowering.parser import parse_c


def _value_of(literal: str) -> int:
    fn = parse_c(f"void f(int8_t A[64][16]) {{ int x = {literal}; mvin(&A[x][0], 0, 16, 16); }}")
    decl = next(s for s in fn.body if isinstance(s, ir.Decl))
    return decl.init.value


@pytest.mark.parametrize("literal, value", [
    ("10", 10), ("0x10", 16), ("010", 8), ("0", 0), ("00", 0), ("017u", 15), ("0X1f", 31),
])
def test_literal_values(literal, value):
    assert _value_of(literal) == value


def test_bad_octal_literal_is_a_parse_error_with_its_line():
    with pytest.raises(ParseError) as err:
        parse_c("void f(int8_t A[64][16]) {\n  int x = 09;\n  mvin(&A[x][0], 0, 16, 16);\n}")
    assert "octal" in str(err.value) and err.value.line == 2
