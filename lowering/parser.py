"""`parse_c`: C text (Exo's complete files or the compact dialect) -> `ir.Function`.

Stages: `lowering.preprocess` isolates the function (comments, ``#`` lines and
other top-level items blanked, positions kept); the LALR grammar
``grammars/c_subset.lark`` with the `lowering.c_tree` transformer builds the C
syntax tree; `lowering.c_to_ir` normalizes it to IR. Only
`gemmini.errors.ParseError` (and subclasses) ever leave `parse_c`.
"""

from __future__ import annotations

from functools import lru_cache

from lark import Lark
from lark.exceptions import (
    UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError,
)

from lowering.alloc import EMPTY_HEAP, HeapState
from lowering.c_to_ir import Lowerer
from lowering.c_tree import ToCTree
from gemmini.errors import ParseError
from gemmini.ir import Function
from lowering.preprocess import prepare

GRAMMAR = "../grammars/c_subset.lark"


@lru_cache(maxsize=1)
def c_parser() -> Lark:
    """The LALR parser of the C subset, transforming to `lowering.c_tree` while it parses."""
    return Lark.open(GRAMMAR, rel_to=__file__, parser="lalr",
                     transformer=ToCTree(), cache=True)


def parse_c(text: str, *, filename: str = "<input>", function: str | None = None,
            heap: HeapState = EMPTY_HEAP) -> Function:
    """Parse and normalize one kernel function of ``text``.

    ``function`` picks the definition by name; by default the last non-static
    function definition is used. Raises `ParseError` (or a subclass) naming the
    file, line and what was wrong. ``heap`` is the scratchpad heap before the kernel
    (`lowering.alloc.HeapState`): where its ``gemm_malloc`` calls land.
    """
    return _guarded(text, filename, function, head_only=False, require_shapes=True, heap=heap)


def parse_head(text: str, *, filename: str = "<input>", function: str | None = None,
               require_shapes: bool = True) -> Function:
    """`parse_c` of the function's head only: name, parameters and context, empty body.

    With ``require_shapes=False`` a pointer parameter whose extent neither the C
    nor Exo's signature comment gives reads as a by-pointer value (shape ``()``).
    """
    return _guarded(text, filename, function, head_only=True, require_shapes=require_shapes)


def _guarded(text: str, filename: str, function: str | None, **options) -> Function:
    try:
        return _parse(text, filename, function, **options)
    except ParseError:
        raise
    except RecursionError:
        raise ParseError("program nested too deeply", filename=filename) from None
    except Exception as e:  # noqa: BLE001 - the contract: nothing else escapes
        raise ParseError(f"internal error while parsing ({type(e).__name__}: {e})",
                         filename=filename) from e


def _parse(text: str, filename: str, function: str | None, *, head_only: bool,
           require_shapes: bool, heap: HeapState = EMPTY_HEAP) -> Function:
    if not isinstance(text, str):
        raise ParseError(f"expected C text, got {type(text).__name__}", filename=filename)
    prepared = prepare(text, filename, function, head_only=head_only)
    try:
        cfunc = c_parser().parse(prepared.text)
    except VisitError as e:
        if isinstance(e.orig_exc, ParseError):
            raise e.orig_exc from None
        raise ParseError(f"internal error in the syntax tree ({e.orig_exc})",
                         filename=filename) from e.orig_exc
    except UnexpectedInput as e:
        raise _syntax_error(e, prepared.text, filename) from None
    return Lowerer(filename, prepared.shapes, require_shapes=require_shapes,
                   helpers=_helper_reader(prepared.helpers, filename),
                   heap=heap).function(cfunc)


def _helper_reader(helpers: tuple, filename: str):
    """name -> the parsed helper function (`lowering.c_tree.CFunc`) of that name in the same
    file, parsed when first called (None: no such function)."""
    texts = dict(helpers)
    parsed: dict = {}

    def helper(name: str):
        if name not in texts:
            return None
        if name not in parsed:
            try:
                parsed[name] = c_parser().parse(texts[name])
            except VisitError as e:
                if isinstance(e.orig_exc, ParseError):
                    raise e.orig_exc from None
                raise ParseError(f"internal error in the syntax tree ({e.orig_exc})",
                                 filename=filename) from e.orig_exc
            except UnexpectedInput as e:
                raise _syntax_error(e, texts[name], filename) from None
        return parsed[name]
    return helper


def _describe(terminals) -> str:
    lark = c_parser()
    names = []
    for t in sorted(terminals):
        try:
            pattern = lark.get_terminal(t).pattern
        except KeyError:
            names.append(t)
            continue
        if pattern.type == "str":
            names.append(repr(pattern.value))
        else:
            names.append({"NAME": "a name", "INT": "an integer", "FLOAT": "a float"}.get(t, t))
    if len(names) > 12:
        names = names[:12] + ["..."]
    return ", ".join(names)


def _syntax_error(e: UnexpectedInput, text: str, filename: str) -> ParseError:
    line, column = getattr(e, "line", None), getattr(e, "column", None)
    if isinstance(e, UnexpectedCharacters):
        char = text[e.pos_in_stream] if 0 <= e.pos_in_stream < len(text) else "?"
        msg = f"unexpected character {char!r}"
        if e.allowed:
            msg += f"; expected {_describe(e.allowed)}"
    elif isinstance(e, UnexpectedEOF):
        msg = f"unexpected end of input; expected {_describe(e.expected)}"
    elif isinstance(e, UnexpectedToken):
        tok = e.token
        shown = "end of function" if tok.type == "$END" else repr(str(tok))
        msg = f"unexpected {shown}; expected {_describe(e.expected)}"
        if tok.type == "$END":
            line, column = None, None
    else:
        msg = "syntax error"
    if line is not None and line < 0:
        line, column = None, None
    return ParseError(msg, filename=filename, line=line, column=column)
