"""Candidate lineage as a networkx DiGraph; its path to the best is the schedule recipe."""

from __future__ import annotations

import networkx as nx
from networkx.readwrite import json_graph


class Lineage:
    """Nodes are evaluated programs (by IR key); edges parent -> child carry the plan."""

    def __init__(self):
        self.graph = nx.DiGraph()

    def add_root(self, key: str, cycles: int) -> None:
        self.graph.add_node(key, cycles=cycles, ok=True, accepted=True, iteration=0, root=True)

    def add_child(self, parent: str, key: str, *, cycles: int | None, ok: bool,
                  accepted: bool, iteration: int, menu_item: str | None, plan: str,
                  planner: str, implementer: str, error: str | None = None) -> None:
        if key not in self.graph:
            self.graph.add_node(key, cycles=cycles, ok=ok, accepted=accepted,
                                iteration=iteration, error=error)
        elif accepted and not self.graph.nodes[key].get("accepted"):
            self.graph.nodes[key].update(accepted=True, iteration=iteration)
        if key != parent and not self.graph.has_edge(parent, key):
            self.graph.add_edge(parent, key, menu_item=menu_item, plan=plan, planner=planner,
                                implementer=implementer, iteration=iteration,
                                accepted=accepted)

    def recipe(self, chain: list[str]) -> list[dict]:
        """The ordered plans along ``chain`` (root ... best); ``menu_item`` is the key."""
        steps = []
        for a, b in zip(chain, chain[1:]):
            e = self.graph.edges[a, b]
            steps.append({"menu_item": e["menu_item"], "plan": e["plan"],
                          "planner": e["planner"], "implementer": e["implementer"],
                          "from": a, "to": b, "cycles": self.graph.nodes[b].get("cycles")})
        return steps

    def to_json(self) -> dict:
        return json_graph.node_link_data(self.graph, edges="edges")

    @classmethod
    def from_json(cls, data: dict) -> "Lineage":
        lin = cls()
        lin.graph = json_graph.node_link_graph(data, directed=True, edges="edges")
        return lin
