"""Authentication, the first hop: API keys and JWT bearer tokens (HS256 and RS256).

Every route but the health probes needs credentials. A credential names a tenant, which scopes every
command and query of the request. API keys are compared by their SHA-256 digest (the secret itself is
never kept in a lookup table); JWTs are checked for signature, expiry, issuer and audience, and verified
tokens are cached until they expire so a client reusing its token pays the signature check once.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import jwt

from riverbed.errors import AuthenticationFailed
from riverbed.gateway.asgi import ASGIApp, Receive, Scope, Send, header, route_path, send_problem, state
from riverbed.runtime.gateway_settings import ApiKeySettings, JwtSettings, check_tenant

PUBLIC_PATHS = frozenset({"/livez", "/readyz"})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the tenant every stream and row is scoped to, and the subject within it."""

    tenant: str
    subject: str
    method: Literal["api-key", "jwt"]
    client_id: str = ""
    """The rate limiter's key (``tenant:subject``)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "client_id", f"{self.tenant}:{self.subject}")


class Authenticator(Protocol):
    """One credential scheme: returns None when the request does not use it, raises when it is bad."""

    def authenticate(self, scope: Scope) -> Principal | None:
        """The principal of the request, None if this scheme is absent."""
        ...


class ApiKeyAuthenticator:
    """``X-Api-Key: <key>`` or ``Authorization: ApiKey <key>``."""

    def __init__(self, keys: Iterable[ApiKeySettings]) -> None:
        self._by_digest = {
            _digest(k.key.get_secret_value().encode()): Principal(k.tenant, k.subject, "api-key")
            for k in keys
        }

    def authenticate(self, scope: Scope) -> Principal | None:
        """Look the key up by its digest."""
        key = header(scope, b"x-api-key")
        if key is None:
            authorization = header(scope, b"authorization")
            if authorization is None or authorization[:7].lower() != b"apikey ":
                return None
            key = authorization[7:].strip()
        principal = self._by_digest.get(_digest(key))
        if principal is None:
            raise AuthenticationFailed("the API key is not known; check the key or ask for a new one")
        return principal


class JwtAuthenticator:
    """``Authorization: Bearer <jwt>`` signed with HS256 (shared secret) or RS256 (public key)."""

    def __init__(
        self, settings: JwtSettings, *, wall_clock: Callable[[], float] = time.time, cache_size: int = 4096
    ) -> None:
        self._settings = settings
        self._keys: dict[str, Any] = {}
        if settings.hs256_secret is not None:
            self._keys["HS256"] = settings.hs256_secret.get_secret_value()
        if settings.rs256_public_key is not None:
            self._keys["RS256"] = settings.rs256_public_key
        self._clock = wall_clock
        self._cache: OrderedDict[bytes, tuple[Principal, float]] = OrderedDict()
        self._cache_size = cache_size

    @property
    def enabled(self) -> bool:
        """Whether any verification key is configured."""
        return bool(self._keys)

    def authenticate(self, scope: Scope) -> Principal | None:
        """Verify the bearer token (or reuse the verdict of an identical, unexpired token)."""
        authorization = header(scope, b"authorization")
        if authorization is None or authorization[:7].lower() != b"bearer ":
            return None
        token = authorization[7:].strip()
        cached = self._cache.get(token)
        if cached is not None:
            principal, expires = cached
            if self._clock() < expires + self._settings.leeway_seconds:
                return principal
            del self._cache[token]
        principal, expires = self._verify(token)
        self._cache[token] = (principal, expires)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return principal

    def _verify(self, token: bytes) -> tuple[Principal, float]:
        s = self._settings
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed(f"the bearer token is not a JWT: {exc}") from None
        key = self._keys.get(str(algorithm))
        if key is None:
            raise AuthenticationFailed(
                f"JWT algorithm {algorithm!r} is not accepted; use one of {sorted(self._keys)}"
            )
        required = ["exp"] if s.require_expiry else []
        if s.issuer is not None:
            required.append("iss")
        if s.audience is not None:
            required.append("aud")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[str(algorithm)],
                issuer=s.issuer,
                audience=s.audience,
                leeway=s.leeway_seconds,
                options={"require": required, "verify_aud": s.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed("the JWT has expired; get a new token") from None
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed(f"the JWT is not valid: {exc}") from None
        tenant = claims.get(s.tenant_claim)
        if not isinstance(tenant, str):
            raise AuthenticationFailed(f"the JWT has no {s.tenant_claim!r} claim naming the tenant")
        try:
            check_tenant(tenant)
        except ValueError as exc:
            raise AuthenticationFailed(str(exc)) from None
        expires = float(claims.get("exp", float("inf")))
        return Principal(tenant, str(claims.get("sub", "jwt")), "jwt"), expires


class AuthMiddleware:
    """Refuse (401 problem+json) every request but the health probes unless a scheme authenticates it."""

    def __init__(
        self,
        app: ASGIApp,
        authenticators: Sequence[Authenticator],
        *,
        public_paths: frozenset[str] = PUBLIC_PATHS,
    ) -> None:
        self.app = app
        self.authenticators = tuple(authenticators)
        self.public_paths = public_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http" or route_path(scope) in self.public_paths:
            await self.app(scope, receive, send)
            return
        try:
            principal = authenticate(scope, self.authenticators)
        except AuthenticationFailed as exc:
            await send_problem(scope, send, exc)
            return
        state(scope)["principal"] = principal
        await self.app(scope, receive, send)


def authenticate(scope: Scope, authenticators: Sequence[Authenticator]) -> Principal:
    """The principal of the first scheme the request uses; AuthenticationFailed when none or a bad one."""
    for authenticator in authenticators:
        principal = authenticator.authenticate(scope)
        if principal is not None:
            return principal
    raise AuthenticationFailed(
        "this route needs credentials: send 'X-Api-Key: <key>' or 'Authorization: Bearer <JWT>'"
    )


def _digest(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()
