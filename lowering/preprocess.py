"""Before the grammar: strip comments and preprocessor lines, find the kernel function.

`prepare` returns the text of the one function to parse, with everything else
(comments, ``#`` lines, structs, typedefs, prototypes, ``extern "C"`` wrappers,
other functions) blanked out so that line and column numbers still point into
the original file. It also reads Exo's signature comment

    // gemm_64x64x64(
    //     A : i8[64, 64] @DRAM,
    //     ...
    // )

which gives the shapes of flat pointer parameters. One linear scan each; no
backtracking, so no input can make it slow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from gemmini.errors import ParseError

MAX_INPUT_CHARS = 4_000_000
MAX_NESTING = 200

_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {v: k for k, v in _OPEN.items()}


@dataclass(frozen=True)
class Prepared:
    text: str                                  # whole file, all but the function blanked
    name: str                                  # the function's name
    shapes: dict                               # param -> (dtype, shape) from the signature comment
    helpers: tuple = ()                        # (name, text): other functions, each isolated


def _blank(s: str) -> str:
    return "".join(c if c == "\n" else " " for c in s)


def strip_comments(text: str, filename: str) -> tuple[str, list[tuple[int, str]]]:
    """Comments and preprocessor lines -> spaces (newlines kept).

    Returns the cleaned text and the line comments as (line, text after ``//``).
    Handles string and character literals, backslash-newline continuations of
    preprocessor lines and line comments, and block comments holding anything.
    """
    out: list[str] = []
    comments: list[tuple[int, str]] = []
    i, n, line = 0, len(text), 1
    at_line_start = True
    while i < n:
        c = text[i]
        if c == "\n":
            out.append(c)
            line += 1
            i += 1
            at_line_start = True
            continue
        if c in " \t\r\f\v":
            out.append(c)
            i += 1
            continue
        if at_line_start and c == "#":
            j = i
            while j < n and text[j] != "\n":
                if text[j] == "\\" and j + 1 < n and text[j + 1] == "\n":
                    j += 2
                    continue
                if text.startswith("/*", j):  # a block comment may start on a # line
                    end = text.find("*/", j + 2)
                    j = n if end < 0 else end + 2
                    continue
                j += 1
            chunk = text[i:j]
            out.append(_blank(chunk))
            line += chunk.count("\n")
            i = j
            continue
        at_line_start = False
        if text.startswith("//", i):
            j = i
            while j < n and text[j] != "\n":
                if text[j] == "\\" and j + 1 < n and text[j + 1] == "\n":
                    j += 2
                    continue
                j += 1
            chunk = text[i:j]
            comments.append((line, chunk[2:]))
            out.append(_blank(chunk))
            line += chunk.count("\n")
            i = j
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise ParseError("unterminated block comment", filename=filename, line=line)
            chunk = text[i:end + 2]
            out.append(_blank(chunk))
            line += chunk.count("\n")
            i = end + 2
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                if text[j] == "\n":
                    raise ParseError("unterminated string or character literal",
                                     filename=filename, line=line)
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise ParseError("unterminated string or character literal",
                                 filename=filename, line=line)
            out.append(text[i:j + 1])
            i = j + 1
            continue
        out.append(c)
        i += 1
    return "".join(out), comments


_SIG_START = re.compile(r"^\s*([A-Za-z_]\w*)\s*\(\s*$")
_SIG_PARAM = re.compile(r"^\s*([A-Za-z_]\w*)\s*:\s*\[?\s*([A-Za-z_]\w*)\s*\]?\s*(\[([^\]]*)\])?")


def signature_shapes(comments: list[tuple[int, str]]) -> dict[str, dict]:
    """Exo's signature comments: function name -> {param: (dtype, shape or None)}."""
    found: dict[str, dict] = {}
    i = 0
    while i < len(comments):
        m = _SIG_START.match(comments[i][1])
        if not m:
            i += 1
            continue
        params: dict = {}
        j = i + 1
        while j < len(comments) and comments[j][0] == comments[j - 1][0] + 1:
            body = comments[j][1].strip()
            if body.startswith(")"):
                found[m.group(1)] = params
                break
            pm = _SIG_PARAM.match(body)
            if pm:
                shape = None
                if pm.group(3) is None:
                    shape = ()
                else:
                    dims = [d.strip() for d in pm.group(4).split(",")]
                    if all(d.isdigit() for d in dims):
                        shape = tuple(int(d) for d in dims)
                params[pm.group(1)] = (pm.group(2), shape)
            j += 1
        i = j + 1 if j > i else i + 1
    return found


@dataclass(frozen=True)
class _FuncSpan:
    name: str
    start: int
    end: int        # just past the body's closing brace
    static: bool
    body: int = -1  # position of the body's opening brace


_EXTERN_C = re.compile(r'extern\s*"C"\s*$')
_NAME_BEFORE = re.compile(r"([A-Za-z_]\w*)\s*$")


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _col_of(text: str, pos: int) -> int:
    return pos - (text.rfind("\n", 0, pos) + 1) + 1


def find_functions(clean: str, filename: str) -> list[_FuncSpan]:
    """Top-level function definitions of the cleaned text (``extern "C" {}`` is transparent)."""
    funcs: list[_FuncSpan] = []
    stack: list[tuple[str, int, bool]] = []  # (bracket, position, transparent)
    item_start = 0
    body_of: _FuncSpan | None = None  # the definition whose body is open
    pos, n = -1, len(clean)
    while pos + 1 < n:
        pos += 1
        c = clean[pos]
        if c in "\"'":  # skip the literal (strip_comments checked it is terminated)
            pos += 1
            while pos < n and clean[pos] != c:
                pos += 2 if clean[pos] == "\\" else 1
            continue
        if c in _OPEN:
            depth = sum(1 for b in stack if not b[2])
            if c == "{" and depth == 0:
                head = clean[item_start:pos]
                if _EXTERN_C.search(head):
                    stack.append((c, pos, True))
                    item_start = pos + 1
                    continue
                stripped = head.rstrip()
                if stripped.endswith(")"):
                    span = _function_head(clean, item_start, len(stripped) + item_start)
                    if span is not None:
                        body_of = replace(span, body=pos)
            stack.append((c, pos, False))
            if len(stack) > MAX_NESTING:
                raise ParseError(f"brackets nested deeper than {MAX_NESTING}", filename=filename,
                                 line=_line_of(clean, pos), column=_col_of(clean, pos))
        elif c in _CLOSE:
            if not stack or stack[-1][0] != _CLOSE[c]:
                raise ParseError(f"unbalanced '{c}'", filename=filename,
                                 line=_line_of(clean, pos), column=_col_of(clean, pos))
            _b, _p, transparent = stack.pop()
            depth = sum(1 for b in stack if not b[2])
            if transparent:
                item_start = pos + 1
            elif c == "}" and depth == 0 and body_of is not None:
                funcs.append(replace(body_of, end=pos + 1))
                body_of = None
                item_start = pos + 1
        elif c == ";" and not any(not b[2] for b in stack):
            item_start = pos + 1
    if stack:
        b, p, _t = stack[-1]
        raise ParseError(f"'{b}' is never closed", filename=filename,
                         line=_line_of(clean, p), column=_col_of(clean, p))
    return funcs


def _function_head(clean: str, start: int, close_paren_end: int) -> _FuncSpan | None:
    """The function whose parameter list ends just before ``close_paren_end``."""
    depth = 0
    for k in range(close_paren_end - 1, start - 1, -1):
        if clean[k] == ")":
            depth += 1
        elif clean[k] == "(":
            depth -= 1
            if depth == 0:
                m = _NAME_BEFORE.search(clean, start, k)
                if m is None:
                    return None
                head = clean[start:m.start()]
                if "=" in head:
                    return None
                first = re.compile(r"\S").search(clean, start)
                return _FuncSpan(m.group(1), first.start() if first else start, -1,
                                 re.search(r"\bstatic\b", head) is not None)
    return None


def prepare(text: str, filename: str, function: str | None, *,
            head_only: bool = False) -> Prepared:
    """Find and isolate the function to parse (``function`` or the last non-static one).

    ``head_only`` blanks the body too (``{ }`` remains), for reading the signature.
    """
    if len(text) > MAX_INPUT_CHARS:
        raise ParseError(f"input is {len(text)} characters; the limit is {MAX_INPUT_CHARS}",
                         filename=filename)
    clean, comments = strip_comments(text, filename)
    funcs = find_functions(clean, filename)
    if function is not None:
        chosen = [f for f in funcs if f.name == function]
        if not chosen:
            names = ", ".join(f.name for f in funcs) or "none"
            raise ParseError(f"no definition of function '{function}' (found: {names})",
                             filename=filename)
    else:
        chosen = [f for f in funcs if not f.static] or funcs
        if not chosen:
            raise ParseError("no function definition found", filename=filename)
    f = chosen[-1]
    body = _blank(clean[f.body + 1:f.end - 1]) if head_only else clean[f.body + 1:f.end - 1]
    isolated = (_blank(clean[:f.start]) + clean[f.start:f.body + 1] + body + "}"
                + _blank(clean[f.end:]))
    shapes = signature_shapes(comments).get(f.name, {})
    helpers = () if head_only else tuple(
        (g.name, _blank(clean[:g.start]) + clean[g.start:g.end] + _blank(clean[g.end:]))
        for g in funcs if g is not f)
    return Prepared(isolated, f.name, shapes, helpers)
