"""A C kernel's signature: its name, its parameters as `ir.Param`s, Exo's context type.

The one reader of signatures in C text (Exo's .c, our toolchain printer's .c, the
compact dialect): the parser's own head grammar and parameter lowering
(`lowering.parser.parse_head`), with shapes of flat pointers from Exo's
signature comment. A proc's signature is `lowering.workload.proc_signature`;
both are the same ``tuple[ir.Param, ...]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from gemmini import ir
from lowering.parser import parse_head


@dataclass(frozen=True)
class Signature:
    """Name, parameters (context pointer excluded) and Exo's context type, if any."""
    name: str
    params: tuple[ir.Param, ...]
    context: str | None = None

    def param(self, name: str) -> ir.Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


def read_signature(text: str, *, function: str | None = None, filename: str = "<C text>",
                   require_shapes: bool = True) -> Signature:
    """The signature of ``function`` (default: the last non-static definition) in ``text``.

    Raises `gemmini.errors.ParseError` naming the file and line when the head is
    malformed or uses an unsupported type. ``require_shapes=False`` reads a
    pointer of unknown extent as a by-pointer value instead of failing.
    """
    head = parse_head(text, filename=filename, function=function,
                      require_shapes=require_shapes)
    return Signature(head.name, head.params, head.context)
