"""Every service is served the same way: one ``grpc.aio`` server with tracing, authentication,
authorisation and error mapping by construction; ``grpc.health.v1`` (SERVING only once the
database answers) and reflection; graceful shutdown on SIGTERM/SIGINT; mTLS on the main port
(``aicc/platform/tls.py``); one tamper-evident audit record per RPC (``aicc/platform/audit.py``).

Audit failure policy: a record that cannot be written is logged at CRITICAL with the trace id; a
state-changing RPC (``Rule.mutating``, or an RPC without a rule) then fails with INTERNAL — its
effects may already be committed, but no caller is told "OK" for an unaudited change (the operator
reconciles from the log line). A read or a refusal keeps its own outcome."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from aicc.platform import audit, telemetry, tls
from aicc.platform.auth import Principal, TokenVerifier, current_principal
from aicc.platform.authz import UNAUTHENTICATED_PREFIXES, rule_for
from aicc.platform.clients import Clients
from aicc.platform.db import Database, safe_url
from aicc.platform.errors import (
    DomainError,
    PermissionDenied,
    Unauthenticated,
    from_downstream,
    internal_status,
    to_status,
)
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
    # HMAC-SM3 key of this service's audit chain (empty: auditing off, e.g. a bare test Runtime).
    audit_key: bytes = b""


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


# The request field naming the object an RPC acts on, most specific first; else any other ``*_id``.
OBJECT_FIELDS = (
    "objection_id",
    "assignment_id",
    "target_id",
    "application_id",
    "user_id",
    "expert_user_id",
    "organization_id",
    "cycle_id",
)
LOGIN = "/aicc.identity.v1.IdentityService/Login"


def object_of(request) -> str:
    desc = getattr(request, "DESCRIPTOR", None)
    if desc is None:
        return ""
    for name in OBJECT_FIELDS:
        f = desc.fields_by_name.get(name)
        if f is not None and f.type == f.TYPE_STRING and not f.is_repeated:
            value = getattr(request, name)
            if value:
                return value
    for f in desc.fields:
        if f.name.endswith("_id") and f.type == f.TYPE_STRING and not f.is_repeated:
            value = getattr(request, f.name)
            if value:
                return value
    return ""


def _code_name(code) -> str | None:
    if code is None:
        return None
    if isinstance(code, grpc.StatusCode):
        return code.name
    for c in grpc.StatusCode:
        if c.value[0] == code:
            return c.name
    return "UNKNOWN"


class _PlatformInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime
        # Appends queue here rather than in SQLite's busy handler (which sleeps in growing steps).
        self._audit_lock = asyncio.Lock()

    async def _audit(self, method: str, request, who: Principal | None, outcome: str) -> bool:
        """Appends the call's audit record in its own short transaction; False (logged) if it failed."""
        rt = self._rt
        if not rt.audit_key:
            return True
        if method == LOGIN:
            actor, roles, city = str(getattr(request, "username", ""))[:128], "", ""
        elif who is not None:
            actor, roles, city = who.user_id, ",".join(sorted(who.roles)), who.city_code
        else:
            actor, roles, city = "", "", ""
        trace_id = telemetry.current_trace_id()
        try:
            rec = audit.AuditRecord(
                actor=actor,
                roles=roles,
                city=city,
                action=method,
                object_id=object_of(request),
                outcome=outcome,
                trace_id="" if trace_id == "-" else trace_id,
            )
            async with self._audit_lock, rt.db.transaction() as session:
                await audit.append(session, rec, rt.audit_key)
            return True
        except Exception:
            log.critical(
                "AUDIT RECORD NOT WRITTEN: %s outcome %s actor %r (trace %s)",
                method,
                outcome,
                actor,
                trace_id,
                exc_info=True,
            )
            return False

    async def intercept_service(self, continuation, details):
        handler = await continuation(details)
        method = details.method
        if handler is None or method.startswith(UNAUTHENTICATED_PREFIXES) or handler.unary_unary is None:
            return handler
        rule = rule_for(method)
        mutating = rule is None or rule.mutating
        inner = handler.unary_unary
        rt = self._rt

        async def guarded(request, context: grpc.aio.ServicerContext):
            who: Principal | None = None
            try:
                if rule is None:  # deny by default: an RPC nobody declared a rule for
                    raise PermissionDenied(
                        "no authorisation rule for this RPC", "该接口未配置授权规则", reason="NO_RULE"
                    )
                if not rule.public:
                    md = {k.lower(): v for k, v in (context.invocation_metadata() or ())}
                    auth = md.get("authorization", "")
                    if not auth.lower().startswith("bearer "):
                        raise Unauthenticated(
                            "authentication required", "需要登录认证", reason="UNAUTHENTICATED"
                        )
                    if rt.verifier is None:
                        raise Unauthenticated(
                            "token verification unavailable", "无法验证令牌", reason="NO_VERIFIER"
                        )
                    p = await rt.verifier.verify(auth[7:].strip())
                    who = p
                    if not p.roles & rule.roles:
                        raise PermissionDenied(
                            f"permission denied: {method.rsplit('/', 1)[-1]} needs one of roles "
                            + ", ".join(sorted(rule.roles)),
                            "无权调用该接口",
                            reason="ROLE_NOT_ALLOWED",
                        )
                    current_principal.set(p)
                response = await inner(request, context)
            except (DomainError, grpc.aio.AioRpcError) as e:
                # A failed call to another service is read once, here, for every service.
                err = e if isinstance(e, DomainError) else from_downstream(e)
                if err is None:
                    trace_id = telemetry.current_trace_id()
                    log.error(
                        "unexpected %s from a downstream call in %s (trace %s)",
                        e.code().name,
                        method,
                        trace_id,
                    )
                    await self._audit(method, request, who, "INTERNAL")
                    st = internal_status(trace_id)
                else:
                    await self._audit(method, request, who, err.code.name)
                    st = to_status(err)
                await context.abort(st.code, st.details, st.trailing_metadata)
            except grpc.aio.AbortError:  # the handler aborted with its own status
                await self._audit(method, request, who, _code_name(context.code()) or "UNKNOWN")
                raise
            except asyncio.CancelledError:
                try:
                    await self._audit(method, request, who, "CANCELLED")
                finally:
                    raise
            except Exception:
                trace_id = telemetry.current_trace_id()
                log.exception("unhandled error in %s (trace %s)", method, trace_id)
                await self._audit(method, request, who, "INTERNAL")
                st = internal_status(trace_id)
                await context.abort(st.code, st.details, st.trailing_metadata)
            else:
                outcome = _code_name(context.code()) or "OK"
                if not await self._audit(method, request, who, outcome) and mutating and outcome == "OK":
                    st = internal_status(telemetry.current_trace_id())
                    await context.abort(st.code, st.details, st.trailing_metadata)
                return response

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

    def __init__(
        self, spec: ServiceSpec, settings: Settings | None = None, *, clients: Clients | None = None
    ) -> None:
        self.spec = spec
        self.settings = settings or get_settings()
        # Refuse to start before anything else: plaintext outside dev mode, or no audit key.
        self._credentials = tls.server_credentials(self.settings)
        audit_key = audit.load_key(self.settings)
        telemetry.configure(spec.name)
        self.runtime = Runtime(
            name=spec.name,
            settings=self.settings,
            db=Database(self.settings.database_url(spec.name)),
            clients=clients or Clients(self.settings),
            audit_key=audit_key,
        )
        rt = self.runtime
        rt.verifier = (
            spec.make_verifier(rt)
            if spec.make_verifier
            else TokenVerifier(identity_key_fetcher(rt.clients), issuer=self.settings.token_issuer)
        )
        self.health = health.aio.HealthServicer()
        self.server = grpc.aio.server(
            interceptors=[*telemetry.server_interceptors(), _PlatformInterceptor(rt)]
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        spec.register(rt, self.server)
        reflection.enable_server_reflection(
            (
                *spec.service_names,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ),
            self.server,
        )
        self.port: int | None = None
        self.health_server: grpc.aio.Server | None = None

    async def _set_health(self, status) -> None:
        for name in ("", *self.spec.service_names):
            await self.health.set(name, status)

    async def start(self, port: int | None = None) -> int:
        port = self.settings.port(self.spec.name) if port is None else port
        address = f"{self.settings.listen_host}:{port}"
        if self._credentials is not None:
            self.port = self.server.add_secure_port(address, self._credentials)
        else:
            self.port = self.server.add_insecure_port(address)
        if self.port == 0:
            raise RuntimeError(f"cannot listen on port {port}")
        await self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.start()
        if self.settings.health_port:
            self.health_server = await start_health_server(
                self.health, self.settings.listen_host, self.settings.health_port
            )
        log.info(
            "%s listening on %s (%s, database %s)",
            self.spec.name,
            self.port,
            "mTLS" if self._credentials is not None else "plaintext, dev mode",
            safe_url(self.runtime.db.url),
        )
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
