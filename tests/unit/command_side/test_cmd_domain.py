"""Aggregates, deciders, upcaster chains and command models."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from tests.bank_domain import Account, AccountOpened, Deposit, MoneyDeposited, account_decider

from riverbed.application.command_models import CommandModel
from riverbed.domain import Aggregate, UpcasterChain, as_decider, fold, handles
from riverbed.domain.decider import decide_all
from riverbed.errors import DuplicateRegistration, InvalidCommand, InvalidMessage


def test_class_aggregate_becomes_a_decider_once() -> None:
    decider = as_decider(Account)
    assert decider is as_decider(Account)
    assert decider.name == "bank.account"
    assert set(decider.commands) == set(account_decider.commands)
    assert as_decider(account_decider) is account_decider


def test_fold_is_rehydration() -> None:
    events = [AccountOpened(account_id="a", holder="Ada"), MoneyDeposited(account_id="a", amount=3)]
    assert fold(account_decider, events).balance == 3
    assert fold(as_decider(Account), events).balance == 3


def test_class_aggregate_snapshot_round_trip() -> None:
    decider = as_decider(Account)
    state = fold(
        decider, [AccountOpened(account_id="a", holder="Ada"), MoneyDeposited(account_id="a", amount=3)]
    )
    assert decider.restore(decider.snapshot_state(state)) == state
    fn_state = fold(account_decider, [AccountOpened(account_id="a", holder="Ada")])
    assert account_decider.restore(account_decider.snapshot_state(fn_state)) == fn_state


def test_unhandled_command_names_the_handled_ones() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Close:
        account_id: str

    with pytest.raises(TypeError, match=r"no @handles method for Close.*Deposit"):
        decide_all(as_decider(Account), Account(), Close(account_id="a"))


def test_decide_must_return_events() -> None:
    class Bad(Aggregate):
        @handles(Deposit)
        def deposit(self, command: Deposit) -> list[object]:
            return ["not an event"]

    with pytest.raises(TypeError, match="not an Event"):
        decide_all(as_decider(Bad), Bad(), Deposit(account_id="a", amount=1))


def test_upcaster_chain_follows_to_the_newest_version() -> None:
    chain = UpcasterChain()
    chain.register("x.thing.v1", "x.thing.v2", lambda d: {**d, "b": 2})
    chain.register("x.thing.v2", "x.thing.v3", lambda d: {"c": d["a"] + d["b"]})
    assert chain.upcast("x.thing.v1", {"a": 1}) == ("x.thing.v3", {"c": 3})
    assert chain.upcast("x.thing.v2", {"a": 1, "b": 5}) == ("x.thing.v3", {"c": 6})
    assert chain.upcast("x.thing.v3", {"c": 0}) == ("x.thing.v3", {"c": 0})
    assert chain.upcast("y.other.v1", 7) == ("y.other.v1", 7)


def test_upcaster_chain_refuses_duplicates_loops_and_bad_names() -> None:
    chain = UpcasterChain()
    chain.register("x.a.v1", "x.a.v2", dict)
    with pytest.raises(DuplicateRegistration):
        chain.register("x.a.v1", "x.a.v3", dict)
    with pytest.raises(ValueError, match="loop"):
        chain.register("x.a.v2", "x.a.v1", dict)
    with pytest.raises(ValueError, match="version"):
        chain.register("NotAName", "x.a.v9", dict)


def test_upcaster_failure_names_the_step() -> None:
    chain = UpcasterChain()
    chain.register("x.a.v1", "x.a.v2", lambda d: {"n": d["missing"]})
    with pytest.raises(InvalidMessage, match=r"x\.a\.v1.*x\.a\.v2"):
        chain.upcast("x.a.v1", {})


def test_command_model_validates_and_builds_the_dataclass() -> None:
    model = CommandModel(Deposit)
    assert model.name == "Deposit"
    assert model.parse({"account_id": "a", "amount": "5"}) == Deposit(account_id="a", amount=5)
    assert model.json_schema()["additionalProperties"] is False


def test_command_model_refuses_unknown_and_bad_fields() -> None:
    model = CommandModel(Deposit)
    with pytest.raises(InvalidCommand, match="colour") as info:
        model.parse({"account_id": "a", "amount": 5, "colour": "red"})
    assert info.value.errors[0]["loc"] == ("colour",)
    with pytest.raises(InvalidCommand, match="amount"):
        model.parse({"account_id": "a", "amount": "lots"})
    with pytest.raises(InvalidCommand, match="amount"):
        model.parse({"account_id": "a"})
    with pytest.raises(InvalidCommand, match="JSON object"):
        model.parse(["a"])
    assert isinstance(InvalidCommand("x", []), InvalidMessage)
