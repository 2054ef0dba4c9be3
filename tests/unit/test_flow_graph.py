"""The one-way flow graph: declarations, edges, cycles named, loose ends reported."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from riverbed.domain import Command, Event, EventTypeRegistry
from riverbed.errors import ConfigurationError, InvalidFlow, TopologyCycle
from riverbed.runtime.flow import build_flow, find_cycle, service, to_mermaid, to_text, topological_order

registry = EventTypeRegistry()


@registry.event("test.thing.happened.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class ThingHappened(Event):
    thing: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DoThing(Command):
    thing: str


def test_a_pipeline_is_accepted_with_its_edges_in_order() -> None:
    graph = build_flow(
        [
            service("c", context="z", consumes=["t.b.v1"]),
            service("a", context="x", handles=[DoThing], produces=[ThingHappened]),
            service("b", context="y", consumes=[ThingHappened], produces=["t.b.v1"]),
        ]
    )
    assert [(e.producer, e.consumer, e.event_types) for e in graph.edges] == [
        ("a", "b", ("test.thing.happened.v1",)),
        ("b", "c", ("t.b.v1",)),
    ]
    assert [(e.producer, e.consumer) for e in graph.context_edges] == [("x", "y"), ("y", "z")]
    assert graph.contexts == ("x", "y", "z")
    assert graph.order() == ["a", "b", "c"]


def test_a_cycle_between_services_is_refused_and_named_with_its_event_types() -> None:
    with pytest.raises(TopologyCycle) as caught:
        build_flow(
            [
                service("a", context="x", consumes=["t.c.v1"], produces=["t.a.v1"]),
                service("b", context="x", consumes=["t.a.v1"], produces=["t.b.v1"]),
                service("c", context="x", consumes=["t.b.v1"], produces=["t.c.v1"]),
            ]
        )
    error = caught.value
    assert isinstance(error, ConfigurationError)
    assert error.level == "service"
    assert error.cycle == ("a", "b", "c", "a")
    assert error.via == (("t.a.v1",), ("t.b.v1",), ("t.c.v1",))
    assert "a -[t.a.v1]-> b -[t.b.v1]-> c -[t.c.v1]-> a" in str(error)


def test_a_service_subscribing_to_its_own_events_is_a_cycle_of_one() -> None:
    with pytest.raises(TopologyCycle) as caught:
        build_flow([service("a", context="x", consumes=["t.a.v1"], produces=["t.a.v1"])])
    assert caught.value.cycle == ("a", "a")


def test_a_cycle_between_contexts_is_refused_even_when_services_are_acyclic() -> None:
    # a1 -> b -> a2: no service cycle, but context x feeds y which feeds x.
    with pytest.raises(TopologyCycle) as caught:
        build_flow(
            [
                service("a1", context="x", produces=["t.a.v1"]),
                service("b", context="y", consumes=["t.a.v1"], produces=["t.b.v1"]),
                service("a2", context="x", consumes=["t.b.v1"]),
            ]
        )
    assert caught.value.level == "context"
    assert caught.value.cycle == ("x", "y", "x")
    assert "between bounded contexts" in str(caught.value)


def test_flows_inside_one_context_are_not_a_context_cycle() -> None:
    graph = build_flow(
        [
            service("a", context="x", produces=["t.a.v1"]),
            service("b", context="x", consumes=["t.a.v1"]),
        ]
    )
    assert graph.context_edges == ()
    assert graph.order() == ["a", "b"]


def test_commands_are_calls_and_never_make_a_cycle() -> None:
    # The caller sends a command to the owner and consumes the owner's answer: no event cycle.
    graph = build_flow(
        [
            service("caller", context="shop", sends=["TakePayment"], consumes=["bank.paid.v1"]),
            service("owner", context="bank", handles=["TakePayment"], produces=["bank.paid.v1"]),
        ]
    )
    routes = [(r.sender, r.handler, r.commands) for r in graph.routes]
    assert routes == [("caller", "owner", ("TakePayment",))]
    assert [(e.producer, e.consumer) for e in graph.edges] == [("owner", "caller")]
    assert graph.warnings == ()


def test_loose_ends_are_warnings_not_errors() -> None:
    graph = build_flow(
        [
            service("a", context="x", produces=["t.a.v1", "t.lonely.v1"], sends=["Nobody"]),
            service("b", context="x", consumes=["t.a.v1", "t.missing.v1"]),
        ]
    )
    assert [(w.kind, w.service, w.name) for w in graph.warnings] == [
        ("unconsumed", "a", "t.lonely.v1"),
        ("unproduced", "b", "t.missing.v1"),
        ("unhandled-command", "a", "Nobody"),
    ]


def test_a_command_with_two_owners_is_refused() -> None:
    with pytest.raises(InvalidFlow, match="'Go' is handled by both 'a' and 'b'"):
        build_flow([service("a", context="x", handles=["Go"]), service("b", context="y", handles=["Go"])])


def test_duplicate_service_names_are_refused() -> None:
    with pytest.raises(InvalidFlow, match="two services are declared as 'a'"):
        build_flow([service("a", context="x"), service("a", context="y")])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"context": ""}, "bounded context"),
        ({"context": "x y"}, "bounded context must be letters, digits"),
        ({"context": "x", "handles": ['Say "hi"']}, "command name must be letters"),
        ({"context": "x", "consumes": ["NotVersioned"]}, "must be lower-case dotted words"),
        ({"context": "x", "produces": [42]}, "neither an event type name nor an Event subclass"),
        ({"context": "x", "sends": [ThingHappened]}, "neither a command name nor a Command subclass"),
    ],
)
def test_bad_declarations_are_refused_naming_the_service(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidFlow, match=message) as caught:
        service("svc", **kwargs)  # type: ignore[arg-type]
    assert "'svc'" in str(caught.value)


def test_an_unregistered_event_class_is_refused() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Unregistered(Event):
        pass

    with pytest.raises(InvalidFlow, match="has no type name"):
        service("svc", context="x", consumes=[Unregistered])


def test_find_cycle_is_deterministic_and_rotated_to_the_smallest_node() -> None:
    assert find_cycle(["c", "b", "a"], {"c": ["a"], "a": ["b"], "b": ["c"]}) == ("a", "b", "c", "a")
    assert find_cycle(["a", "b"], {"a": ["b"]}) is None
    with pytest.raises(ValueError, match="cycle"):
        topological_order(["a", "b"], {"a": ["b"], "b": ["a"]})


def test_text_and_mermaid_name_every_service_edge_and_route() -> None:
    graph = build_flow(
        [
            service("pay-ments", context="bank", handles=["TakePayment"], produces=["bank.paid.v1"]),
            service("checkout", context="shop", sends=["TakePayment"], consumes=["bank.paid.v1"]),
        ]
    )
    text = to_text(graph)
    assert "pay-ments -> checkout: bank.paid.v1" in text
    assert "checkout => pay-ments: TakePayment" in text
    assert "bank -> shop: bank.paid.v1" in text
    mermaid = to_mermaid(graph)
    assert mermaid.startswith("flowchart LR\n")
    assert 'subgraph ctx_bank["bank"]' in mermaid
    assert 'svc_pay_2d_ments -->|"bank.paid.v1"| svc_checkout' in mermaid
    assert 'svc_checkout -.->|"TakePayment"| svc_pay_2d_ments' in mermaid
