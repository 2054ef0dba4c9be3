"""Fuzz the gateway from its own /openapi.json: no server errors, every response matches the schema.

At least 2,000 generated requests under CI=true (a few hundred locally, x10 under RIVERBED_SOAK=1),
positive and negative cases, against a real uvicorn server on 127.0.0.1.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from riverbed.adapters.memory.event_store import MemoryEventStore
from riverbed.application.ingress import StoreSink
from riverbed.gateway.app import create_app
from tests.conftest import IN_CI
from tests.gateway.conftest import ACME_KEY
from tests.gateway.conftest import settings as gateway_settings
from tests.gateway.fakes import BalanceView, BankService
from tests.gateway.servers import serve_in_thread

SOAK = os.environ.get("RIVERBED_SOAK") == "1"
TOTAL = 20_000 if SOAK else 2_000 if IN_CI else 400
AUTH = {"X-Api-Key": ACME_KEY}


async def _build() -> Any:
    store = MemoryEventStore("memory://")
    await store.open()
    config = gateway_settings(rate_limit={"enabled": False})
    return create_app(
        config, services=[BankService(store)], views=[BalanceView(store)], sink=StoreSink(store)
    )


def _fuzz(
    operation: Any,
    mode: GenerationMode,
    examples: int,
    base_url: str,
    session: requests.Session,
    seen: Counter[int],
) -> None:
    positive = mode is GenerationMode.POSITIVE

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=not SOAK,
    )
    def run(case: Any) -> None:
        if positive and case.headers and "Idempotency-Key" in case.headers:
            # reusing a key for another body is a 422 by design (tested elsewhere): keep valid keys unique
            case.headers["Idempotency-Key"] += f"-{sum(seen.values())}"
        response = case.call_and_validate(base_url=base_url, session=session, headers=AUTH)
        seen[response.status_code] += 1
        assert response.status_code < 500, response.text

    run()


def _has_inputs(operation: Any) -> bool:
    """Whether there is anything to make invalid (the health probes take no input)."""
    return bool(operation.body or operation.path_parameters or operation.query or operation.headers)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_gateway_keeps_its_openapi_contract() -> None:
    with serve_in_thread(_build) as base_url:
        document = requests.get(f"{base_url}/openapi.json", headers=AUTH, timeout=10).json()
        schema = schemathesis.openapi.from_dict(document)
        operations = []
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), result
            operations.append(result.ok())
        assert len(operations) == 6  # 2 commands, 1 view, the ingress, livez, readyz
        runs = [(op, GenerationMode.POSITIVE) for op in operations] + [
            (op, GenerationMode.NEGATIVE) for op in operations if _has_inputs(op)
        ]
        # the health probes have one possible request each: the other runs make up the total
        examples = max(1, TOTAL * 6 // (5 * (len(runs) - 2)))
        seen: Counter[int] = Counter()
        with requests.Session() as session:
            for operation, mode in runs:
                _fuzz(operation, mode, examples, base_url, session, seen)
    assert sum(seen.values()) >= TOTAL, seen
    assert not [status for status in seen if status >= 500], seen
    assert seen[200] > 0
    assert seen[202] > 0
    assert seen[422] > 0
    print(f"schemathesis: {sum(seen.values())} requests, statuses {dict(sorted(seen.items()))}")
