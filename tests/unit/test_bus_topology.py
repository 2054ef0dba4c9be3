import pytest

from riverbed.cloudevents import CloudEvent
from riverbed.errors import InvalidTopology
from riverbed.ports.topology import Pond, Rapids, RetryPolicy, River, Topology


def test_retry_delay_grows_exponentially_within_the_jitter_and_the_cap() -> None:
    policy = RetryPolicy(initial_delay=1.0, multiplier=2.0, max_delay=5.0, jitter=0.2)
    assert policy.delay(1, lambda: 0.5) == 1.0
    assert policy.delay(2, lambda: 0.5) == 2.0
    assert policy.delay(3, lambda: 0.5) == 4.0
    assert policy.delay(4, lambda: 0.5) == 5.0
    assert policy.delay(2, lambda: 0.0) == pytest.approx(1.6)
    assert policy.delay(2, lambda: 0.999999) == pytest.approx(2.4, abs=1e-5)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_deliveries": 0}, {"initial_delay": -1.0}, {"multiplier": 0.5}, {"jitter": 1.5}],
)
def test_bad_retry_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidTopology):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_a_pond_on_an_undeclared_river_is_refused_with_the_names() -> None:
    with pytest.raises(InvalidTopology, match=r"pond 'p' consumes river 'nope'"):
        Topology(rivers=(River(name="all"),), ponds=(Pond(name="p", river="nope"),))


@pytest.mark.parametrize("name", ["", "has space", "dots.not.allowed", "x" * 201, "a*"])
def test_names_that_cannot_be_broker_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidTopology, match="name"):
        River(name=name)


def test_duplicates_and_clashes_are_refused() -> None:
    with pytest.raises(InvalidTopology, match="declared twice"):
        Topology(rivers=(River(name="a"), River(name="a")))
    with pytest.raises(InvalidTopology, match="clashes"):
        Topology(rapids=Rapids(name="R"), rivers=(River(name="R_PARKED"),))
    with pytest.raises(InvalidTopology, match="tuple"):
        River(name="a", types="bank.x.v1")  # type: ignore[arg-type]


def test_river_filters() -> None:
    river = River(name="r", types=("t1",), sources=("s1", "s2"), subjects=("acct-*", "exact"))
    assert river.matches(CloudEvent(source="s1", type="t1", subject="acct-9"))
    assert river.matches(CloudEvent(source="s2", type="t1", subject="exact"))
    assert not river.matches(CloudEvent(source="s2", type="t1", subject="exactly"))
    assert not river.matches(CloudEvent(source="s3", type="t1", subject="acct-9"))
    assert not river.matches(CloudEvent(source="s1", type="t2", subject="acct-9"))
    assert not river.matches(CloudEvent(source="s1", type="t1"))
    assert River(name="all").matches(CloudEvent(source="x", type="y"))
