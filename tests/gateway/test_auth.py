"""Authentication is the first hop: API keys and JWT (HS256, RS256); only health is public."""

from __future__ import annotations

import time

import httpx
import jwt

from riverbed.gateway.errors import PROBLEM_BASE
from tests.gateway.conftest import AUDIENCE, ISSUER, Harness, RsaKeys, hs_token

OPEN = {"account_id": "a-1", "owner": "Ann"}


async def _unauthenticated(response: httpx.Response, words: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == PROBLEM_BASE + "unauthenticated"
    assert words.lower() in body["detail"].lower()
    assert "Bearer" in response.headers["www-authenticate"]
    assert response.headers.get_list("x-request-id") == [body["request_id"]]


async def test_every_route_but_health_needs_credentials(harness: Harness) -> None:
    async with harness.client(key=None) as client:
        for method, path in [
            ("POST", "/commands/bank/OpenAccount"),
            ("GET", "/views/balances/a-1"),
            ("POST", "/events"),
            ("GET", "/openapi.json"),
            ("GET", "/no/such/route"),
        ]:
            await _unauthenticated(await client.request(method, path, json=OPEN), "needs credentials")
        assert (await client.get("/livez")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200
    assert harness.bank.runs == []


async def test_api_key_in_either_header(harness: Harness) -> None:
    async with harness.client() as client:
        assert (await client.post("/commands/bank/OpenAccount", json=OPEN)).status_code == 200
    async with harness.client(key=None, authorization="ApiKey acme-key-0123456789abcdef") as client:
        response = await client.post("/commands/bank/OpenAccount", json={"account_id": "a-2", "owner": "B"})
        assert response.status_code == 200
    assert [r.tenant for r in harness.bank.runs] == ["acme", "acme"]


async def test_unknown_api_key_is_refused(harness: Harness) -> None:
    async with harness.client(key="not-a-key-of-anyone-at-all") as client:
        await _unauthenticated(await client.post("/commands/bank/OpenAccount", json=OPEN), "not known")
    assert harness.bank.runs == []


async def test_hs256_token_names_the_tenant(harness: Harness) -> None:
    async with harness.client(key=None, authorization=f"Bearer {hs_token('globex')}") as client:
        assert (await client.post("/commands/bank/OpenAccount", json=OPEN)).status_code == 200
    assert harness.bank.runs[0].tenant == "globex"


async def test_rs256_token_is_verified_with_the_public_key(harness: Harness, rsa_keys: RsaKeys) -> None:
    claims = {"tenant": "acme", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60}
    token = jwt.encode(claims, rsa_keys.private_pem, algorithm="RS256")
    async with harness.client(key=None, authorization=f"Bearer {token}") as client:
        assert (await client.post("/commands/bank/OpenAccount", json=OPEN)).status_code == 200


async def test_bad_tokens_are_refused(harness: Harness, rsa_keys: RsaKeys) -> None:
    now = int(time.time())
    forged = jwt.encode(
        {"tenant": "acme", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 60},
        "another-secret-32-bytes-long!!!!!",
    )
    cases = {
        hs_token(exp_in=-10): "expired",
        hs_token(iss="https://evil.test"): "issuer",
        hs_token(aud="someone-else"): "audience",
        hs_token(tenant="Not A Tenant"): "not a valid tenant",
        jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 60}, "a-shared-secret-of-at-least-32-bytes!!"
        ): "tenant",
        jwt.encode(
            {"tenant": "acme", "iss": ISSUER, "aud": AUDIENCE}, "a-shared-secret-of-at-least-32-bytes!!"
        ): "exp",
        forged: "Signature",
        jwt.encode({"tenant": "acme"}, "k" * 64, algorithm="HS512"): "not accepted",
        "not.a.jwt": "not a JWT",
    }
    for token, words in cases.items():
        async with harness.client(key=None, authorization=f"Bearer {token}") as client:
            await _unauthenticated(await client.post("/commands/bank/OpenAccount", json=OPEN), words)
    assert harness.bank.runs == []


async def test_a_gateway_without_credentials_configured_refuses_to_start() -> None:
    import pytest

    from riverbed.errors import ConfigurationError
    from riverbed.gateway.app import create_app

    with pytest.raises(ConfigurationError, match="no credentials"):
        create_app()
