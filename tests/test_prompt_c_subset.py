"""The C subset section: derived from the grammar, each entry checked by the parser."""

import pytest

from autocomp_exo.prompts import builder, c_subset
from gemmini.errors import AutocompError, ConfigError
from lowering.parser import parse_c

WRAP = "void k(int8_t A[16][16]) {{\n  uint32_t x = 5;\n  {}\n}}\n"


def parses(body: str) -> bool:
    try:
        parse_c(WRAP.format(body))
    except AutocompError:
        return False
    return True


def listed(text: str, label: str) -> tuple[str, str]:
    """(accepted, not accepted) parts of the line starting ``- label:``."""
    line = next(ln for ln in text.split("\n- ") if ln.startswith(label))
    yes, _, no = line.partition("Not accepted:")
    return yes, no


def test_listed_constructs_parse_and_refused_ones_do_not():
    text = builder.c_subset_text()
    yes, no = listed(text, "Binary operators:")
    assert "`%`" in yes and "`&`" in yes and "`<<`" in yes
    assert parses("uint32_t y = x % 3; mvin(0, y, 16, 16);")
    yes, no = listed(text, "Assignments:")
    assert "`+=`" in yes and parses("x += 3; mvin(0, x, 16, 16);")
    yes, no = listed(text, "Other expressions:")
    assert "`c ? a : b`" in yes and parses("uint32_t y = x ? 1 : 2; mvin(0, y, 16, 16);")
    yes, no = listed(text, "Statements:")
    assert "for loops" in yes and "if / else" in yes
    assert "while loops" in no and "break" in no
    assert not parses("while (x < 9) { x++; }")
    assert not parses("for (int i = 0; i < 4; i++) { continue; }")
    yes, no = listed(text, "Loop headers:")
    assert "i += step" in yes and "i--" in no
    assert not parses("for (int i = 4; i > 0; i--) { mvin(0, i, 16, 16); }")
    yes, no = listed(text, "Types of locals:")
    assert "`uint32_t`" in yes and "`int`" in yes and "`float`" in yes and "`long`" in no
    assert parses("float y = 1; A[0][0] = y;")
    assert not parses("long y = 1; mvin(0, 0, 16, 16);")
    yes, no = listed(text, "CPU code:")
    assert "element reads" in yes and "local arrays of" in yes and "pointers" in no
    assert parses("A[1][2] = A[0][0] + 1;") and not parses("mvin(0, A[0][0], 16, 16);")


def test_every_construct_agrees_with_the_parser():
    for c in c_subset.constructs():
        assert parses(c.probe) == c.accepted, c


def test_every_statement_rule_of_the_grammar_has_a_probe(monkeypatch, tmp_path):
    groups = c_subset.grammar_constructs(c_subset.GRAMMAR.read_text())
    assert {"for_stmt", "if_stmt", "while_stmt", "jump_stmt"} <= set(groups["statements"])
    assert {"%", "&", "<<", "&&"} <= set(groups["binary"])
    grammar = tmp_path / "g.lark"
    grammar.write_text(c_subset.GRAMMAR.read_text().replace(
        "     | jump_stmt", "     | jump_stmt\n     | switch_stmt"))
    monkeypatch.setattr(c_subset, "GRAMMAR", grammar)
    c_subset.constructs.cache_clear()
    try:
        with pytest.raises(ConfigError, match="switch_stmt"):
            c_subset.constructs()
    finally:
        c_subset.constructs.cache_clear()
