from hypothesis import given
from hypothesis import strategies as st

from riverbed.adapters.nats import subjects
from riverbed.ports.topology import Rapids, River


@given(st.text(min_size=1))
def test_tokens_are_one_to_one_and_legal(value: str) -> None:
    tok = subjects.token(value)
    assert subjects.untoken(tok) == value
    assert tok
    assert not any(c in tok for c in ". *>\t\r\n")


def test_readable_where_possible() -> None:
    assert subjects.token("bank-1_x") == "bank-1_x"
    assert subjects.token("bank.account.opened.v1") == "bank~2Eaccount~2Eopened~2Ev1"
    assert subjects.token("a~b") == "a~7Eb"


def test_river_filters_cover_each_source_and_type_pair() -> None:
    rapids = Rapids(subject_prefix="rp")
    river = River(name="r", types=("t.1", "t2"), sources=("urn:s",))
    assert subjects.river_filters(rapids, river) == ["rp.urn~3As.t~2E1", "rp.urn~3As.t2"]
    assert subjects.river_filters(rapids, River(name="all")) == ["rp.*.*"]
