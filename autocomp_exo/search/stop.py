"""Exceptions that stop a search cleanly (results so far are kept and saved)."""

from gemmini.errors import AutocompError


class BudgetExhausted(Exception):
    """A budget (tokens, money, samples, time) ran out; the search stops and saves."""


class SearchAborted(AutocompError):
    """Something the search cannot go on without failed (an unreachable LLM endpoint).
    The search stops, the results so far are saved, and then this error is raised;
    `optimize` sets ``result`` to the `OptimizeResult` reached before the failure."""

    result = None
