"""Getting code and menu choices out of model responses (text only; nothing is executed)."""

from __future__ import annotations

import re

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.S)
_FUNC_START = re.compile(r"^[ \t]*(?:static\s+|inline\s+)*void\s+\w+\s*\(", re.M)
_CHOICE = re.compile(r"CHOICE\s*[:=]\s*\**\s*#?\s*(\d+)", re.I)
_THINK = re.compile(r"<think(?:ing)?>.*?</think(?:ing)?>", re.S | re.I)
_LOOSE = re.compile(
    r"(?:menu\s+item|option|optimization|item)\s*(?:number\s*)?[:#]?\s*\**\s*(\d+)", re.I)


def strip_thinking(text: str) -> str:
    """The response without ``<think>...</think>`` sections of reasoning models."""
    return _THINK.sub("", text).strip()


def extract_code(text: str | None) -> str | None:
    """The C code of a response: the last fenced C block holding a function, the last
    fenced block, or else a bare ``void name(...) { ... }`` function; None if none."""
    if not text:
        return None
    text = strip_thinking(text)
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(text)]
    c_blocks = [b for lang, b in blocks if lang in ("c", "cpp", "c++", "")]
    for body in reversed(c_blocks):
        if _FUNC_START.search(body):
            return body.strip() + "\n"
    if c_blocks:
        return c_blocks[-1].strip() + "\n"
    return _bare_function(text)


def _bare_function(text: str) -> str | None:
    m = _FUNC_START.search(text)
    if not m:
        return None
    start = m.start()
    depth, seen = 0, False
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "{":
            depth, seen = depth + 1, True
        elif ch == "}":
            depth -= 1
            if seen and depth == 0:
                return text[start:i + 1].strip() + "\n"
    return None


def parse_choice(text: str | None, allowed: list[int]) -> int | None:
    """The menu number a plan chose (``CHOICE: n`` first, looser phrasings after)."""
    if not text:
        return None
    text = strip_thinking(text)
    for pattern in (_CHOICE, _LOOSE):
        for m in pattern.finditer(text):
            n = int(m.group(1))
            if n in allowed:
                return n
    m = re.match(r"\s*\**\s*(\d+)[.):]", text)
    if m and int(m.group(1)) in allowed:
        return int(m.group(1))
    return None
