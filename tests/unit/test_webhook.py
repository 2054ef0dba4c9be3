import json

import httpx
import pytest

from riverbed.adapters.http.webhook import WebhookSender
from riverbed.cloudevents import CloudEvent, from_http
from riverbed.errors import DeliveryFailed
from riverbed.ports.topology import RetryPolicy

EVENT = CloudEvent(
    id="w-1", source="urn:bank", type="bank.account.opened.v1", subject="acct-1", data={"a": 1}
)


def sender(handler: object, *, mode: str = "binary", retries: int = 4) -> tuple[WebhookSender, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    return (
        WebhookSender(
            "http://hooks.example/in",
            mode=mode,  # type: ignore[arg-type]
            retry=RetryPolicy(
                max_deliveries=retries, initial_delay=0.5, multiplier=2.0, max_delay=10, jitter=0
            ),
            client=client,
            sleep=sleep,
        ),
        slept,
    )


async def test_binary_mode_posts_ce_headers_and_the_data() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    webhook, slept = sender(handler)
    assert await webhook.send(EVENT) == 202
    (request,) = seen
    assert request.method == "POST"
    assert request.headers["ce-id"] == "w-1"
    assert request.headers["ce-type"] == "bank.account.opened.v1"
    assert json.loads(request.content) == {"a": 1}
    assert from_http(dict(request.headers), request.content) == EVENT.with_changes(
        datacontenttype="application/json"
    )
    assert slept == []


async def test_structured_mode_posts_the_json_format() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    webhook, _ = sender(handler, mode="structured")
    await webhook.send(EVENT)
    assert seen[0].headers["content-type"].startswith("application/cloudevents+json")
    assert from_http(dict(seen[0].headers), seen[0].content) == EVENT


async def test_retryable_answers_are_retried_with_backoff_and_retry_after() -> None:
    answers = iter(
        [httpx.Response(503), httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(204)]
    )
    webhook, slept = sender(lambda request: next(answers))
    assert await webhook.send(EVENT) == 204
    assert slept == [0.5, 3.0]


async def test_connection_errors_are_retried_then_reported() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    webhook, slept = sender(handler, retries=3)
    with pytest.raises(DeliveryFailed, match="after 3 attempts") as caught:
        await webhook.send(EVENT)
    assert caught.value.status is None
    assert caught.value.attempts == 3
    assert slept == [0.5, 1.0]


async def test_a_final_refusal_is_not_retried() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(400, text="bad event")

    webhook, _ = sender(handler)
    with pytest.raises(DeliveryFailed, match="HTTP 400: bad event") as caught:
        await webhook.handle(EVENT)
    assert caught.value.status == 400
    assert len(calls) == 1
