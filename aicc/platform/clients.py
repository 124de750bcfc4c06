"""gRPC channels to the other services, with tracing and the caller's credentials attached.

A call made while serving a request forwards the caller's token (the callee authorises the same
person); the workflow worker passes a token source for its service account instead.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable

import grpc

from aicc.platform import telemetry
from aicc.platform.auth import current_principal
from aicc.platform.settings import Settings, get_settings

TokenSource = Callable[[], Awaitable[str | None]]

_STUBS = {
    "identity": ("aicc.identity.v1.identity_pb2_grpc", "IdentityServiceStub"),
    "intake": ("aicc.intake.v1.intake_pb2_grpc", "IntakeServiceStub"),
    "review": ("aicc.review.v1.review_pb2_grpc", "ReviewServiceStub"),
    "funding": ("aicc.funding.v1.funding_pb2_grpc", "FundingServiceStub"),
    "supervision": ("aicc.supervision.v1.supervision_pb2_grpc", "SupervisionServiceStub"),
}


async def forward_caller_token() -> str | None:
    p = current_principal.get()
    return p.token if p and p.token else None


class _AuthInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, source: TokenSource) -> None:
        self._source = source

    async def intercept_unary_unary(self, continuation, details, request):
        token = await self._source()
        if token:
            md = list(details.metadata or []) + [("authorization", f"Bearer {token}")]
            details = grpc.aio.ClientCallDetails(
                details.method,
                details.timeout,
                grpc.aio.Metadata(*md),
                details.credentials,
                details.wait_for_ready,
            )
        return await continuation(details, request)


def open_channel(
    address: str, token_source: TokenSource | None = None, *, settings: Settings | None = None
) -> grpc.aio.Channel:
    """A channel to one service: mTLS when certificates are configured (``aicc/platform/tls.py``).

    With explicit ``settings`` (a service's or the worker's) plaintext is refused outside dev mode;
    without, the process's settings are used and an ad-hoc tool may still dial a dev suite plaintext.
    """
    from aicc.platform import tls

    interceptors = [*telemetry.client_interceptors()]
    if token_source is not None:
        interceptors.append(_AuthInterceptor(token_source))
    creds, options = tls.channel_credentials(settings or get_settings(), strict=settings is not None)
    if creds is None:
        return grpc.aio.insecure_channel(address, interceptors=interceptors)
    return grpc.aio.secure_channel(address, creds, options=options, interceptors=interceptors)


def stub_for(service: str, channel: grpc.aio.Channel):
    """The generated stub of one of the suite's services on a given channel."""
    mod, cls = _STUBS[service]
    return getattr(importlib.import_module(mod), cls)(channel)


def static_token(token: str | None) -> TokenSource:
    """A token source for a caller that already holds its token (tests, the demo)."""

    async def source() -> str | None:
        return token

    return source


class Clients:
    """Lazily opened channels and stubs to the suite's services."""

    def __init__(self, settings: Settings, token_source: TokenSource | None = forward_caller_token) -> None:
        self._settings = settings
        self._token_source = token_source
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._stubs: dict[str, object] = {}

    def stub(self, service: str):
        if service not in self._stubs:
            channel = open_channel(
                self._settings.address(service), self._token_source, settings=self._settings
            )
            self._channels[service] = channel
            self._stubs[service] = stub_for(service, channel)
        return self._stubs[service]

    @property
    def identity(self):
        return self.stub("identity")

    @property
    def intake(self):
        return self.stub("intake")

    @property
    def review(self):
        return self.stub("review")

    @property
    def funding(self):
        return self.stub("funding")

    @property
    def supervision(self):
        return self.stub("supervision")

    async def close(self) -> None:
        for ch in self._channels.values():
            await ch.close()
        self._channels.clear()
        self._stubs.clear()
