"""Every service is served the same way: one ``grpc.aio`` server with tracing, authentication,
authorisation and error mapping by construction; ``grpc.health.v1`` (SERVING only once the
database answers) and reflection; graceful shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from aicc.platform import telemetry
from aicc.platform.auth import TokenVerifier, current_principal
from aicc.platform.authz import UNAUTHENTICATED_PREFIXES, rule_for
from aicc.platform.clients import Clients
from aicc.platform.db import Database, safe_url
from aicc.platform.errors import DomainError, PermissionDenied, Unauthenticated, internal_status, to_status
from aicc.platform.settings import Settings, get_settings

log = logging.getLogger("aicc.server")


@dataclass
class Runtime:
    """What a service's code gets: its settings, its own database, clients to the others."""

    name: str
    settings: Settings
    db: Database
    clients: Clients
    verifier: TokenVerifier | None = None
    extras: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    # Fully qualified gRPC service names, for health and reflection.
    service_names: tuple[str, ...]
    # Registers the servicer(s) on the server.
    register: Callable[[Runtime, grpc.aio.Server], None]
    # Builds how tokens are verified (identity verifies with its own keys).
    make_verifier: Callable[[Runtime], TokenVerifier] | None = None
    # Runs once the database answers, before SERVING (e.g. bootstrap accounts, connect Temporal).
    on_start: Callable[[Runtime], Awaitable[None]] | None = None
    on_stop: Callable[[Runtime], Awaitable[None]] | None = None


def identity_key_fetcher(clients: Clients):
    async def fetch() -> dict[str, str]:
        from aicc.identity.v1 import identity_pb2

        resp = await clients.identity.GetPublicKeys(identity_pb2.GetPublicKeysRequest(), timeout=5)
        return {k.kid: k.public_key_pem for k in resp.keys}

    return fetch


class _PlatformInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def intercept_service(self, continuation, details):
        handler = await continuation(details)
        method = details.method
        if handler is None or method.startswith(UNAUTHENTICATED_PREFIXES) or handler.unary_unary is None:
            return handler
        rule = rule_for(method)
        inner = handler.unary_unary
        rt = self._rt

        async def guarded(request, context: grpc.aio.ServicerContext):
            try:
                if rule is None:  # deny by default: an RPC nobody declared a rule for
                    raise PermissionDenied("no authorisation rule for this RPC", "该接口未配置授权规则", reason="NO_RULE")
                if not rule.public:
                    md = {k.lower(): v for k, v in (context.invocation_metadata() or ())}
                    auth = md.get("authorization", "")
                    if not auth.lower().startswith("bearer "):
                        raise Unauthenticated("authentication required", "需要登录认证", reason="UNAUTHENTICATED")
                    if rt.verifier is None:
                        raise Unauthenticated("token verification unavailable", "无法验证令牌", reason="NO_VERIFIER")
                    p = await rt.verifier.verify(auth[7:].strip())
                    if not p.roles & rule.roles:
                        raise PermissionDenied(
                            f"permission denied: {method.rsplit('/', 1)[-1]} needs one of roles "
                            + ", ".join(sorted(rule.roles)),
                            "无权调用该接口",
                            reason="ROLE_NOT_ALLOWED",
                        )
                    current_principal.set(p)
                return await inner(request, context)
            except DomainError as e:
                st = to_status(e)
                await context.abort(st.code, st.details, st.trailing_metadata)
            except (asyncio.CancelledError, grpc.aio.AbortError):
                raise
            except Exception:
                trace_id = telemetry.current_trace_id()
                log.exception("unhandled error in %s (trace %s)", method, trace_id)
                st = internal_status(trace_id)
                await context.abort(st.code, st.details, st.trailing_metadata)

        return grpc.unary_unary_rpc_method_handler(
            guarded,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


async def start_health_server(servicer: health.aio.HealthServicer, host: str, port: int) -> grpc.aio.Server:
    """Only grpc.health.v1, plaintext, for probes (the main port may require mTLS)."""
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    if server.add_insecure_port(f"{host}:{port}") == 0:
        raise RuntimeError(f"cannot listen on health port {port}")
    await server.start()
    return server


class ServiceHost:
    """Runs one service: ``await host.start()`` then ``await host.stop()``; or ``run()`` until a signal."""

    def __init__(self, spec: ServiceSpec, settings: Settings | None = None, *, clients: Clients | None = None) -> None:
        self.spec = spec
        self.settings = settings or get_settings()
        telemetry.configure(spec.name)
        self.runtime = Runtime(
            name=spec.name,
            settings=self.settings,
            db=Database(self.settings.database_url(spec.name)),
            clients=clients or Clients(self.settings),
        )
        rt = self.runtime
        rt.verifier = (
            spec.make_verifier(rt)
            if spec.make_verifier
            else TokenVerifier(identity_key_fetcher(rt.clients), issuer=self.settings.token_issuer)
        )
        self.health = health.aio.HealthServicer()
        self.server = grpc.aio.server(interceptors=[*telemetry.server_interceptors(), _PlatformInterceptor(rt)])
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        spec.register(rt, self.server)
        reflection.enable_server_reflection(
            (*spec.service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
            self.server,
        )
        self.port: int | None = None
        self.health_server: grpc.aio.Server | None = None

    async def _set_health(self, status) -> None:
        for name in ("", *self.spec.service_names):
            await self.health.set(name, status)

    async def start(self, port: int | None = None) -> int:
        port = self.settings.port(self.spec.name) if port is None else port
        self.port = self.server.add_insecure_port(f"{self.settings.listen_host}:{port}")
        if self.port == 0:
            raise RuntimeError(f"cannot listen on port {port}")
        await self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.start()
        if self.settings.health_port:
            self.health_server = await start_health_server(self.health, self.settings.listen_host, self.settings.health_port)
        log.info("%s listening on %s (database %s)", self.spec.name, self.port, safe_url(self.runtime.db.url))
        delay = 0.2
        while True:
            try:
                await self.runtime.db.ping()
                break
            except Exception as e:  # database not reachable yet: stay NOT_SERVING and retry
                log.warning("%s: database not reachable (%s); retrying", self.spec.name, type(e).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        if self.spec.on_start:
            await self.spec.on_start(self.runtime)
        await self._set_health(health_pb2.HealthCheckResponse.SERVING)
        return self.port

    async def stop(self, grace: float | None = None) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(self.settings.grace_seconds if grace is None else grace)
        if self.health_server is not None:
            await self.health_server.stop(0)
        if self.spec.on_stop:
            await self.spec.on_stop(self.runtime)
        await self.runtime.clients.close()
        await self.runtime.db.dispose()

    async def run(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        await stop.wait()
        log.info("%s: shutting down", self.spec.name)
        await self.stop()
        telemetry.shutdown()
