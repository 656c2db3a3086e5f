"""The project's error types. Every error a user can cause is one of these.

Each carries *where* (file, line, column, instruction) so messages point at the
user's code, never into our internals.
"""

from __future__ import annotations


class AutocompError(Exception):
    """Base class of every error autocomp-exo raises on purpose."""

    def __init__(self, message: str, *, filename: str | None = None,
                 line: int | None = None, column: int | None = None):
        self.message = message
        self.filename = filename
        self.line = line
        self.column = column
        super().__init__(self.__str__())

    def where(self) -> str:
        parts = [self.filename or ""]
        if self.line:
            parts.append(str(self.line))
            if self.column:
                parts.append(str(self.column))
        text = ":".join(p for p in parts if p)
        return text

    def __str__(self) -> str:
        w = self.where()
        return f"{w}: {self.message}" if w else self.message


class ParseError(AutocompError):
    """The C text is not valid in the accepted subset (syntax)."""


class UnsupportedConstruct(ParseError):
    """Valid C, but outside the subset we model (while, goto, pointer deref of DRAM, ...)."""


class UnknownInstruction(ParseError):
    """A call to a function that is neither a Gemmini instruction nor a known helper."""


class ArityError(ParseError):
    """A Gemmini instruction called with the wrong number of arguments."""


class HardwareError(AutocompError):
    """A program broke a hardware rule while running on the model (limits, addresses, ...)."""


class CheckError(AutocompError):
    """Outputs differ from the reference semantics."""


class ConfigError(AutocompError):
    """Bad configuration (unknown key, wrong type, missing value)."""
