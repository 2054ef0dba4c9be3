"""The parked (dead-letter) stream of the NATS bus: list, show, replay and drop what ponds gave up on.

A parked message keeps the CloudEvent headers and payload of the original, plus ``Riverbed-*`` headers
(pond, river, reason, attempts, time). Its id is its sequence number in the parked stream. A replay
publishes the event into its river addressed to its pond only (``Riverbed-Replay-For``), then deletes the
parked copy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import unquote

import nats.js.errors

from riverbed.adapters.nats import subjects
from riverbed.cloudevents.event import CloudEvent
from riverbed.cloudevents.nats_binding import from_nats, to_nats
from riverbed.errors import BusUnavailable, InvalidCloudEvent, ParkedMessageNotFound, UnknownPond
from riverbed.ports.bus import ParkedMessage

if TYPE_CHECKING:
    from riverbed.adapters.nats.bus import NatsBus

H_REASON = "Riverbed-Parked-Reason"
H_POND = "Riverbed-Pond"
H_RIVER = "Riverbed-River"
H_ATTEMPTS = "Riverbed-Attempts"
H_PARKED_AT = "Riverbed-Parked-At"
H_REPLAY_FOR = "Riverbed-Replay-For"
RIVERBED_HEADERS = (H_REASON, H_POND, H_RIVER, H_ATTEMPTS, H_PARKED_AT, H_REPLAY_FOR, "Nats-Msg-Id")


class NatsParked:
    """The parked stream of a :class:`NatsBus`."""

    def __init__(self, bus: NatsBus) -> None:
        self._bus = bus

    async def list(self, pond: str | None = None, *, limit: int = 100) -> list[ParkedMessage]:
        """Parked messages, oldest first."""
        js, rapids = self._bus._require_js(), self._bus.rapids
        try:
            await js.stream_info(rapids.parked_stream)
        except nats.js.errors.NotFoundError:
            raise UnknownPond(
                f"there is no parked stream {rapids.parked_stream!r} at {self._bus.url}: check the rapids "
                "name (--rapids) and that the topology was declared"
            ) from None
        wanted = f"{rapids.subject_prefix}._parked.*.{pond}" if pond else subjects.parked_wildcard(rapids)
        found: list[ParkedMessage] = []
        seq = 1
        while len(found) < limit:
            try:
                raw = await js.get_msg(rapids.parked_stream, seq=seq, subject=wanted, next=True)
            except nats.js.errors.NotFoundError:
                break
            assert raw.seq is not None
            found.append(_parked_from(raw.seq, raw.headers or {}, raw.data or b""))
            seq = raw.seq + 1
        return found

    async def get(self, parked_id: str) -> ParkedMessage:
        """One parked message by id (its sequence in the parked stream)."""
        js, rapids = self._bus._require_js(), self._bus.rapids
        seq = _seq_of(parked_id)
        try:
            raw = await js.get_msg(rapids.parked_stream, seq=seq)
        except nats.js.errors.NotFoundError:
            raise ParkedMessageNotFound(
                f"no parked message {parked_id!r} in {rapids.parked_stream}; list them with "
                "`riverbed parked list`"
            ) from None
        return _parked_from(seq, raw.headers or {}, raw.data or b"")

    async def replay(self, parked_id: str) -> None:
        """Publish the event into its river for its pond only, then delete the parked copy."""
        item = await self.get(parked_id)
        js, rapids = self._bus._require_js(), self._bus.rapids
        headers, payload = to_nats(item.event)
        headers[H_REPLAY_FOR] = item.pond
        headers["Nats-Msg-Id"] = f"replay:{rapids.parked_stream}:{parked_id}"
        ack = await js.publish(
            subjects.replay_subject(rapids, item.river, item.pond), payload, headers=headers
        )
        if ack.stream != item.river:
            raise BusUnavailable(f"replay landed in stream {ack.stream!r}, expected river {item.river!r}")
        await js.delete_msg(rapids.parked_stream, _seq_of(parked_id))

    async def drop(self, parked_id: str) -> None:
        """Delete the parked message for good."""
        await self.get(parked_id)
        await self._bus._require_js().delete_msg(self._bus.rapids.parked_stream, _seq_of(parked_id))


def _seq_of(parked_id: str) -> int:
    try:
        seq = int(parked_id)
    except ValueError:
        raise ParkedMessageNotFound(f"parked ids are stream sequence numbers, got {parked_id!r}") from None
    if seq < 1:
        raise ParkedMessageNotFound(f"parked ids start at 1, got {parked_id!r}")
    return seq


def _parked_from(seq: int, headers: dict[str, str], payload: bytes) -> ParkedMessage:
    ce_headers = {k: v for k, v in headers.items() if k not in RIVERBED_HEADERS}
    try:
        event = from_nats(ce_headers, payload)
    except InvalidCloudEvent as exc:
        event = CloudEvent(
            source="riverbed:parked",
            type="riverbed.undecodable.v1",
            datacontenttype="application/octet-stream",
            data=payload,
            extensions={"reason": str(exc)[:200]},
        )
    parked_at = headers.get(H_PARKED_AT)
    return ParkedMessage(
        id=str(seq),
        pond=headers.get(H_POND, ""),
        river=headers.get(H_RIVER, ""),
        event=event,
        reason=unquote(headers.get(H_REASON, "")),
        attempts=int(headers.get(H_ATTEMPTS, "0")),
        parked_at=datetime.fromisoformat(parked_at) if parked_at else datetime.fromtimestamp(0, UTC),
    )
