"""Exceptions that stop a search cleanly (results so far are kept and saved)."""


class BudgetExhausted(Exception):
    """A budget (tokens, money, samples, time) ran out; the search stops and saves."""
