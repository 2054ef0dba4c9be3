import asyncio
from typing import Any

import psycopg  # noqa: TID251 - the test reads the effects back
import pytest

from riverbed.adapters.postgres.inbox import PostgresInbox
from riverbed.cloudevents import CloudEvent
from riverbed.errors import StoreClosed

pytestmark = pytest.mark.postgres


def event(n: int) -> CloudEvent:
    return CloudEvent(id=f"e{n}", source="urn:test", type="t.v1", data={"amount": n})


async def test_effects_and_keys_commit_together_and_duplicates_have_no_effect(pg_schema_url: str) -> None:
    inbox = await PostgresInbox(pg_schema_url, consumer="ledger").open()
    async with await psycopg.AsyncConnection.connect(pg_schema_url, autocommit=True) as conn:
        await conn.execute("CREATE TABLE effects (event_id text NOT NULL, amount int NOT NULL)")

    def effect_for(ev: CloudEvent, *, fail: bool = False) -> Any:
        async def effect(conn: psycopg.AsyncConnection[Any]) -> None:
            await conn.execute("INSERT INTO effects VALUES (%s, %s)", (ev.id, ev.data["amount"]))
            if fail:
                raise ValueError("after writing")

        return effect

    assert await inbox.handle(event(1), effect_for(event(1)))
    assert not await inbox.handle(event(1), effect_for(event(1)))
    with pytest.raises(ValueError, match="after writing"):
        await inbox.handle(event(2), effect_for(event(2), fail=True))
    assert not await inbox.seen(event(2))
    # the same event delivered five times at once: exactly one effect
    results = await asyncio.gather(*(inbox.handle(event(3), effect_for(event(3))) for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    await inbox.close()
    with pytest.raises(StoreClosed):
        await inbox.handle(event(4), effect_for(event(4)))

    async with await psycopg.AsyncConnection.connect(pg_schema_url) as conn:
        cursor = await conn.execute("SELECT event_id, amount FROM effects ORDER BY event_id")
        assert await cursor.fetchall() == [("e1", 1), ("e3", 3)]
