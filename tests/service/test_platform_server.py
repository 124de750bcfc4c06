"""The platform server: every handler kind goes through authentication, authorisation, error mapping
and audit; health List is answered; server reflection speaks v1 as well as v1alpha."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

from aicc.platform import audit, authz
from aicc.platform.clients import open_channel, static_token
from aicc.platform.errors import NotFound
from aicc.platform.server import BaseApp, Runtime, ServiceHost, ServiceSpec
from aicc.platform.status import read_error
from tests.support.suite import InProcessSuite, suite_settings

PROBE = "aicc.test.v1.Probe"
KINDS = ("UnaryUnary", "UnaryStream", "StreamUnary", "StreamStream")
Msg = health_pb2.HealthCheckRequest  # any message will do: {service: str}


class ProbeApp(BaseApp):
    """A service with one RPC of each handler kind (the suite's own streaming RPCs come later)."""

    def register(self, server: grpc.aio.Server) -> None:
        async def unary_unary(req: Msg, ctx: grpc.aio.ServicerContext) -> Msg:
            if req.service == "missing":
                raise NotFound("no such thing", "不存在", reason="THING_NOT_FOUND")
            return Msg(service="uu:" + req.service)

        async def unary_stream(req: Msg, ctx: grpc.aio.ServicerContext) -> AsyncIterator[Msg]:
            for i in range(3):
                yield Msg(service=f"us{i}:{req.service}")
            if req.service == "boom":
                raise RuntimeError("secret internal detail")

        async def stream_unary(reqs: AsyncIterator[Msg], ctx: grpc.aio.ServicerContext) -> Msg:
            return Msg(service="su:" + ",".join([r.service async for r in reqs]))

        async def stream_stream(
            reqs: AsyncIterator[Msg], ctx: grpc.aio.ServicerContext
        ) -> AsyncIterator[Msg]:
            async for r in reqs:
                yield Msg(service="ss:" + r.service)

        kw = {"request_deserializer": Msg.FromString, "response_serializer": Msg.SerializeToString}
        server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(
                    PROBE,
                    {
                        "UnaryUnary": grpc.unary_unary_rpc_method_handler(unary_unary, **kw),
                        "UnaryStream": grpc.unary_stream_rpc_method_handler(unary_stream, **kw),
                        "StreamUnary": grpc.stream_unary_rpc_method_handler(stream_unary, **kw),
                        "StreamStream": grpc.stream_stream_rpc_method_handler(stream_stream, **kw),
                        "Undeclared": grpc.unary_unary_rpc_method_handler(unary_unary, **kw),
                    },
                ),
            )
        )


def _build(rt: Runtime) -> ProbeApp:
    return ProbeApp(rt)


@pytest.fixture
async def probe(tmp_path, monkeypatch):
    for kind in KINDS:  # readable by province industry only
        monkeypatch.setitem(authz.RULES, f"/{PROBE}/{kind}", authz._r(authz.PROVINCE_INDUSTRY))
    settings = suite_settings(tmp_path)
    async with InProcessSuite(settings, services=["identity"]) as suite:
        # The probe keeps its audit chain in its own database, like a service.
        host = ServiceHost(ServiceSpec("supervision", (PROBE,), _build), settings)
        from aicc.cli.registry import migrate

        migrate("supervision", settings.database_url("supervision"))
        await host.start()
        try:
            yield suite, host
        finally:
            await host.stop(0)


def _calls(channel: grpc.aio.Channel, token: str | None):
    md = (("authorization", f"Bearer {token}"),) if token else None
    kw = {"request_serializer": Msg.SerializeToString, "response_deserializer": Msg.FromString}

    def stream() -> AsyncIterator[Msg]:
        async def gen() -> AsyncIterator[Msg]:
            for s in ("a", "b"):
                yield Msg(service=s)

        return gen()

    async def uu(service: str = "x") -> list[str]:
        r = await channel.unary_unary(f"/{PROBE}/UnaryUnary", **kw)(Msg(service=service), metadata=md)
        return [r.service]

    async def us(service: str = "x") -> list[str]:
        return [
            r.service
            async for r in channel.unary_stream(f"/{PROBE}/UnaryStream", **kw)(
                Msg(service=service), metadata=md
            )
        ]

    async def su() -> list[str]:
        r = await channel.stream_unary(f"/{PROBE}/StreamUnary", **kw)(stream(), metadata=md)
        return [r.service]

    async def ss() -> list[str]:
        return [
            r.service
            async for r in channel.stream_stream(f"/{PROBE}/StreamStream", **kw)(stream(), metadata=md)
        ]

    return {"UnaryUnary": uu, "UnaryStream": us, "StreamUnary": su, "StreamStream": ss}


async def _audit_outcomes(host: ServiceHost) -> list[tuple[str, str]]:
    async with host.runtime.db.transaction() as s:
        rows = await audit.read_all(s)
    return [(r["action"].rsplit("/", 1)[-1], r["outcome"]) for r in rows]


@pytest.mark.parametrize("kind", KINDS)
async def test_every_handler_kind_refuses_a_call_without_a_token_and_audits_it(probe, kind):
    suite, host = probe
    ch = open_channel(f"127.0.0.1:{host.port}")
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await _calls(ch, None)[kind]()
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert (kind, "UNAUTHENTICATED") in await _audit_outcomes(host)
    await ch.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_every_handler_kind_checks_the_role_then_answers(probe, kind):
    suite, host = probe
    ident = await suite.admin()
    from aicc.identity.v1 import identity_pb2 as ipb

    for name, role in (("prov", "province_industry"), ("fin", "province_finance")):
        await ident.CreateUser(
            ipb.CreateUserRequest(username=name, display_name=name, password="pw-123456789", roles=[role])
        )
    ch = open_channel(f"127.0.0.1:{host.port}")
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await _calls(ch, await suite.login("fin", "pw-123456789"))[kind]()
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    answer = await _calls(ch, await suite.login("prov", "pw-123456789"))[kind]()
    assert answer
    assert all(":" in a for a in answer)
    outcomes = await _audit_outcomes(host)
    assert (kind, "PERMISSION_DENIED") in outcomes
    assert (kind, "OK") in outcomes
    await ch.close()


async def test_errors_in_a_stream_are_mapped_without_leaking(probe, caplog):
    suite, host = probe
    ident = await suite.admin()
    from aicc.identity.v1 import identity_pb2 as ipb

    await ident.CreateUser(
        ipb.CreateUserRequest(
            username="prov", display_name="prov", password="pw-123456789", roles=["province_industry"]
        )
    )
    calls = _calls(open_channel(f"127.0.0.1:{host.port}"), await suite.login("prov", "pw-123456789"))
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await calls["UnaryUnary"]("missing")
    err = read_error(e.value)
    assert err.code == grpc.StatusCode.NOT_FOUND
    assert err.reason == "THING_NOT_FOUND"
    assert err.message_zh == "不存在"
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await calls["UnaryStream"]("boom")
    assert e.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in (e.value.details() or "")
    assert ("UnaryStream", "INTERNAL") in await _audit_outcomes(host)


async def test_an_rpc_without_a_rule_is_refused(probe):
    suite, host = probe
    ch = open_channel(f"127.0.0.1:{host.port}")
    call = ch.unary_unary(
        f"/{PROBE}/Undeclared", request_serializer=Msg.SerializeToString, response_deserializer=Msg.FromString
    )
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(Msg(service="x"))
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert read_error(e.value).reason == "NO_RULE"
    await ch.close()


async def test_health_list_is_answered_without_an_error_in_the_log(probe, caplog):
    suite, host = probe
    caplog.set_level(logging.DEBUG)
    ch = open_channel(f"127.0.0.1:{host.port}")
    resp = await health_pb2_grpc.HealthStub(ch).List(health_pb2.HealthListRequest())
    assert resp.statuses[PROBE].status == health_pb2.HealthCheckResponse.SERVING
    assert resp.statuses[""].status == health_pb2.HealthCheckResponse.SERVING
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    await ch.close()


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
async def test_reflection_speaks_v1_and_v1alpha(probe, version):
    suite, host = probe
    ch = open_channel(suite.settings.address("identity"))
    method = f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo"
    call = ch.stream_stream(
        method,
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )

    async def asks() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
        yield reflection_pb2.ServerReflectionRequest(list_services="")
        yield reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="aicc.identity.v1.IdentityService"
        )
        yield reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="grpc.reflection.v1.ServerReflection"
        )

    answers = [a async for a in call(asks())]
    names = {s.name for s in answers[0].list_services_response.service}
    assert {"aicc.identity.v1.IdentityService", "grpc.health.v1.Health"} <= names
    assert {"grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"} <= names
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(b).name
        for a in answers[1:]
        for b in a.file_descriptor_response.file_descriptor_proto
    ]
    assert "aicc/identity/v1/identity.proto" in files
    assert "grpc/reflection/v1/reflection.proto" in files
    await ch.close()


async def test_a_client_channel_attaches_its_token_to_streaming_calls_too(probe):
    suite, host = probe
    ident = await suite.admin()
    from aicc.identity.v1 import identity_pb2 as ipb

    await ident.CreateUser(
        ipb.CreateUserRequest(
            username="prov", display_name="prov", password="pw-123456789", roles=["province_industry"]
        )
    )
    ch = open_channel(f"127.0.0.1:{host.port}", static_token(await suite.login("prov", "pw-123456789")))
    kw = {"request_serializer": Msg.SerializeToString, "response_deserializer": Msg.FromString}
    got = [r.service async for r in ch.unary_stream(f"/{PROBE}/UnaryStream", **kw)(Msg(service="t"))]
    assert got == ["us0:t", "us1:t", "us2:t"]

    async def two() -> AsyncIterator[Msg]:
        yield Msg(service="p")
        yield Msg(service="q")

    assert (await ch.stream_unary(f"/{PROBE}/StreamUnary", **kw)(two())).service == "su:p,q"
    await ch.close()
