"""Renamed keyword arguments of the public API, kept for one release."""

from __future__ import annotations

import warnings

from gemmini.errors import ConfigError


def renamed(function: str, old: str, old_value, new: str, new_value):
    """The value of keyword ``new``, taking the deprecated keyword ``old`` (with a
    `DeprecationWarning`) when only that one was given."""
    if old_value is None:
        return new_value
    if new_value is not None:
        raise ConfigError(f"{function}(): pass {new}= only ({old}= is its old name)")
    warnings.warn(f"{function}({old}=...) is deprecated; use {new}=...", DeprecationWarning,
                  stacklevel=3)
    return old_value
