"""A loopback OpenID Connect provider for tests: a real HTTP JWKS endpoint and a signer.

The server runs in a thread on 127.0.0.1 (port 0). Tests publish key sets, count the
fetches per path, slow responses down, make them fail, or stop the server outright.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

import httpx
from joserfc.jwk import ECKey, Key, RSAKey
from joserfc.jws import JWSRegistry

from w4r.app import create_app
from w4r.platform.bootstrap import DatabaseTarget
from w4r.settings import Settings

ISSUER: Final = "https://id.example.test/realms/w4r"
AUDIENCE: Final = "w4r-api"
CLIENT_ID: Final = "w4r-console"
JWKS_PATH: Final = "/realms/w4r/protocol/openid-connect/certs"
ROLE_MAP: Final = {
    "w4r-is-admin": "is-admin",
    "w4r-is-analyst": "is-analyst",
    "w4r-section-admin": "section-admin",
    "w4r-section-editor": "section-editor",
    "w4r-event-host": "event-host",
}


def ec_key() -> ECKey:
    key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": "ES256"})
    key.ensure_kid()
    return key


def rsa_key(bits: int = 2048, alg: str | None = "RS256") -> RSAKey:
    parameters: dict[str, Any] = {"use": "sig"} if alg is None else {"use": "sig", "alg": alg}
    key = RSAKey.generate_key(bits, parameters=parameters)  # type: ignore[arg-type]
    key.ensure_kid()
    return key


def public_jwk(key: Key) -> dict[str, Any]:
    return dict(key.as_dict(private=False))


@dataclass
class _State:
    documents: dict[str, bytes] = field(default_factory=dict)
    cache_control: str | None = None
    status: int = 200
    delay_seconds: float = 0.0
    fetches: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


class IdentityProvider:
    """Publishes JWK sets over real HTTP and signs access tokens like a provider would."""

    def __init__(self) -> None:
        self._state = _State()
        state = self._state

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with state.lock:
                    state.fetches[self.path] += 1
                    body = state.documents.get(self.path)
                    status, delay, cache_control = (
                        state.status,
                        state.delay_seconds,
                        state.cache_control,
                    )
                if delay:
                    time.sleep(delay)
                if body is None:
                    status, body = 404, b"{}"
                self.send_response(status)
                self.send_header("content-type", "application/jwk-set+json")
                self.send_header("content-length", str(len(body)))
                if cache_control is not None:
                    self.send_header("cache-control", cache_control)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet: the test output is not the place for access logs."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.jwks_url = self.base_url + JWKS_PATH
        self._is_running = True

    def publish(self, *keys: Key, cache_control: str | None = None, path: str = JWKS_PATH) -> None:
        """Serve these keys' public halves as the JWK set at ``path``."""
        self.publish_document({"keys": [public_jwk(key) for key in keys]}, path=path)
        with self._state.lock:
            self._state.cache_control = cache_control

    def publish_document(self, document: object, *, path: str = JWKS_PATH) -> None:
        with self._state.lock:
            self._state.documents[path] = json.dumps(document).encode()

    def answer_with(self, status: int) -> None:
        with self._state.lock:
            self._state.status = status

    def slow_down(self, seconds: float) -> None:
        with self._state.lock:
            self._state.delay_seconds = seconds

    def fetches(self, path: str = JWKS_PATH) -> int:
        with self._state.lock:
            return self._state.fetches[path]

    def stop(self) -> None:
        """Shut the server down: the JWKS URL then refuses connections."""
        if self._is_running:
            self._is_running = False
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()


def provider_claims(**overrides: Any) -> dict[str, Any]:
    """Valid access token claims of a section admin of 'gb'; None removes a claim."""
    moment = int(time.time())
    values: dict[str, Any] = {
        "iss": ISSUER,
        "aud": [AUDIENCE, "account"],
        "sub": "f1c2d3e4-0000-4000-8000-000000000001",
        "client_id": CLIENT_ID,
        "jti": f"jti-{time.monotonic_ns()}",
        "iat": moment,
        "nbf": moment,
        "exp": moment + 300,
        "realm_access": {"roles": ["offline_access", "w4r-section-admin"]},
        "w4r_section": "gb",
        **overrides,
    }
    return {name: value for name, value in values.items() if value is not None}


def sign(
    claims: dict[str, Any] | bytes,
    key: Key,
    *,
    alg: str | None = None,
    header: dict[str, Any] | None = None,
) -> str:
    """A compact JWS of ``claims`` (or raw payload bytes), typed at+jwt unless the header
    overrides say otherwise (a header value of None removes that member)."""
    algorithm = alg or str(key.get("alg") or "ES256")
    values: dict[str, Any] = {"alg": algorithm, "typ": "at+jwt", "kid": key.kid, **(header or {})}
    protected = {name: value for name, value in values.items() if value is not None}
    payload = claims if isinstance(claims, bytes) else json.dumps(claims).encode()
    # Signed by hand, not through joserfc's serializer: forged headers (crit, jku…) must
    # reach the verifier exactly as an attacker would send them.
    signing_input = b64url(json.dumps(protected).encode()) + "." + b64url(payload)
    signature = JWSRegistry.algorithms[algorithm].sign(signing_input.encode(), key)
    return signing_input + "." + b64url(signature)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def provider_settings(settings: Settings, provider: IdentityProvider) -> Settings:
    """The test settings, trusting ``provider`` besides the local key."""
    return settings.model_copy(
        update={
            "oidc_issuer": ISSUER,
            "oidc_audience": AUDIENCE,
            "oidc_jwks_url": provider.jwks_url,
            "oidc_role_map": ROLE_MAP,
        }
    )


@contextlib.asynccontextmanager
async def provider_app(
    settings: Settings, target: DatabaseTarget, provider: IdentityProvider
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the real app, configured to trust ``provider``."""
    application = create_app(provider_settings(settings, provider), target=target)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
