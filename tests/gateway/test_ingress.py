"""POST /events: the CloudEvents HTTP ingress in binary, structured and batch modes."""

from __future__ import annotations

import json

from riverbed.cloudevents import CloudEvent, to_http, to_http_batch
from tests.gateway.conftest import Harness

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _event(n: int, subject: str = "partner") -> CloudEvent:
    return CloudEvent(
        id=f"e-{n}", source="urn:partner", type="partner.thing.happened.v1", subject=subject, data={"n": n}
    )


async def test_binary_structured_and_batch_modes(harness: Harness) -> None:
    async with harness.client(traceparent=TRACEPARENT) as client:
        for mode in ("binary", "structured"):
            headers, body = to_http(_event(1 if mode == "binary" else 2), mode)
            response = await client.post("/events", content=body, headers=headers)
            assert response.status_code == 202, response.text
        headers, body = to_http_batch([_event(3), _event(4, "other"), _event(5, "other")])
        batch = await client.post("/events", content=body, headers=headers)
    assert batch.status_code == 202
    assert [a["stream"] for a in batch.json()["accepted"]] == ["partner", "other", "other"]
    stored = [r async for r in harness.store.read_all()]
    assert [(r.stream, r.event.id, r.event.data) for r in stored] == [
        ("acme:partner", "e-1", {"n": 1}),
        ("acme:partner", "e-2", {"n": 2}),
        ("acme:partner", "e-3", {"n": 3}),
        ("acme:other", "e-4", {"n": 4}),
        ("acme:other", "e-5", {"n": 5}),
    ]
    trace_ids = {str(r.event.extensions["traceparent"]).split("-")[1] for r in stored}
    assert trace_ids == {"4bf92f3577b34da6a3ce929d0e0e4736"}


async def test_resending_the_same_event_is_harmless(harness: Harness) -> None:
    headers, body = to_http(_event(1), "structured")
    async with harness.client(traceparent=TRACEPARENT) as client:
        first = await client.post("/events", content=body, headers=headers)
        again = await client.post("/events", content=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert len([r async for r in harness.store.read_all()]) == 1


async def test_not_a_cloudevent_is_refused(harness: Harness) -> None:
    async with harness.client() as client:
        no_id = await client.post(
            "/events",
            content=json.dumps({"specversion": "1.0", "source": "s", "type": "t"}),
            headers={"content-type": "application/cloudevents+json"},
        )
        plain = await client.post("/events", content=b"hello", headers={"content-type": "text/plain"})
        empty = await client.post(
            "/events", content=b"[]", headers={"content-type": "application/cloudevents-batch+json"}
        )
    assert no_id.status_code == 422
    assert no_id.json()["type"].endswith("/invalid-cloudevent")
    assert plain.status_code == 422
    assert "ce-specversion" in plain.json()["detail"]
    assert empty.status_code == 422
    assert [r async for r in harness.store.read_all()] == []


async def test_structured_events_take_the_documented_attributes(harness: Harness) -> None:
    base = {"specversion": "1.0", "id": "s-1", "source": "urn:p", "type": "p.t.v1", "subject": "in"}
    headers = {"content-type": "application/cloudevents+json"}
    async with harness.client() as client:
        with_time = await client.post(
            "/events",
            json={**base, "time": "2026-01-02T03:04:05Z", "datacontenttype": "application/json", "data": {}},
            headers=headers,
        )
        extension = await client.post("/events", json={**base, "id": "s-2", "partner": "x"}, headers=headers)
        nameless = await client.post("/events", json={**base, "id": "s-3", "": None}, headers=headers)
        null_subject = await client.post(
            "/events", json={**base, "id": "s-4", "subject": None}, headers=headers
        )
    assert with_time.status_code == 202, with_time.text
    assert extension.status_code == 422
    assert "['partner']" in extension.json()["detail"]
    assert "ce-* headers" in extension.json()["detail"]
    assert nameless.status_code == 422
    assert null_subject.status_code == 422
    assert [r.event.id async for r in harness.store.read_all()] == ["s-1"]
