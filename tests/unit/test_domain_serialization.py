"""Message dataclasses <-> JSON-ready dicts, guided by their annotations."""

from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from riverbed import Event
from riverbed.domain import from_data, to_data
from riverbed.errors import InvalidMessage


class Currency(enum.Enum):
    EUR = "EUR"
    GBP = "GBP"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Money:
    amount: Decimal
    currency: Currency


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    sku: str
    quantity: int
    price: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPlaced(Event):
    order_id: uuid.UUID
    placed_at: datetime
    due: date
    total: Money
    lines: list[Line]
    tags: frozenset[str] = frozenset()
    dims: tuple[int, ...] = ()
    notes: dict[str, Decimal] = field(default_factory=dict)
    priority: Priority = Priority.LOW
    coupon: str | None = None
    discount: Decimal | None = None
    weight: float = 0.0
    gift: bool = False


ORDER = OrderPlaced(
    order_id=uuid.UUID("12345678-1234-5678-1234-567812345678"),
    placed_at=datetime(2024, 3, 1, 12, 30, 0, 123456, tzinfo=timezone(timedelta(hours=1))),
    due=date(2024, 3, 8),
    total=Money(amount=Decimal("10.10"), currency=Currency.GBP),
    lines=[Line(sku="tea", quantity=2, price=Money(amount=Decimal("5.05"), currency=Currency.GBP))],
    tags=frozenset({"gift"}),
    dims=(1, 2, 3),
    notes={"tip": Decimal("0.50")},
    priority=Priority.HIGH,
    discount=Decimal("1E+2"),
    weight=1.5,
    gift=True,
)


def test_to_data_gives_plain_json() -> None:
    data = to_data(ORDER)
    assert data == {
        "order_id": "12345678-1234-5678-1234-567812345678",
        "placed_at": "2024-03-01T12:30:00.123456+01:00",
        "due": "2024-03-08",
        "total": {"amount": "10.10", "currency": "GBP"},
        "lines": [{"sku": "tea", "quantity": 2, "price": {"amount": "5.05", "currency": "GBP"}}],
        "tags": ["gift"],
        "dims": [1, 2, 3],
        "notes": {"tip": "0.50"},
        "priority": 2,
        "coupon": None,
        "discount": "1E+2",
        "weight": 1.5,
        "gift": True,
    }
    assert json.loads(json.dumps(data)) == data


def test_from_data_rebuilds_an_equal_message_with_the_annotated_types() -> None:
    back = from_data(OrderPlaced, json.loads(json.dumps(to_data(ORDER))))
    assert back == ORDER
    assert isinstance(back.order_id, uuid.UUID)
    assert back.placed_at.utcoffset() == timedelta(hours=1)
    assert isinstance(back.total.amount, Decimal)
    assert str(back.total.amount) == "10.10"  # Decimal keeps its exponent
    assert back.total.currency is Currency.GBP
    assert back.priority is Priority.HIGH
    assert isinstance(back.lines[0], Line)
    assert isinstance(back.tags, frozenset)
    assert isinstance(back.dims, tuple)


def test_optional_fields_may_be_null_or_missing() -> None:
    data = to_data(ORDER)
    data["discount"] = None
    del data["coupon"], data["weight"], data["gift"]
    back = from_data(OrderPlaced, data)
    assert back.discount is None
    assert back.coupon is None
    assert back.weight == 0.0


def test_an_aware_utc_datetime_round_trips() -> None:
    stamp = datetime(2024, 1, 1, tzinfo=UTC)
    back = from_data(OrderPlaced, {**to_data(ORDER), "placed_at": stamp.isoformat()})
    assert back.placed_at == stamp
    assert back.placed_at.tzinfo is not None


def test_an_int_is_accepted_for_a_float_field() -> None:
    back = from_data(OrderPlaced, {**to_data(ORDER), "weight": 2})
    assert back.weight == 2.0
    assert isinstance(back.weight, float)


def test_unknown_fields_are_refused_by_name() -> None:
    with pytest.raises(InvalidMessage, match=r"OrderPlaced: unknown field\(s\) \['colour', 'size'\]"):
        from_data(OrderPlaced, {**to_data(ORDER), "size": 1, "colour": "red"})


def test_unknown_fields_in_nested_dataclasses_are_refused() -> None:
    data = to_data(ORDER)
    data["total"]["rate"] = 1
    with pytest.raises(InvalidMessage, match=r"Money: unknown field\(s\) \['rate'\]"):
        from_data(OrderPlaced, data)


def test_missing_required_fields_are_refused() -> None:
    data = to_data(ORDER)
    del data["due"]
    with pytest.raises(InvalidMessage, match=r"OrderPlaced: .*due"):
        from_data(OrderPlaced, data)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("order_id", "not-a-uuid"),
        ("placed_at", "yesterday"),
        ("due", 20240308),
        ("priority", 7),
        ("lines", "tea"),
        ("notes", ["tip"]),
        ("coupon", 5),
        ("gift", "yes"),
        ("weight", "heavy"),
    ],
)
def test_values_that_do_not_fit_their_annotation_are_refused_naming_the_field(name: str, value: Any) -> None:
    with pytest.raises(InvalidMessage, match=rf"OrderPlaced\.{name}: "):
        from_data(OrderPlaced, {**to_data(ORDER), name: value})


def test_a_bad_decimal_is_an_invalid_message_naming_the_field() -> None:
    data = to_data(ORDER)
    data["total"]["amount"] = "ten"
    with pytest.raises(InvalidMessage, match=r"Money\.amount: 'ten'"):
        from_data(OrderPlaced, data)


def test_a_bool_is_not_an_int() -> None:
    data = to_data(ORDER)
    data["lines"][0]["quantity"] = True
    with pytest.raises(InvalidMessage, match=r"Line\.quantity"):
        from_data(OrderPlaced, data)


def test_data_must_be_an_object() -> None:
    with pytest.raises(InvalidMessage, match="data must be a JSON object, got list"):
        from_data(OrderPlaced, [1, 2])


def test_only_dataclass_instances_serialise() -> None:
    with pytest.raises(InvalidMessage, match="not a dataclass instance"):
        to_data({"a": 1})
    with pytest.raises(InvalidMessage, match="not a dataclass instance"):
        to_data(OrderPlaced)


def test_values_json_cannot_carry_are_refused_when_serialising() -> None:
    @dataclass(frozen=True)
    class Odd:
        thing: object

    with pytest.raises(InvalidMessage, match="cannot put a object into JSON"):
        to_data(Odd(thing=object()))
