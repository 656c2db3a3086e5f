"""Candidate lineage as a networkx DiGraph; its path to the best is the schedule recipe.

Every edge also records how the rewrite ended (``outcome``, ``detail``): `history`
turns the attempts made on a candidate and its ancestors into the short memory
that later plans for that candidate are shown.
"""

from __future__ import annotations

import re

import networkx as nx
from networkx.readwrite import json_graph

from autocomp_exo.proposers.base import Attempt

PLAN_WORDS = 240      # characters of a plan quoted in the history
_CHOICE = re.compile(r"^\**CHOICE\s*[:=]\s*\**\s*#?\d+\**\s*", re.I)   # the plan's own label


def busiest(busy: dict | None) -> tuple[str, int] | None:
    """The engine with the most busy cycles, and its cycles."""
    if not busy:
        return None
    name = max(busy, key=lambda e: busy[e])
    return name, int(busy[name])


def describe_outcome(outcome: str, cycles: int | None, parent_cycles: int,
                     busy: dict | None, parent_busy: dict | None,
                     error: str | None = None) -> str:
    """One line on how a rewrite ended: cycles against its parent and where the busiest
    engine went (for correct code), or the error's first line."""
    if cycles is None or outcome not in ("accepted", "slower", "equal"):
        first = (error or "").strip().splitlines()[0] if (error or "").strip() else ""
        return first[:200]
    text = f"{cycles:,} cycles (parent {parent_cycles:,})"
    now, before = busiest(busy), busiest(parent_busy)
    if now and before:
        if now[0] == before[0]:
            text += f"; busiest engine {now[0]} {now[1]:,} (parent {before[1]:,})"
        else:
            text += (f"; busiest engine moved from {before[0]} ({before[1]:,}) to "
                     f"{now[0]} ({now[1]:,})")
    return text


def _relation(depth: int, on_path: bool) -> str:
    """How an attempt made on the node ``depth`` steps up the chain relates to the
    candidate: one of its own, a step that led to it, or a sibling attempt."""
    if depth == 0:
        return "tried on this code"
    if on_path:
        return "the step that made this code" if depth == 1 else \
            f"a step on this code's path, {depth} steps back"
    return "tried on its parent instead" if depth == 1 else \
        f"tried on an ancestor {depth} steps back"


class Lineage:
    """Nodes are evaluated programs (by IR key); edges parent -> child carry the plan."""

    def __init__(self):
        self.graph = nx.DiGraph()

    def add_root(self, key: str, cycles: int) -> None:
        self.graph.add_node(key, cycles=cycles, ok=True, accepted=True, iteration=0, root=True)

    def add_child(self, parent: str, key: str, *, cycles: int | None, ok: bool,
                  accepted: bool, iteration: int, menu_item: str | None, plan: str,
                  planner: str, implementer: str, error: str | None = None,
                  outcome: str | None = None, detail: str = "",
                  applied: dict | None = None) -> None:
        if key not in self.graph:
            self.graph.add_node(key, cycles=cycles, ok=ok, accepted=accepted,
                                iteration=iteration, error=error)
        elif accepted and not self.graph.nodes[key].get("accepted"):
            self.graph.nodes[key].update(accepted=True, iteration=iteration)
        if key == parent:
            self.graph.nodes[key].setdefault("applied_here", [])
            if applied and applied not in self.graph.nodes[key]["applied_here"]:
                self.graph.nodes[key]["applied_here"].append(applied)
        elif not self.graph.has_edge(parent, key):
            self.graph.add_edge(parent, key, menu_item=menu_item, plan=plan, planner=planner,
                                implementer=implementer, iteration=iteration,
                                accepted=accepted, outcome=outcome or error, detail=detail,
                                applied=applied or None, also_applied=[])
        elif applied and applied != self.graph.edges[parent, key].get("applied"):
            also = self.graph.edges[parent, key].setdefault("also_applied", [])
            if applied not in also:
                also.append(applied)

    def applied_from(self, key: str) -> tuple[dict, ...]:
        """What every rewrite evaluated from ``key`` applied (`Rewrite.data`; rewrites
        that recorded nothing are left out), oldest edge first: a proposer need not plan
        them again."""
        if key not in self.graph:
            return ()
        out = list(self.graph.nodes[key].get("applied_here", ()))
        for _, _, e in self.graph.out_edges(key, data=True):
            out += [d for d in (e.get("applied"), *e.get("also_applied", ())) if d]
        return tuple(out)

    def recipe(self, chain: list[str]) -> list[dict]:
        """The ordered plans along ``chain`` (root ... best); ``menu_item`` is the key,
        ``applied`` what the implementer recorded it applied (None: nothing recorded)."""
        steps = []
        for a, b in zip(chain, chain[1:]):
            e = self.graph.edges[a, b]
            steps.append({"menu_item": e["menu_item"], "plan": e["plan"],
                          "planner": e["planner"], "implementer": e["implementer"],
                          "applied": e.get("applied"),
                          "from": a, "to": b, "cycles": self.graph.nodes[b].get("cycles")})
        return steps

    def history(self, chain: list[str], limit: int) -> tuple[Attempt, ...]:
        """The latest ``limit`` attempts on ``chain[0]`` and its ancestors (``chain``:
        the candidate, its parent, ... the root), newest first, the candidate's own
        before its ancestors'. The step that led to the candidate counts as accepted."""
        out: list[tuple[int, int, Attempt]] = []
        for depth, node in enumerate(chain):
            if node not in self.graph:
                continue
            for _parent, child, e in self.graph.out_edges(node, data=True):
                on = _relation(depth, on_path=depth > 0 and child == chain[depth - 1])
                outcome = e.get("outcome") or ("accepted" if e.get("accepted") else "rejected")
                plan = _CHOICE.sub("", " ".join((e.get("plan") or "").split()), count=1)
                if len(plan) > PLAN_WORDS:
                    plan = plan[:PLAN_WORDS].rsplit(" ", 1)[0] + " ..."
                out.append((depth, -int(e.get("iteration", 0)), Attempt(
                    on=on, iteration=int(e.get("iteration", 0)), menu_item=e.get("menu_item"),
                    plan=plan, outcome=outcome, detail=e.get("detail", ""))))
        out.sort(key=lambda t: (t[0], t[1]))
        return tuple(a for _, _, a in out[:max(0, limit)])

    def to_json(self) -> dict:
        return json_graph.node_link_data(self.graph, edges="edges")

    @classmethod
    def from_json(cls, data: dict) -> "Lineage":
        lin = cls()
        lin.graph = json_graph.node_link_graph(data, directed=True, edges="edges")
        return lin
