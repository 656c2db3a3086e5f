"""The report's lineage tree: accepted candidates by iteration, drawn as SVG."""

from __future__ import annotations

from html import escape

COL, ROW, W, H, PAD = 118, 26, 92, 20, 12


def lineage_svg(lineage: dict, best_path: list[str]) -> str:
    """SVG of the accepted candidates of a lineage (networkx node-link JSON): one column per
    iteration, fastest at the top, edges parent -> child, the path to the best thick."""
    nodes = {n["id"]: n for n in lineage.get("nodes", [])
             if n.get("root") or (n.get("accepted") and n.get("ok"))}
    if not nodes:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="30" ' \
               'class="lineage"><text x="5" y="20">no lineage saved</text></svg>'
    columns: dict[int, list[dict]] = {}
    for n in nodes.values():
        columns.setdefault(int(n.get("iteration") or 0), []).append(n)
    pos = {}
    for col, (_, members) in enumerate(sorted(columns.items())):
        for row, n in enumerate(sorted(members, key=lambda n: (n.get("cycles") or 0, n["id"]))):
            pos[n["id"]] = (PAD + col * COL, PAD + row * ROW)
    on_path = set(best_path)
    path_edges = set(zip(best_path, best_path[1:]))
    width = PAD * 2 + (len(columns) - 1) * COL + W
    height = PAD * 2 + max(len(m) for m in columns.values()) * ROW
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}">']
    for e in lineage.get("edges", []):
        a, b = e.get("source"), e.get("target")
        if a not in pos or b not in pos or not e.get("accepted"):
            continue
        (x1, y1), (x2, y2) = pos[a], pos[b]
        thick = (a, b) in path_edges
        out.append(f'<line x1="{x1 + W}" y1="{y1 + H / 2}" x2="{x2}" y2="{y2 + H / 2}" '
                   f'stroke="{"#1f5fa8" if thick else "#c8c8c8"}" '
                   f'stroke-width="{3 if thick else 1}"><title>{escape(str(e.get("menu_item")))}'
                   f'</title></line>')
    for key, (x, y) in pos.items():
        n = nodes[key]
        best = key == (best_path[-1] if best_path else None)
        fill = "#1f5fa8" if best else "#d7e6f7" if key in on_path else "#f2f2f2"
        color = "#fff" if best else "#222"
        label = f"{n.get('cycles') or 0:,}" + (" (start)" if n.get("root") else "")
        out.append(f'<g class="node"><rect x="{x}" y="{y}" width="{W}" height="{H}" rx="4" '
                   f'fill="{fill}" stroke="#888"/><text x="{x + W / 2}" y="{y + 14}" '
                   f'font-size="11" text-anchor="middle" fill="{color}">{label}</text>'
                   f'<title>iteration {n.get("iteration")}, {n.get("cycles")} cycles, '
                   f'{escape(key)}</title></g>')
    out.append("</svg>")
    return "\n".join(out)
