"""Render a checked flow graph as plain text (for terminals and CI logs) or Mermaid (for docs and PRs).

Both renderings are deterministic: the same declarations always print the same text, so a rendered graph
can be committed and diffed.
"""

from __future__ import annotations

import re

from riverbed.runtime.flow.graph import FlowGraph


def to_text(graph: FlowGraph) -> str:
    """A readable listing: services by context in start-up order, event flow, command calls, warnings."""
    lines = [f"{len(graph.services)} services in {len(graph.contexts)} bounded contexts, producers first:"]
    for name in graph.order():
        declared = graph.service(name)
        lines.append(f"  {declared.name} [{declared.context}]")
        for label, names in (
            ("consumes", declared.consumes),
            ("produces", declared.produces),
            ("handles", declared.handles),
            ("sends", declared.sends),
        ):
            if names:
                lines.append(f"    {label}: {', '.join(sorted(names))}")
    lines.append("event flow (subscriptions, one way):")
    lines.extend(f"  {e.producer} -> {e.consumer}: {', '.join(e.event_types)}" for e in graph.edges)
    if not graph.edges:
        lines.append("  (none)")
    lines.append("between bounded contexts:")
    lines.extend(f"  {e.producer} -> {e.consumer}: {', '.join(e.event_types)}" for e in graph.context_edges)
    if not graph.context_edges:
        lines.append("  (none)")
    lines.append("commands (calls to an owner's public API, not subscriptions):")
    lines.extend(f"  {r.sender} => {r.handler}: {', '.join(r.commands)}" for r in graph.routes)
    if not graph.routes:
        lines.append("  (none)")
    if graph.warnings:
        lines.append(f"warnings ({len(graph.warnings)}):")
        lines.extend(f"  {w.kind}: {w.message}" for w in graph.warnings)
    return "\n".join(lines) + "\n"


def to_mermaid(graph: FlowGraph) -> str:
    """A Mermaid flowchart: one subgraph per bounded context, solid arrows for events, dotted for commands."""
    lines = ["flowchart LR"]
    for context in graph.contexts:
        lines.append(f'  subgraph {_id("ctx", context)}["{context}"]')
        lines.extend(f'    {_id("svc", s.name)}["{s.name}"]' for s in graph.services if s.context == context)
        lines.append("  end")
    lines.extend(
        f'  {_id("svc", e.producer)} -->|"{", ".join(e.event_types)}"| {_id("svc", e.consumer)}'
        for e in graph.edges
    )
    lines.extend(
        f'  {_id("svc", r.sender)} -.->|"{", ".join(r.commands)}"| {_id("svc", r.handler)}'
        for r in graph.routes
    )
    return "\n".join(lines) + "\n"


def _id(prefix: str, name: str) -> str:
    # Mermaid ids must be plain words; names may hold dashes and dots. Keep them readable and unique.
    return f"{prefix}_{re.sub(r'[^0-9A-Za-z_]', lambda m: f'_{ord(m.group()):x}_', name)}"
