"""Property tests: every DAG of services is accepted; any added edge that closes a loop is refused and named.

The oracle is independent of the implementation: reachability by repeated relaxation over the edge set.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riverbed.errors import TopologyCycle
from riverbed.runtime.flow import ServiceDeclaration, build_flow, service

Edge = tuple[int, int]


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[int], list[Edge]]:
    """Contexts per service (non-decreasing, so contexts are acyclic too) and forward edges i -> j, i < j."""
    n = draw(st.integers(min_value=1, max_value=8))
    contexts = sorted(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    edges = draw(st.lists(st.sampled_from(pairs), max_size=12)) if pairs else []
    return contexts, edges


def declare(contexts: list[int], edges: list[Edge]) -> list[ServiceDeclaration]:
    consumes: dict[int, list[str]] = {i: [] for i in range(len(contexts))}
    produces: dict[int, list[str]] = {i: [] for i in range(len(contexts))}
    for k, (source, target) in enumerate(edges):
        produces[source].append(f"t.e{k}.v1")
        consumes[target].append(f"t.e{k}.v1")
    return [
        service(f"s{i}", context=f"c{ctx}", consumes=consumes[i], produces=produces[i])
        for i, ctx in enumerate(contexts)
    ]


def reaches(edges: set[tuple[str, str]], source: str, target: str) -> bool:
    seen, frontier = {source}, [source]
    while frontier:
        node = frontier.pop()
        for a, b in edges:
            if a == node and b not in seen:
                if b == target:
                    return True
                seen.add(b)
                frontier.append(b)
    return False


def cyclic(edges: set[tuple[str, str]]) -> bool:
    return any(a == b or reaches(edges, b, a) for a, b in edges)


@settings(max_examples=150, deadline=None)
@given(dags())
def test_every_dag_is_accepted_with_a_consistent_start_order(dag: tuple[list[int], list[Edge]]) -> None:
    contexts, edges = dag
    graph = build_flow(declare(contexts, edges))
    assert {(e.producer, e.consumer) for e in graph.edges} == {(f"s{a}", f"s{b}") for a, b in edges}
    position = {name: index for index, name in enumerate(graph.order())}
    assert len(position) == len(contexts)
    assert all(position[e.producer] < position[e.consumer] for e in graph.edges)
    assert all(w.kind != "unhandled-command" for w in graph.warnings)


@settings(max_examples=300, deadline=None)
@given(dags(), st.data())
def test_an_added_edge_is_refused_exactly_when_it_closes_a_cycle(
    dag: tuple[list[int], list[Edge]], data: st.DataObject
) -> None:
    contexts, edges = dag
    n = len(contexts)
    added = (data.draw(st.integers(0, n - 1), label="from"), data.draw(st.integers(0, n - 1), label="to"))
    services = {(f"s{a}", f"s{b}") for a, b in [*edges, added]}
    ctx = {f"s{i}": f"c{c}" for i, c in enumerate(contexts)}
    context_edges = {(ctx[a], ctx[b]) for a, b in services if ctx[a] != ctx[b]}
    new_hop = (f"s{added[0]}", f"s{added[1]}")

    if not cyclic(services) and not cyclic(context_edges):
        build_flow(declare(contexts, [*edges, added]))
        return
    with pytest.raises(TopologyCycle) as caught:
        build_flow(declare(contexts, [*edges, added]))
    error = caught.value
    hops = list(pairwise(error.cycle))
    assert error.cycle[0] == error.cycle[-1]
    assert len(error.via) == len(hops)
    if cyclic(services):
        # Services are checked first; the original graph was acyclic, so every cycle uses the new edge.
        assert error.level == "service"
        assert set(hops) <= services
        assert new_hop in hops
    else:
        assert error.level == "context"
        assert set(hops) <= context_edges
        assert (ctx[new_hop[0]], ctx[new_hop[1]]) in hops
    assert " -[" in str(error)
    assert all(node in str(error) for node in error.cycle)
