"""The accepted C subset, derived from the grammar and checked by the parser.

The constructs (statements, operators, types) are read from
``grammars/c_subset.lark``; every one is then *probed*: a tiny function using it
goes through the real parser (`lowering.parser.parse_c`, which also lowers to IR),
and the prompt lists the construct as accepted or not by the outcome. So the list
is never written by hand and cannot drift from the parser: a grammar rule without a
probe in ``c_subset.toml`` is an error, and so is a probe that parses when its
construct should not (the tests check both directions).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import grammars
from gemmini.errors import AutocompError, ConfigError
from lowering.parser import parse_c

HERE = Path(__file__).resolve().parent
GRAMMAR = Path(grammars.__file__).resolve().parent / "c_subset.lark"
PROBES = HERE / "c_subset.toml"


@dataclass(frozen=True)
class Construct:
    group: str          # statements, loops, binary, assignment, unary, other, types, cpu
    name: str           # what the prompt calls it
    probe: str          # statements inside the probe function
    accepted: bool


def probe_source(body: str) -> str:
    """The probe function around ``body`` (``x`` is a declared scalar)."""
    return f"void probe(int8_t A[16][16]) {{\n  uint32_t x = 5;\n  {body}\n}}\n"


def accepts(body: str) -> bool:
    """Whether the parser (and the lowering to IR) accepts ``body`` in a probe."""
    try:
        parse_c(probe_source(body), filename="<probe>")
    except AutocompError:
        return False
    return True


def _rule_text(grammar: str, head: str) -> str:
    """The text of the rule starting ``head`` up to the next blank line."""
    m = re.search(rf"^{re.escape(head)}(.*?)(?:\n\s*\n|\Z)", grammar, re.M | re.S)
    if not m:
        raise ConfigError(f"rule {head!r} not found", filename=str(GRAMMAR))
    return m.group(1)


def grammar_constructs(grammar: str) -> dict[str, list[str]]:
    """What the grammar offers, by group: statement rules and operator/type spellings."""
    terminals = dict(re.findall(r'^([A-Z_]+)(?:\.\d+)?:\s*"([^"]+)"\s*$', grammar, re.M))
    stmts = re.findall(r"\|\s*(\w+)", "|" + _rule_text(grammar, "?stmt:"))
    binary: list[str] = []
    for line in grammar.splitlines():
        if "-> binop" in line:
            for name in re.findall(r"\b([A-Z]+)\b", line.split("->")[0]):
                if name in terminals and terminals[name] not in binary:
                    binary.append(terminals[name])
    unary = [terminals[n] for n in re.findall(r"\b([A-Z]+)\b", _rule_text(grammar, "unary_op:"))]
    return {
        "statements": stmts,
        "binary": binary,
        "assignment": re.findall(r'"([^"]+)"', _rule_text(grammar, "!assign_op:")),
        "unary": unary,
        "incdec": [terminals["INC"], terminals["DEC"]],
        "types": re.findall(r'"([^"]+)"', _rule_text(grammar, "!base_type:")),
    }


def _probes_for(groups: dict[str, list[str]], table: dict) -> list[tuple[str, str, str]]:
    out = []
    for rule in groups["statements"]:
        entry = table["statements"].get(rule)
        if entry is None:
            raise ConfigError(f"statement rule {rule!r} of the grammar has no probe",
                              filename=str(PROBES))
        out.append(("statements", entry["name"], entry["probe"]))
    for entry in table["loops"].values():
        out.append(("loops", entry["name"], entry["probe"]))
    for op in groups["binary"]:
        out.append(("binary", op, f"uint32_t y = x {op} 3; mvin(0, y, 16, 16);"))
    for op in groups["assignment"]:
        out.append(("assignment", op, f"x {op} 3; mvin(0, x, 16, 16);"))
    for op in groups["unary"]:
        out.append(("unary", op, f"uint32_t y = {op}x; mvin(0, y, 16, 16);"))
    for op in groups["incdec"]:
        out.append(("unary", f"x{op}, {op}x", f"x{op}; {op}x; mvin(0, x, 16, 16);"))
    out.append(("other", "c ? a : b", "uint32_t y = x < 3 ? 1 : 2; mvin(0, y, 16, 16);"))
    out.append(("other", "(T)e casts", "uint32_t y = (uint32_t)x; mvin(0, y, 16, 16);"))
    out.append(("other", "sizeof(T)", "uint32_t y = sizeof(int8_t); mvin(0, y, 16, 16);"))
    for t in groups["types"]:
        out.append(("types", t, f"{t} y = 3; A[0][0] = y;"))
    for entry in table["cpu"].values():
        out.append(("cpu", entry["name"], entry["probe"]))
    return out


@lru_cache(maxsize=1)
def constructs() -> tuple[Construct, ...]:
    """Every construct of the grammar with its probe's outcome."""
    groups = grammar_constructs(GRAMMAR.read_text())
    table = tomllib.loads(PROBES.read_text())
    return tuple(Construct(g, name, probe, accepts(probe))
                 for g, name, probe in _probes_for(groups, table))


def fields() -> dict[str, str]:
    """The lists the ``c_subset`` template shows (accepted and refused, by group)."""
    cs = constructs()

    def names(group: str, ok: bool) -> str:
        sep = "; " if group == "cpu" else ", "
        return sep.join(f"`{c.name}`" if group not in ("statements", "loops", "cpu") else c.name
                        for c in cs if c.group == group and c.accepted == ok) or "none"
    return {f"{g}_{'yes' if ok else 'no'}": names(g, ok)
            for g in ("statements", "loops", "binary", "assignment", "unary", "other", "types",
                      "cpu")
            for ok in (True, False)}
