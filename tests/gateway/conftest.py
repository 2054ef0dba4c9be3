"""Fixtures for gateway tests: a gateway over the fake bank on a memory store, clients with credentials."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from riverbed.adapters.memory.event_store import MemoryEventStore
from riverbed.application.ingress import StoreSink
from riverbed.gateway.app import GatewayApp, create_app
from riverbed.runtime.gateway_settings import GatewaySettings
from tests.gateway.fakes import BalanceView, BankService

ACME_KEY = "acme-key-0123456789abcdef"
GLOBEX_KEY = "globex-key-0123456789abcdef"
HS_SECRET = "a-shared-secret-of-at-least-32-bytes!!"
ISSUER = "https://issuer.test"
AUDIENCE = "riverbed-gateway"


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class RsaKeys:
    private_pem: bytes
    public_pem: str


@pytest.fixture(scope="session")
def rsa_keys() -> RsaKeys:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return RsaKeys(private_pem, public_pem)


def settings(rsa_keys: RsaKeys | None = None, **overrides: Any) -> GatewaySettings:
    base: dict[str, Any] = {
        "api_keys": [{"key": ACME_KEY, "tenant": "acme"}, {"key": GLOBEX_KEY, "tenant": "globex"}],
        "jwt": {
            "hs256_secret": HS_SECRET,
            "rs256_public_key": rsa_keys.public_pem if rsa_keys else None,
            "issuer": ISSUER,
            "audience": AUDIENCE,
        },
        "health": {"down_after_seconds": 3600.0},
    }
    base.update(overrides)
    return GatewaySettings.model_validate(base)


def hs_token(tenant: str = "acme", *, exp_in: float = 300, **claims: Any) -> str:
    payload = {
        "tenant": tenant,
        "sub": "alice",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": int(time.time() + exp_in),
    }
    payload.update(claims)
    return jwt.encode(payload, HS_SECRET, algorithm="HS256")


@dataclass
class Harness:
    app: GatewayApp
    bank: BankService
    view: BalanceView
    store: MemoryEventStore
    clock: FakeClock

    def client(self, key: str | None = ACME_KEY, **headers: str) -> httpx.AsyncClient:
        all_headers = dict(headers)
        if key is not None:
            all_headers["x-api-key"] = key
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://gateway", headers=all_headers
        )


async def make_harness(gateway_settings: GatewaySettings, clock: FakeClock | None = None) -> Harness:
    store = MemoryEventStore("memory://")
    await store.open()
    bank = BankService(store)
    view = BalanceView(store)
    clock = clock or FakeClock()
    app = create_app(gateway_settings, services=[bank], views=[view], sink=StoreSink(store), clock=clock)
    await app.monitor.probe_all()
    return Harness(app, bank, view, store, clock)


@pytest.fixture
async def harness(rsa_keys: RsaKeys) -> AsyncIterator[Harness]:
    h = await make_harness(settings(rsa_keys))
    yield h
    await h.store.close()
