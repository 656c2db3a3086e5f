"""parse_c's errors: the right type, naming what and where."""

import time

import pytest

from gemmini.errors import ArityError, ParseError, UnknownInstruction, UnsupportedConstruct
from lowering.parser import parse_c

HEAD = "void f(int8_t A[16][16], int8_t C[16][16]) {\n"


def err(body: str, cls=ParseError, filename="k.c"):
    with pytest.raises(cls) as info:
        parse_c(HEAD + body + "\n}\n", filename=filename)
    return info.value


def test_syntax_error_names_line_column_and_expectation():
    e = err("  fence();\n  mvin(0, 0, 16 16);")
    assert type(e) is ParseError
    assert e.filename == "k.c" and e.line == 3 and e.column == 17
    assert "unexpected '16'" in e.message and "expected" in e.message and "','" in e.message
    assert str(e).startswith("k.c:3:17: ")


def test_unexpected_character():
    e = err("  fence() @;")
    assert e.line == 2 and "'@'" in e.message


def test_missing_brace():
    e = err("  for (int i = 0; i < 2; i++) {\n fence();")
    assert "never closed" in e.message and e.line == 1


def test_unknown_instruction():
    e = err("  mvin4(0, 0, 16, 16);", UnknownInstruction)
    assert e.line == 2 and "mvin4" in e.message


def test_unknown_function_in_expression():
    e = err("  uint32_t x = foo(3);", UnknownInstruction)
    assert "foo" in e.message


@pytest.mark.parametrize("call,expected", [
    ("mvin(0, 0, 16);", "4"),
    ("gemmini_extended_mvin(0, 0, 16, 16, 1);", "4"),
    ("config_ld();", "1 or 2 or 3 or 4"),
    ("gemmini_extended_config_ex(1, 0, 0, 1, 0);", "6"),
    ("fence(1);", "0"),
])
def test_arity_error_lists_arities(call, expected):
    e = err("  " + call, ArityError)
    assert f"takes {expected} arguments" in e.message and e.line == 2


@pytest.mark.parametrize("stmt,word", [
    ("int i = 0; while (i < 3) i++;", "while"),
    ("int i = 0; do { i++; } while (i < 3);", "do-while"),
    ("goto out;", "goto"),
    ("out: fence();", "label"),
    ("return;", "return"),
    ("for (int i = 0; i < 2; i++) { break; }", "break"),
    ("*A = 1;", "writing DRAM data of 'A'"),
    ("A[0] = 1;", "writing DRAM data of 'A'"),
    ("float x = A[0][0] % 2.0f;", "operator % on a float"),
    ("static int s = 0;", "static scalar"),
    ("int x[4]; int x[4];", "declared twice"),
    ("int8_t x[16]; mvin(&x[0], 0, 16, 16);", "local array 'x' as a DRAM operand"),
    ("double y[2];", "local array 'y' of type 'double'"),
    ("int x = 1; x[0] = 2;", "subscript of something that is not an array"),
    ("mvin(A[0][0], 0, 16, 16);", "reads DRAM data of 'A'; pass its address"),
    ("mvin(0, &A[0][0], 16, 16);", "DRAM address of 'A' as an integer"),
    ("int *p = 0;", "pointer local"),
    ("for (int i = 0; i < 4; i--) fence();", "positive constant"),
    ("for (int i = 0; i != 4; i++) fence();", "loop condition"),
    ("for (int i = 0; i < 4; i++) { uint32_t a = gemm_malloc(16); }", "not all freed"),
    ("for (int i = 0; i < 4; i++) { i = 2; }", "loop variable"),
    ("ctxt->x = 1;", "other than a scalar local"),
    ("int n = 0; n++ + 1;", "without effect"),
])
def test_unsupported_constructs(stmt, word):
    e = err("  " + stmt, UnsupportedConstruct)
    assert word in e.message and e.line == 2, e.message


def test_undeclared_name():
    e = err("  mvin(0, acc, 16, 16);")
    assert "undeclared name 'acc'" in e.message and e.line == 2


def test_dram_operand_must_be_address():
    e = err("  mvin(5, 0, 16, 16);")
    assert "argument 1 (dram_addr) of mvin" in e.message


def test_flat_pointer_without_shape():
    with pytest.raises(ParseError, match="shape of pointer parameter 'A' is unknown"):
        parse_c("void f(const int8_t* A) { fence(); }")


def test_no_function():
    with pytest.raises(ParseError, match="no function definition"):
        parse_c("int x;\n")
    with pytest.raises(ParseError, match="no definition of function 'g'"):
        parse_c("void f() {}", function="g")


@pytest.mark.parametrize("text", [
    "", "}", "{", "void f() {", "/* open", "void f() { \"abc }", "void f(", "((((((",
    "void f() { mvin(&A[0], 0, 16, 16); }", "void f(int8_t A[n][4]) {}",
    "\x00\x01\x02", "void f(int) {}", "void f() { 1 +; }", "void f() { x = (uint32_t); }",
])
def test_garbage_raises_parse_error(text):
    with pytest.raises(ParseError):
        parse_c(text)


def test_not_text():
    with pytest.raises(ParseError):
        parse_c(b"void f() {}")  # type: ignore[arg-type]


def test_deep_nesting_is_a_clean_error():
    start = time.time()
    with pytest.raises(ParseError, match="nested"):
        parse_c("void f() { int x = " + "(" * 5000 + "1" + ")" * 5000 + "; }")
    with pytest.raises(ParseError):
        parse_c("void f() {" + "{" * 5000 + "}" * 5000 + "}")
    assert time.time() - start < 5


def test_long_flat_expression_is_fine_or_clean_error():
    text = "void f() { uint32_t x = " + " + ".join(["1"] * 3000) + "; }"
    try:
        fn = parse_c(text)
    except ParseError:
        return
    assert fn.body[0].init.value == 3000


def test_huge_input_rejected():
    with pytest.raises(ParseError, match="limit"):
        parse_c("void f() {}" + " " * 5_000_000)
