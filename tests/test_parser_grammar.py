"""The grammar and its transformer cannot drift apart: every rule has a handler."""

from lowering.c_tree import ToCTree
from lowering.parser import c_parser


def _callback_names():
    """Names the transformer is called with: rule names and aliases, minus inlined rules."""
    names = set()
    for rule in c_parser().rules:
        if rule.alias:
            names.add(rule.alias)
            continue
        name = rule.origin.name
        name = name.value if hasattr(name, "value") else str(name)
        if name.startswith("_") or rule.options.expand1:
            continue  # helper rules Lark inlines (``?rule`` with one child, ``__x_star``)
        names.add(name)
    return names


def test_every_rule_has_a_handler():
    missing = sorted(n for n in _callback_names() if not callable(getattr(ToCTree, n, None)))
    assert missing == []


def test_no_stale_handlers():
    handlers = {n for n in vars(ToCTree) if not n.startswith("_")}
    assert handlers - _callback_names() == set()


def test_grammar_is_lalr():
    assert c_parser().options.parser == "lalr"
