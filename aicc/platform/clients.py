"""gRPC channels to the other services, with tracing and the caller's credentials attached.

A call made while serving a request forwards the caller's token (the callee authorises the same
person); the workflow worker passes a token source for its service account instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from aicc.funding.v1 import funding_pb2_grpc
from aicc.identity.v1 import identity_pb2_grpc
from aicc.intake.v1 import intake_pb2_grpc
from aicc.platform import telemetry
from aicc.platform.auth import current_principal
from aicc.platform.settings import Settings, get_settings
from aicc.review.v1 import review_pb2_grpc
from aicc.supervision.v1 import supervision_pb2_grpc

TokenSource = Callable[[], Awaitable[str | None]]


async def forward_caller_token() -> str | None:
    p = current_principal.get()
    return p.token if p and p.token else None


class _Token:
    """Attaches the bearer token to a call's metadata."""

    def __init__(self, source: TokenSource) -> None:
        self._source = source

    async def _with_token(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        token = await self._source()
        if not token:
            return details
        md = [*(details.metadata or []), ("authorization", f"Bearer {token}")]
        return grpc.aio.ClientCallDetails(
            details.method,
            details.timeout,
            grpc.aio.Metadata(*md),
            details.credentials,
            details.wait_for_ready,
        )


# grpc.aio files an interceptor under the first call kind it implements: one class per kind.
class _UnaryUnaryToken(_Token, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(await self._with_token(details), request)


class _UnaryStreamToken(_Token, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(await self._with_token(details), request)


class _StreamUnaryToken(_Token, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(self, continuation: Any, details: Any, request_iterator: Any) -> Any:
        return await continuation(await self._with_token(details), request_iterator)


class _StreamStreamToken(_Token, grpc.aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(self, continuation: Any, details: Any, request_iterator: Any) -> Any:
        return await continuation(await self._with_token(details), request_iterator)


def token_interceptors(source: TokenSource) -> list[Any]:
    """Interceptors that send the token of ``source`` with every call, streams included."""
    return [
        _UnaryUnaryToken(source),
        _UnaryStreamToken(source),
        _StreamUnaryToken(source),
        _StreamStreamToken(source),
    ]


def open_channel(
    address: str, token_source: TokenSource | None = None, *, settings: Settings | None = None
) -> grpc.aio.Channel:
    """A channel to one service: mTLS when certificates are configured (``aicc/platform/tls.py``).

    With explicit ``settings`` (a service's or the worker's) plaintext is refused outside dev mode;
    without, the process's settings are used and an ad-hoc tool may still dial a dev suite plaintext.
    """
    from aicc.platform import tls

    interceptors: list[Any] = [*telemetry.client_interceptors()]
    if token_source is not None:
        interceptors.extend(token_interceptors(token_source))
    creds, options = tls.channel_credentials(settings or get_settings(), strict=settings is not None)
    if creds is None:
        return grpc.aio.insecure_channel(address, interceptors=interceptors)
    return grpc.aio.secure_channel(address, creds, options=options, interceptors=interceptors)


def stub_for(service: str, channel: grpc.aio.Channel) -> Any:
    """The generated stub of one of the suite's services on a given channel (for tools and tests
    that pick the service by name; code that knows which service it calls uses :class:`Clients`)."""
    stubs: dict[str, Callable[[grpc.aio.Channel], Any]] = {
        "identity": identity_pb2_grpc.IdentityServiceStub,
        "intake": intake_pb2_grpc.IntakeServiceStub,
        "review": review_pb2_grpc.ReviewServiceStub,
        "funding": funding_pb2_grpc.FundingServiceStub,
        "supervision": supervision_pb2_grpc.SupervisionServiceStub,
    }
    return stubs[service](channel)


def static_token(token: str | None) -> TokenSource:
    """A token source for a caller that already holds its token (tests, the demo)."""

    async def source() -> str | None:
        return token

    return source


class Clients:
    """Lazily opened channels and typed stubs to the suite's services."""

    def __init__(self, settings: Settings, token_source: TokenSource | None = forward_caller_token) -> None:
        self._settings = settings
        self._token_source = token_source
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._stubs: dict[str, Any] = {}

    def channel(self, service: str) -> grpc.aio.Channel:
        if service not in self._channels:
            self._channels[service] = open_channel(
                self._settings.address(service), self._token_source, settings=self._settings
            )
        return self._channels[service]

    def stub(self, service: str) -> Any:
        if service not in self._stubs:
            self._stubs[service] = stub_for(service, self.channel(service))
        return self._stubs[service]

    @property
    def identity(self) -> identity_pb2_grpc.IdentityServiceAsyncStub:
        stub: identity_pb2_grpc.IdentityServiceAsyncStub = self.stub("identity")
        return stub

    @property
    def intake(self) -> intake_pb2_grpc.IntakeServiceAsyncStub:
        stub: intake_pb2_grpc.IntakeServiceAsyncStub = self.stub("intake")
        return stub

    @property
    def review(self) -> review_pb2_grpc.ReviewServiceAsyncStub:
        stub: review_pb2_grpc.ReviewServiceAsyncStub = self.stub("review")
        return stub

    @property
    def funding(self) -> funding_pb2_grpc.FundingServiceAsyncStub:
        stub: funding_pb2_grpc.FundingServiceAsyncStub = self.stub("funding")
        return stub

    @property
    def supervision(self) -> supervision_pb2_grpc.SupervisionServiceAsyncStub:
        stub: supervision_pb2_grpc.SupervisionServiceAsyncStub = self.stub("supervision")
        return stub

    async def close(self) -> None:
        for ch in self._channels.values():
            await ch.close(None)
        self._channels.clear()
        self._stubs.clear()
