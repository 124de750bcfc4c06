"""Every service is served the same way: one ``grpc.aio`` server with tracing, authentication,
authorisation and error mapping by construction; ``grpc.health.v1`` (SERVING only once the
database answers; ``List`` answered) and server reflection (v1 and v1alpha); graceful shutdown on
SIGTERM/SIGINT; mTLS on the main port (``aicc/platform/tls.py``); one tamper-evident audit record
per RPC (``aicc/platform/audit.py``).

No handler kind is passed through unchecked: unary and streaming handlers, in either direction, go
through the same authentication, authorisation, error mapping and audit (a streaming RPC without a
token is refused like a unary one).

Audit failure policy: a record that cannot be written is logged at CRITICAL with the trace id; a
state-changing RPC (``Rule.mutating``, or an RPC without a rule) then fails with UNAVAILABLE
(reason ``AUDIT_UNAVAILABLE``) — a fault of the service's storage, not of the request, so callers
(the workflow's activities among them) retry it, and a retry of the idempotent request leaves its
record. Its effects may already be committed (the record is written after the handler's own
transaction), but no caller is told "OK" for an unaudited change (the operator reconciles from the
log line). A read or a refusal keeps its own outcome. A response stream that
has already sent messages cannot be taken back: response-streaming RPCs are reads.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, NoReturn, Protocol, TypeVar

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.message import Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2
from sqlalchemy import MetaData
from sqlalchemy.exc import OperationalError

from aicc.platform import anchors, audit, integrity, telemetry, tls
from aicc.platform.auth import Principal, TokenVerifier, current_principal
from aicc.platform.authz import UNAUTHENTICATED_PREFIXES, Rule, rule_for
from aicc.platform.clients import Clients
from aicc.platform.db import Database, refusal_of, safe_url
from aicc.platform.errors import DomainError, PermissionDenied, Unauthenticated, Unavailable
from aicc.platform.files import private_dir
from aicc.platform.readiness import WriteProbe
from aicc.platform.request_guard import check_request, tolerant
from aicc.platform.settings import Settings, get_settings
from aicc.platform.status import code_name, from_downstream, internal_status, to_status

log = logging.getLogger("aicc.server")


@dataclass
class Runtime:
    """What every service's code gets: its settings, its own database, clients to the others."""

    name: str
    settings: Settings
    db: Database
    clients: Clients
    verifier: TokenVerifier | None = None
    # HMAC-SM3 key of this service's audit chain (empty: auditing off, e.g. a bare test Runtime).
    audit_key: bytes = b""
    # Whether the database takes writes (health follows it); None: no probe (a bare test Runtime).
    write_probe: WriteProbe | None = None
    # Writes the signed checkpoints of the chain's head outside the database (aicc/platform/anchors.py).
    anchor: anchors.Anchor | None = None


class ServiceApp(Protocol):
    """One service's composition root, built once per process by its :class:`ServiceSpec`: holds
    the service's typed dependencies (adapters, ciphers, signers) and registers its servicer."""

    def register(self, server: grpc.aio.Server) -> None: ...

    def make_verifier(self) -> TokenVerifier | None:
        """How tokens are verified; None: with identity's published keys (every service but identity)."""
        ...

    async def start(self) -> None:
        """Runs once the database answers, before SERVING (bootstrap accounts, connect Temporal)."""
        ...

    async def stop(self) -> None: ...


class BaseApp:
    """Defaults of :class:`ServiceApp` for a service that needs no start/stop step of its own."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def make_verifier(self) -> TokenVerifier | None:
        return None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


A = TypeVar("A", bound=ServiceApp)


@dataclass(frozen=True)
class ServiceSpec(Generic[A]):
    name: str
    # Fully qualified gRPC service names, for health and reflection.
    service_names: tuple[str, ...]
    build: Callable[[Runtime], A]
    # The service's table models: its protected tables (integrity codes) are sealed at start.
    metadata: MetaData | None = None


def identity_key_fetcher(clients: Clients) -> Callable[[], Awaitable[dict[str, str]]]:
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


def _string_id(request: Any, desc: Any) -> str:
    """A non-empty string field of :data:`OBJECT_FIELDS`, else of any other ``*_id``."""
    named = [desc.fields_by_name.get(name) for name in OBJECT_FIELDS]
    others = [f for f in desc.fields if f.name.endswith("_id")]
    for f in [*named, *others]:
        if f is not None and f.type == f.TYPE_STRING and not f.is_repeated and getattr(request, f.name):
            return str(getattr(request, f.name))
    return ""


def object_of(request: object) -> str:
    """The id of the object a request acts on (:func:`_string_id`); else the same one level down, in a
    message field, as in ``{conclusion: {cycle_id: …}}``."""
    desc = getattr(request, "DESCRIPTOR", None)
    if desc is None:
        return ""
    inner = [
        getattr(request, f.name)
        for f in desc.fields
        if f.type == f.TYPE_MESSAGE and not f.is_repeated and request.HasField(f.name)  # type: ignore[attr-defined]
    ]
    for message in (request, *inner):
        found = _string_id(message, message.DESCRIPTOR)
        if found:
            return found
    return ""


class _FirstMessage:
    """A request stream that remembers its first message (the object a streaming call acts on)."""

    def __init__(self, stream: AsyncIterator[Any]) -> None:
        self._stream = stream
        self.first: object | None = None

    def __aiter__(self) -> _FirstMessage:
        return self

    async def __anext__(self) -> Any:
        item = await self._stream.__anext__()
        check_request(item)  # each message of the stream passes the request guard
        if self.first is None:
            self.first = item
        return item


def login_actor(username: str, outcome: str, key: bytes) -> str:
    """The audit actor of a login: the account name once the login succeeded; for a failure a keyed
    hash (``name-hmac:<16 hex>``): attempts on one name still correlate, and whoever holds the audit
    key can test a name, but a password typed into the username field never lands in the log."""
    if outcome == "OK":
        return username[:128]
    digest = hmac.new(key, b"login-actor\x00" + username.encode(), hashlib.sha256).hexdigest()
    return f"name-hmac:{digest[:16]}"


class _PlatformInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime
        # Appends queue here rather than in SQLite's busy handler (which sleeps in growing steps).
        self._audit_lock = asyncio.Lock()

    # ------------------------------------------------------------------ the steps of every call

    async def _audit(self, method: str, request: object, who: Principal | None, outcome: str) -> bool:
        """Appends the call's audit record in its own short transaction; False (logged) if it failed."""
        rt = self._rt
        if not rt.audit_key:
            return True
        if method == LOGIN:
            actor, roles, city = (
                login_actor(str(getattr(request, "username", "")), outcome, rt.audit_key),
                "",
                "",
            )
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
            async with self._audit_lock:
                async with rt.db.transaction() as session:
                    head = await audit.append(session, rec, rt.audit_key)
                if rt.anchor is not None:
                    self._checkpoint(rt.anchor, head)
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

    @staticmethod
    def _checkpoint(anchor: anchors.Anchor, head: tuple[int, str]) -> None:
        """A checkpoint when one is due; a failure is logged, never the caller's (the next append or
        the shutdown tries again)."""
        try:
            anchor.noted(*head)
        except OSError:
            log.critical(
                "AUDIT CHECKPOINT NOT WRITTEN to %s (record %s)", anchor.path, head[0], exc_info=True
            )

    async def _authenticate(
        self, method: str, rule: Rule | None, context: grpc.aio.ServicerContext
    ) -> Principal | None:
        """Who calls, and whether the authorisation table lets them call this RPC at all."""
        if rule is None:  # deny by default: an RPC nobody declared a rule for
            raise PermissionDenied(
                "no authorisation rule for this RPC", "该接口未配置授权规则", reason="NO_RULE"
            )
        if rule.public:
            return None
        md = {k.lower(): v for k, v in (context.invocation_metadata() or ())}
        auth = md.get("authorization", "")
        if not isinstance(auth, str) or not auth.lower().startswith("bearer "):
            raise Unauthenticated("authentication required", "需要登录认证", reason="UNAUTHENTICATED")
        if self._rt.verifier is None:
            raise Unauthenticated("token verification unavailable", "无法验证令牌", reason="NO_VERIFIER")
        p = await self._rt.verifier.verify(auth[7:].strip())
        current_principal.set(p)
        if not p.roles & rule.roles:
            raise PermissionDenied(
                f"permission denied: {method.rsplit('/', 1)[-1]} needs one of roles "
                + ", ".join(sorted(rule.roles)),
                "无权调用该接口",
                reason="ROLE_NOT_ALLOWED",
            )
        return p

    async def _refuse(
        self, method: str, request: object, exc: BaseException, context: grpc.aio.ServicerContext
    ) -> NoReturn:
        """Maps what a handler raised to one status (the one mapping), audits it, aborts."""
        who = current_principal.get()
        if isinstance(exc, grpc.aio.AbortError):  # the handler aborted with its own status
            await self._audit(method, request, who, code_name(context.code()) or "UNKNOWN")
            raise exc
        if isinstance(exc, asyncio.CancelledError):
            try:
                await self._audit(method, request, who, "CANCELLED")
            finally:
                raise exc
        err: DomainError | None
        if isinstance(exc, DomainError):
            err = exc
        elif isinstance(exc, grpc.aio.AioRpcError):  # a failed call to another service, read once here
            err = from_downstream(exc)
            if err is None:
                log.error(
                    "unexpected %s from a downstream call in %s (trace %s)",
                    exc.code().name,
                    method,
                    telemetry.current_trace_id(),
                )
        elif isinstance(exc, NotImplementedError) and code_name(context.code()) == "UNIMPLEMENTED":
            # a declared RPC whose servicer method is the generated stub's
            await self._audit(method, request, who, "UNIMPLEMENTED")
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "method not implemented")
            raise AssertionError("context.abort returned")  # pragma: no cover - abort always raises
        elif (err := refusal_of(exc)) is not None:
            # The driver's own message for an operational fault (e.g. "read-only transaction"); never
            # the statement or its parameters, which may carry personal data.
            cause = (
                (str(getattr(exc, "orig", "") or "").splitlines() or [""])[0][:200]
                if isinstance(exc, OperationalError)
                else ""
            )
            log.warning(
                "%s from the database (%s: %s) in %s (trace %s) %s",
                err.code.value,
                type(exc).__name__,
                err.reason,
                method,
                telemetry.current_trace_id(),
                cause,
            )
            if isinstance(exc, OperationalError) and self._rt.write_probe is not None:
                self._rt.write_probe.suspect()  # the database may have stopped taking writes
        else:
            err = None
            log.error("unhandled error in %s (trace %s)", method, telemetry.current_trace_id(), exc_info=exc)
        if err is None:
            await self._audit(method, request, who, "INTERNAL")
            st = internal_status(telemetry.current_trace_id())
        else:
            await self._audit(method, request, who, err.code.value)
            st = to_status(err)
        await context.abort(st.code, st.details, st.trailing_metadata)
        raise AssertionError("context.abort returned")  # pragma: no cover - abort always raises

    async def _finish(
        self, method: str, request: object, context: grpc.aio.ServicerContext, mutating: bool
    ) -> None:
        outcome = code_name(context.code()) or "OK"
        ok = await self._audit(method, request, current_principal.get(), outcome)
        if not ok and mutating and outcome == "OK":
            trace_id = telemetry.current_trace_id()
            st = to_status(
                Unavailable(
                    "the change could not be recorded in the audit log and may not have taken effect; "
                    f"check, then try again (trace id {trace_id})",
                    f"本次操作未能写入审计日志，可能未生效；请核实后重试（追踪号 {trace_id}）",
                    reason="AUDIT_UNAVAILABLE",
                )
            )
            await context.abort(st.code, st.details, st.trailing_metadata)

    # ------------------------------------------------------------------ every handler kind

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:  # None when no service has the method (grpc answers UNIMPLEMENTED)
        handler = await continuation(details)
        method: str = details.method
        if handler is None or method.startswith(UNAUTHENTICATED_PREFIXES):
            return handler  # type: ignore[return-value]
        rule = rule_for(method)
        mutating = rule is None or rule.mutating
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, rule, mutating, handler.unary_unary, streaming_request=False),
                request_deserializer=tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                self._unary(method, rule, mutating, handler.stream_unary, streaming_request=True),
                request_deserializer=tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(method, rule, mutating, handler.unary_stream, streaming_request=False),
                request_deserializer=tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.stream_stream is not None:
            return grpc.stream_stream_rpc_method_handler(
                self._streaming(method, rule, mutating, handler.stream_stream, streaming_request=True),
                request_deserializer=tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        raise RuntimeError(f"{method}: a handler of no known kind")  # fail closed, never pass through

    def _unary(
        self,
        method: str,
        rule: Rule | None,
        mutating: bool,
        inner: Callable[..., Any],
        *,
        streaming_request: bool,
    ) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]:
        async def guarded(request: Any, context: grpc.aio.ServicerContext) -> Any:
            current_principal.set(None)
            requests = _FirstMessage(request) if streaming_request else None
            subject = lambda: requests.first if requests is not None else request  # noqa: E731
            try:
                await self._authenticate(method, rule, context)
                if requests is None:
                    check_request(request)
                response = await inner(requests if requests is not None else request, context)
            except BaseException as e:  # every outcome is mapped and audited, none escapes unmapped
                if not isinstance(e, Exception | asyncio.CancelledError):
                    raise
                await self._refuse(method, subject(), e, context)
            await self._finish(method, subject(), context, mutating)
            return response

        return guarded

    def _streaming(
        self,
        method: str,
        rule: Rule | None,
        mutating: bool,
        inner: Callable[..., Any],
        *,
        streaming_request: bool,
    ) -> Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]:
        async def guarded(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            current_principal.set(None)
            requests = _FirstMessage(request) if streaming_request else None
            subject = lambda: requests.first if requests is not None else request  # noqa: E731
            try:
                await self._authenticate(method, rule, context)
                if requests is None:
                    check_request(request)
                result = inner(requests if requests is not None else request, context)
                if inspect.isawaitable(result):  # a handler that writes with context.write()
                    await result
                else:
                    async for item in result:
                        yield item
            except BaseException as e:
                if not isinstance(e, Exception | asyncio.CancelledError):
                    raise
                await self._refuse(method, subject(), e, context)
            await self._finish(method, subject(), context, mutating)

        return guarded


# ---------------------------------------------------------------------- health and reflection

# The health "service" the liveness probe asks for: the process runs and answers (the readiness
# names follow the database, aicc/platform/readiness.py).
LIVENESS = "aicc.liveness"


class HealthServicer(health.aio.HealthServicer):  # type: ignore[name-defined]
    """grpc.health.v1 with ``List`` answered (the reference servicer leaves it unimplemented, which
    logs an ERROR traceback per call)."""

    async def List(
        self, request: health_pb2.HealthListRequest, context: grpc.aio.ServicerContext
    ) -> health_pb2.HealthListResponse:
        return health_pb2.HealthListResponse(
            statuses={
                name: health_pb2.HealthCheckResponse(status=status)
                for name, status in self._server_status.items()
            }
        )


REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"


def _register_reflection_v1_descriptor() -> None:
    """grpc.reflection.v1 is wire-identical to v1alpha (grpcio-reflection ships only v1alpha): its
    descriptor is v1alpha's under the v1 package, added once to the default pool so that clients
    can also describe the v1 service itself."""
    pool = descriptor_pool.Default()
    name = "grpc/reflection/v1/reflection.proto"
    try:
        pool.FindFileByName(name)
        return
    except KeyError:
        pass
    fdp = descriptor_pb2.FileDescriptorProto.FromString(reflection_pb2.DESCRIPTOR.serialized_pb)
    fdp.name = name
    fdp.package = "grpc.reflection.v1"
    fdp.options.Clear()

    def rename(msg: Message) -> None:
        for fd, value in msg.ListFields():
            if fd.type == fd.TYPE_MESSAGE:
                for item in value if fd.is_repeated else [value]:
                    rename(item)
            elif fd.name in ("type_name", "input_type", "output_type") and isinstance(value, str):
                setattr(msg, fd.name, value.replace(".grpc.reflection.v1alpha.", ".grpc.reflection.v1."))

    rename(fdp)
    pool.Add(fdp)


def enable_reflection(server: grpc.aio.Server, service_names: tuple[str, ...]) -> None:
    names = (*service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name)
    _register_reflection_v1_descriptor()
    servicer = reflection.aio.ReflectionServicer((*names, reflection.SERVICE_NAME, REFLECTION_V1))  # type: ignore[attr-defined]
    v1alpha = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(reflection.SERVICE_NAME, {"ServerReflectionInfo": v1alpha}),
            grpc.method_handlers_generic_handler(REFLECTION_V1, {"ServerReflectionInfo": v1alpha}),
        )
    )


async def start_health_server(servicer: HealthServicer, host: str, port: int) -> grpc.aio.Server:
    """Only grpc.health.v1, plaintext, for probes (the main port may require mTLS)."""
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    if server.add_insecure_port(f"{host}:{port}") == 0:
        raise RuntimeError(f"cannot listen on health port {port}")
    await server.start()
    return server


# ---------------------------------------------------------------------- hosting one service


class ServiceHost(Generic[A]):
    """Runs one service: ``await host.start()`` then ``await host.stop()``; or ``run()`` until a signal."""

    def __init__(
        self, spec: ServiceSpec[A], settings: Settings | None = None, *, clients: Clients | None = None
    ) -> None:
        self.spec = spec
        self.settings = settings or get_settings()
        # The data directory (dev secrets, SQLite files, audit key) is the service user's alone.
        private_dir(self.settings.data_dir)
        # Refuse to start before anything else: plaintext outside dev mode, or no audit key.
        self._credentials = tls.server_credentials(self.settings)
        audit_key = audit.load_key(self.settings)
        anchor = anchors.Anchor(
            self.settings,
            spec.name,
            anchors.load_key(self.settings),
            every_records=self.settings.audit_anchor_every_records,
            every_seconds=self.settings.audit_anchor_every_seconds,
        )
        telemetry.configure(spec.name)
        self.runtime = Runtime(
            name=spec.name,
            settings=self.settings,
            db=Database(
                self.settings.database_url(spec.name),
                integrity_key=integrity.service_key(audit_key, spec.name),
            ),
            clients=clients or Clients(self.settings),
            audit_key=audit_key,
            anchor=anchor,
        )
        rt = self.runtime
        self.app: A = spec.build(rt)
        rt.verifier = self.app.make_verifier() or TokenVerifier(
            identity_key_fetcher(rt.clients), issuer=self.settings.token_issuer
        )
        self.health = HealthServicer()
        self.server = grpc.aio.server(
            interceptors=[*telemetry.server_interceptors(), _PlatformInterceptor(rt)]
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.app.register(self.server)
        # Every service's own audit trail, for the audit administrator (aicc/platform/audit_service.py).
        from aicc.audit.v1 import audit_pb2_grpc
        from aicc.platform.audit_service import SERVICE_NAME, AuditServicer
        from aicc.platform.pagination import PageTokens

        audit_pb2_grpc.add_AuditServiceServicer_to_server(
            AuditServicer(rt.db, PageTokens(rt.audit_key)), self.server
        )
        enable_reflection(self.server, (*spec.service_names, SERVICE_NAME))
        self.port: int | None = None
        self.health_server: grpc.aio.Server | None = None
        self._probe_task: asyncio.Task[None] | None = None

    async def _set_health(self, status: health_pb2.HealthCheckResponse.ServingStatus.ValueType) -> None:
        """Readiness: the server ("") and each of its services. Liveness (:data:`LIVENESS`) is set
        SERVING once started and is not taken back by a failing database: restarting the process
        would not make the database take writes."""
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
        await self._seal_unsealed()
        await self.app.start()
        await self.health.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
        await self._start_write_probe()
        return self.port

    async def _start_write_probe(self) -> None:
        """SERVING now — or, with the write probe on, once (and while) the database takes writes."""
        interval = self.settings.write_probe_seconds
        if not interval:
            await self._set_health(health_pb2.HealthCheckResponse.SERVING)
            return

        async def follow(ok: bool) -> None:
            HC = health_pb2.HealthCheckResponse
            await self._set_health(HC.SERVING if ok else HC.NOT_SERVING)

        probe = WriteProbe(
            self.runtime.db,
            service=self.spec.name,
            interval=interval,
            timeout=self.settings.write_probe_timeout_seconds,
            on_change=follow,
        )
        self.runtime.write_probe = probe
        await probe.check()
        self._probe_task = asyncio.create_task(probe.run(), name=f"{self.spec.name}-write-probe")

    async def _seal_unsealed(self) -> None:
        """Integrity codes for rows written before they existed (first start after the migration)."""
        rt, metadata = self.runtime, self.spec.metadata
        if metadata is None or not rt.audit_key:
            return
        key = integrity.service_key(rt.audit_key, self.spec.name)
        async with rt.db.engine.begin() as conn:
            sealed = await conn.run_sync(integrity.seal_unsealed, metadata, key)
        for table, n in sealed.items():
            log.warning("%s: sealed %d rows of %s written before integrity codes", self.spec.name, n, table)

    async def _final_checkpoint(self) -> None:
        """At shutdown: a checkpoint of the chain's head as it is in the database."""
        anchor = self.runtime.anchor
        if anchor is None or not self.runtime.audit_key:
            return
        try:
            async with self.runtime.db.transaction() as session:
                head = await audit.head(session)
            if head is not None:
                anchor.write(head)
        except Exception:
            log.critical("AUDIT CHECKPOINT NOT WRITTEN at shutdown to %s", anchor.path, exc_info=True)

    async def stop(self, grace: float | None = None) -> None:
        await self.health.enter_graceful_shutdown()
        if self._probe_task is not None:
            self._probe_task.cancel()
            await asyncio.gather(self._probe_task, return_exceptions=True)
        await self.server.stop(self.settings.grace_seconds if grace is None else grace)
        if self.health_server is not None:
            await self.health_server.stop(0)
        await self._final_checkpoint()
        await self.app.stop()
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
