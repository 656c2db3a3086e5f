"""The proposer interface: how plans and rewrites enter the search.

A proposer does the two phases of the Autocomp method:

* ``plan``: given a candidate, its hardware feedback and the (dropped-out) menu,
  return up to ``n`` `Plan` objects, each choosing exactly one menu item;
* ``implement``: given a candidate and a plan, return up to ``k`` `Rewrite`
  objects, each the complete new code (as compact C text, and as IR when the
  proposer built IR directly).

LLM proposers and the built-in transformation engine both implement it, so the
search, the ensemble and the run log treat them alike. A plan from one proposer
may be implemented by another: ``Plan.text`` is always a self-contained
description; ``Plan.data`` carries structured parameters only its author needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from gemmini.ir import Function


@dataclass(frozen=True)
class MenuItem:
    """One entry of the optimization menu (method.md section 4)."""
    number: int          # its number in the rendered planning prompt (and nowhere else)
    key: str             # the item's name everywhere else, e.g. "tiling", "double_buffer"
    text: str            # the sentence shown in the planning prompt


@dataclass(frozen=True)
class Feedback:
    """What the planner is told about a candidate (from the model's report)."""
    cycles: int
    utilization: float
    sp_kib_used: float
    sp_kib_total: float
    acc_kib_used: float
    acc_kib_total: float
    bound: str                       # which resource bounded the run
    details: dict[str, Any] = field(default_factory=dict)  # instruction counts, engine busy, ...


@dataclass(frozen=True)
class Attempt:
    """An earlier rewrite of a candidate or of one of its ancestors, and how it ended
    (what later plans for that candidate are told; see `search.lineage`)."""
    on: str                          # "this code" or "an ancestor (N steps back)"
    iteration: int
    menu_item: str | None
    plan: str                        # the plan's first words
    outcome: str                     # accepted, slower, equal, wrong, parse, hardware, ...
    detail: str                      # cycles and engine numbers, or the error's first line


@dataclass(frozen=True)
class Candidate:
    """A correct program in the beam."""
    id: str                          # stable id (hash of the normalized IR)
    fn: Function
    code: str                        # compact C text of fn
    cycles: int
    feedback: Feedback
    parent: str | None = None
    iteration: int = 0
    history: tuple[Attempt, ...] = ()  # set by the search before planning
    applied: tuple[dict, ...] = ()   # what the rewrites already evaluated from this code
                                     # applied (their `Rewrite.data`); set likewise


@dataclass(frozen=True)
class Plan:
    """One planned optimization: a menu item (its key; None when a model's plan named
    none) and a concrete description."""
    menu_item: str | None
    text: str
    proposer: str                    # name of the proposer that wrote the plan
    data: dict[str, Any] = field(default_factory=dict)  # JSON-serializable structured params


@dataclass(frozen=True)
class Rewrite:
    """One implementation attempt of a plan."""
    proposer: str
    code: str | None                 # compact C text (None when the attempt produced nothing)
    fn: Function | None = None       # IR, when the proposer built it directly
    error: str | None = None         # why no code was produced (no code block, refusal, ...)
    data: dict[str, Any] = field(default_factory=dict)  # what was applied (JSON), for replay


@runtime_checkable
class Proposer(Protocol):
    """Turns candidates into plans and plans into rewrites.

    Optional, looked up with ``getattr``: ``local`` (plans and rewrites are computed in
    this process, so the search may stream them), ``repair(...)``, and
    ``exhausted(candidate) -> bool``: every rewrite the proposer could make of the
    candidate has been evaluated already (``candidate.applied``); the search then gives
    the candidate's beam slot to another accepted candidate."""

    name: str

    def plan(self, candidate: Candidate, menu: list[MenuItem], n: int,
             *, iteration: int, total_iterations: int, seed: int) -> list[Plan]:
        """Up to ``n`` distinct plans for ``candidate``, each choosing one item of ``menu``."""
        ...

    def implement(self, candidate: Candidate, plan: Plan, k: int, *, seed: int) -> list[Rewrite]:
        """Up to ``k`` rewrites of ``candidate`` that apply ``plan``."""
        ...


def is_exhausted(proposer, candidate: Candidate) -> bool:
    """The proposer's optional ``exhausted(candidate)`` (see `Proposer`); False when it
    has none."""
    check = getattr(proposer, "exhausted", None)
    return bool(check(candidate)) if check is not None else False
