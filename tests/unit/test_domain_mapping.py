"""Domain events <-> CloudEvents: the type name on the wire, the dict as data, the stream as subject."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from riverbed import CloudEvent, Event, EventTypeRegistry, UnknownEventType
from riverbed.cloudevents import from_cloudevent, from_json, to_cloudevent, to_json
from riverbed.errors import InvalidMessage

registry = EventTypeRegistry()


@registry.event("bank.account.money-deposited.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class MoneyDeposited(Event):
    account_id: str
    amount: Decimal
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class NotRegistered(Event):
    n: int


DEPOSIT = MoneyDeposited(account_id="acc-1", amount=Decimal("12.30"), at=datetime(2024, 1, 2, tzinfo=UTC))


def test_to_cloudevent_uses_the_registered_type_name_and_json_data() -> None:
    stamp = datetime(2024, 1, 2, 3, 4, tzinfo=UTC)
    ce = to_cloudevent(
        DEPOSIT,
        source="urn:bank:deposits",
        subject="account-acc-1",
        id="e-1",
        time=stamp,
        extensions={"correlationid": "c-9"},
        registry=registry,
    )
    assert ce.type == "bank.account.money-deposited.v1"
    assert ce.source == "urn:bank:deposits"
    assert ce.subject == "account-acc-1"
    assert ce.id == "e-1"
    assert ce.time == stamp
    assert ce.datacontenttype == "application/json"
    assert ce.data == {"account_id": "acc-1", "amount": "12.30", "at": "2024-01-02T00:00:00+00:00"}
    assert dict(ce.extensions) == {"correlationid": "c-9"}


def test_to_cloudevent_generates_an_id_when_none_is_given() -> None:
    first = to_cloudevent(DEPOSIT, source="urn:bank", registry=registry)
    second = to_cloudevent(DEPOSIT, source="urn:bank", registry=registry)
    assert first.id != second.id
    assert first.subject is None


def test_the_round_trip_through_the_wire_rebuilds_the_domain_event() -> None:
    ce = to_cloudevent(DEPOSIT, source="urn:bank", subject="account-acc-1", registry=registry)
    assert from_cloudevent(from_json(to_json(ce)), registry=registry) == DEPOSIT


def test_an_unregistered_class_cannot_be_mapped() -> None:
    with pytest.raises(UnknownEventType, match="NotRegistered"):
        to_cloudevent(NotRegistered(n=1), source="urn:x", registry=registry)


def test_an_unknown_type_names_the_type_and_the_stream() -> None:
    ce = CloudEvent(source="urn:x", type="bank.account.frozen.v1", subject="account-7", data={})
    with pytest.raises(UnknownEventType) as caught:
        from_cloudevent(ce, registry=registry)
    assert caught.value.type_name == "bank.account.frozen.v1"
    assert caught.value.stream == "account-7"


def test_data_that_does_not_fit_the_class_is_refused() -> None:
    ce = CloudEvent(
        source="urn:x",
        type="bank.account.money-deposited.v1",
        data={"account_id": "a", "amount": "1", "at": "2024-01-01T00:00:00Z", "extra": 1},
    )
    with pytest.raises(InvalidMessage, match=r"unknown field\(s\) \['extra'\]"):
        from_cloudevent(ce, registry=registry)
    with pytest.raises(InvalidMessage, match="must be a JSON object"):
        from_cloudevent(ce.with_changes(data=b"\x00"), registry=registry)
