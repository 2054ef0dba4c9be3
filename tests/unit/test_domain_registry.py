"""The explicit, versioned event type registry."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from riverbed import Event, EventTypeRegistry, UnknownEventType, event_type
from riverbed.domain import default_registry
from riverbed.errors import DuplicateRegistration


@dataclass(frozen=True, slots=True, kw_only=True)
class Opened(Event):
    owner: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Closed(Event):
    reason: str


@pytest.mark.parametrize(
    "name",
    [
        "bank.account.opened.v1",
        "bank.account.money-withdrawn.v2",
        "shop.stock_reserved.v10",
        "a.v1",
        "x1.y2.v3",
    ],
)
def test_versioned_lower_case_names_are_accepted(name: str) -> None:
    registry = EventTypeRegistry()
    registry.register(name, Opened)
    assert registry.class_for(name) is Opened
    assert registry.name_for(Opened) == name
    assert name in registry
    assert list(registry) == [name]


@pytest.mark.parametrize(
    "name",
    [
        "bank.account.opened",  # no version
        "bank.account.opened.v0",  # versions start at 1
        "bank.account.opened.v01",
        "Bank.Account.Opened.v1",  # upper case
        "bank.account.opened.V1",
        "bank..opened.v1",
        ".bank.opened.v1",
        "bank.account opened.v1",
        "bank.account.opened.v1\n",
        "riverbed.tests.Opened",  # an import path is not a type name
        "",
    ],
)
def test_names_that_break_the_rule_are_refused_saying_the_rule(name: str) -> None:
    with pytest.raises(ValueError, match="must be lower-case dotted words ending in a version"):
        EventTypeRegistry().register(name, Opened)


def test_a_name_cannot_be_registered_to_two_classes() -> None:
    registry = EventTypeRegistry()
    registry.register("bank.account.opened.v1", Opened)
    with pytest.raises(
        DuplicateRegistration, match=r"'bank\.account\.opened\.v1' is already registered to Opened"
    ):
        registry.register("bank.account.opened.v1", Closed)
    assert registry.class_for("bank.account.opened.v1") is Opened


def test_a_class_cannot_be_registered_under_two_names() -> None:
    registry = EventTypeRegistry()
    registry.register("bank.account.opened.v1", Opened)
    with pytest.raises(
        DuplicateRegistration, match=r"Opened is already registered as 'bank\.account\.opened\.v1'"
    ):
        registry.register("bank.account.opened.v2", Opened)
    assert "bank.account.opened.v2" not in registry


def test_registering_the_same_pair_again_is_harmless() -> None:
    registry = EventTypeRegistry()
    registry.register("bank.account.opened.v1", Opened)
    registry.register("bank.account.opened.v1", Opened)
    assert list(registry) == ["bank.account.opened.v1"]


def test_unknown_type_names_the_type_and_the_stream() -> None:
    registry = EventTypeRegistry()
    with pytest.raises(UnknownEventType) as caught:
        registry.class_for("bank.account.frozen.v1", stream="account-42")
    assert caught.value.type_name == "bank.account.frozen.v1"
    assert caught.value.stream == "account-42"
    message = str(caught.value)
    assert "'bank.account.frozen.v1'" in message
    assert "'account-42'" in message
    assert "@event_type" in message


def test_unknown_type_without_a_stream() -> None:
    with pytest.raises(UnknownEventType) as caught:
        EventTypeRegistry().class_for("x.v1")
    assert caught.value.stream is None
    assert "stream" not in str(caught.value).split(":")[0]


def test_an_unregistered_class_has_no_name() -> None:
    with pytest.raises(UnknownEventType, match="Closed"):
        EventTypeRegistry().name_for(Closed)


def test_registries_are_independent() -> None:
    first, second = EventTypeRegistry(), EventTypeRegistry()
    first.register("bank.account.opened.v1", Opened)
    assert "bank.account.opened.v1" not in second


def test_the_decorator_registers_and_returns_the_class() -> None:
    registry = EventTypeRegistry()

    @event_type("bank.account.renamed.v1", registry=registry)
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Renamed(Event):
        name: str

    assert registry.class_for("bank.account.renamed.v1") is Renamed
    assert Renamed.type_name == "bank.account.renamed.v1"
    assert Renamed(name="x").name == "x"
    assert "bank.account.renamed.v1" not in default_registry


def test_the_default_registry_is_used_without_one() -> None:
    @event_type("riverbed.test.default-registry.v1")
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Pinged(Event):
        n: int

    assert default_registry.class_for("riverbed.test.default-registry.v1") is Pinged
