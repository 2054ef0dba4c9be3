"""Cycle detection and ordering on a small directed graph of names.

Pure functions over ``{node: successors}``. Everything iterates in sorted order so that the same graph always
names the same cycle, which keeps error messages and CI output stable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

_WHITE, _GREY, _BLACK = 0, 1, 2


def find_cycle(nodes: Iterable[str], successors: Mapping[str, Iterable[str]]) -> tuple[str, ...] | None:
    """One cycle of the graph as ``(a, b, ..., a)``, or None when the graph is acyclic.

    The cycle is rotated to start at its smallest node. A self-loop is the cycle ``(a, a)``. Depth-first
    search with an explicit stack, so deep graphs do not hit the recursion limit.
    """
    adjacency = {node: sorted(set(successors.get(node, ()))) for node in sorted(set(nodes))}
    for targets in list(adjacency.values()):
        for target in targets:
            adjacency.setdefault(target, [])
    colour = dict.fromkeys(adjacency, _WHITE)
    for root in sorted(adjacency):
        if colour[root] != _WHITE:
            continue
        path = [root]
        iterators = [iter(adjacency[root])]
        colour[root] = _GREY
        while iterators:
            node = path[-1]
            nxt = next(iterators[-1], None)
            if nxt is None:
                colour[node] = _BLACK
                path.pop()
                iterators.pop()
            elif colour[nxt] == _GREY:
                return _rotate(path[path.index(nxt) :])
            elif colour[nxt] == _WHITE:
                colour[nxt] = _GREY
                path.append(nxt)
                iterators.append(iter(adjacency[nxt]))
    return None


def topological_order(nodes: Iterable[str], successors: Mapping[str, Iterable[str]]) -> list[str]:
    """The nodes with every producer before its consumers (ties broken by name); the graph must be acyclic.

    Raises ValueError when it is not (callers check with :func:`find_cycle` first to name the cycle).
    """
    every = set(nodes)
    for targets in successors.values():
        every.update(targets)
    incoming = dict.fromkeys(every, 0)
    for source in every:
        for target in set(successors.get(source, ())):
            incoming[target] += 1
    ready = sorted(node for node, count in incoming.items() if count == 0)
    order: list[str] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for target in sorted(set(successors.get(node, ()))):
            incoming[target] -= 1
            if incoming[target] == 0:
                ready.append(target)
                ready.sort()
    if len(order) != len(every):
        raise ValueError("the graph has a cycle; find it with find_cycle() to name it")
    return order


def _rotate(loop: list[str]) -> tuple[str, ...]:
    start = loop.index(min(loop))
    ordered = loop[start:] + loop[:start]
    return (*ordered, ordered[0])
