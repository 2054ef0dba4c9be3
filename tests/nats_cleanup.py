"""Delete the JetStream streams a test created (every stream whose name starts with its unique prefix)."""

from __future__ import annotations

import nats  # noqa: TID251 - tests talk to the server directly to clean up


async def delete_streams(url: str, prefix: str) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            name = info.config.name
            if name is not None and name.startswith(prefix):
                await js.delete_stream(name)
    finally:
        await nc.close()
