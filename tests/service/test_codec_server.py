"""``aicc codec-server`` over real HTTP with tokens from a real identity: decodes for an auditor or an
operator (each decode audited with the actor), refuses without a token, with a bad one or another
role, never encodes, and answers CORS only for the configured Temporal UI origin."""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import logging

import pytest
import pytest_asyncio
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import WorkflowSerializationContext

from aicc.identity.v1 import identity_pb2 as ipb
from aicc.platform.temporal import data_converter, keys_from_settings
from aicc.platform.temporal.codec_server import CodecServer
from tests.support.suite import InProcessSuite, suite_settings

UI = "http://127.0.0.1:8233"
PASSWORD = "codec-server-test-password-1"
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory):
    settings = suite_settings(tmp_path_factory.mktemp("codec-server"), codec_server_cors_origins=UI)
    async with InProcessSuite(settings, services=["identity"]) as suite:
        op = await suite.admin()
        for username, role in (("aud", "auditor"), ("ind", "province_industry")):
            await op.CreateUser(
                ipb.CreateUserRequest(
                    username=username, display_name=username, password=PASSWORD, roles=[role]
                )
            )
        server = CodecServer(settings, port=0).start()  # dev mode: the suite's generated codec key
        try:
            yield {
                "server": server,
                "keys": keys_from_settings(settings),
                "tokens": {
                    "auditor": await suite.login("aud", PASSWORD),
                    "system_admin": await suite.admin_token("system_admin"),
                    "audit_admin": await suite.admin_token("audit_admin"),
                    "province_industry": await suite.login("ind", PASSWORD),
                },
            }
        finally:
            server.stop()


async def _post(world, path: str, body: dict | None, headers: dict[str, str], method: str = "POST"):
    """(status, headers, JSON body) of one request (in a thread: identity answers on this loop)."""

    def call():
        host, port = world["server"].address
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json", **headers})
            r = conn.getresponse()
            raw = r.read()
            return r.status, dict(r.getheaders()), json.loads(raw) if raw else None
        finally:
            conn.close()

    return await asyncio.to_thread(call)


def _bearer(world, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world['tokens'][role]}"}


async def _sealed(world, value: object) -> dict:
    dc = data_converter(world["keys"]).with_context(
        WorkflowSerializationContext(namespace="default", workflow_id="cycle-2026")
    )
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"note":"written without the codec"}')
    return json_format.MessageToDict(Payloads(payloads=[*(await dc.encode([value])), plain]))


@pytest.mark.parametrize("role", ["auditor"])
async def test_the_auditor_reads_payloads_and_each_decode_is_audited(world, role, caplog):
    body = await _sealed(world, {"opinion": "同意推荐", "city_code": "370100"})
    caplog.set_level(logging.INFO, logger="aicc.codec_server")
    status, _, out = await _post(world, "/decode", body, {**_bearer(world, role), "X-Namespace": "default"})
    assert status == 200, out
    first, second = out["payloads"]
    assert base64.b64decode(first["metadata"]["encoding"]) == b"json/plain"
    assert json.loads(base64.b64decode(first["data"])) == {"opinion": "同意推荐", "city_code": "370100"}
    # a payload the codec did not write is shown as refused, not passed off as ours
    assert json.loads(base64.b64decode(second["data"]))["aicc_refused"].startswith("not encrypted")
    (line,) = [r.getMessage() for r in caplog.records if "audit codec decode" in r.getMessage()]
    assert f"username=aud roles={role}" in line
    assert "namespace=default payloads=2 refused=1 key_ids=0000-dev" in line


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer not-a-token"}, 401),
        ({"Authorization": "Basic b3BlcmF0b3I6cGFzcw=="}, 401),
        ("province_industry", 403),
        # 三员分立: payloads are business content; no administrator reads them.
        ("system_admin", 403),
        ("audit_admin", 403),
    ],
)
async def test_decoding_without_a_token_with_a_bad_one_or_another_role_is_refused(
    world, headers, status, caplog
):
    if isinstance(headers, str):
        headers = _bearer(world, headers)
    caplog.set_level(logging.INFO, logger="aicc.codec_server")
    code, response_headers, out = await _post(world, "/decode", await _sealed(world, {"x": 1}), headers)
    assert code == status
    assert "payloads" not in out
    assert out["error"]
    if status == 401:
        assert response_headers["WWW-Authenticate"] == "Bearer"
    assert not [r for r in caplog.records if "audit codec decode" in r.getMessage()]


async def test_it_never_encodes(world, caplog):
    caplog.set_level(logging.INFO, logger="aicc.codec_server")
    body = {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "e30="}]}
    status, _, out = await _post(world, "/encode", body, _bearer(world, "auditor"))
    assert status == 403
    assert "only decodes" in out["error"]
    assert any("audit codec encode refused by" in r.getMessage() for r in caplog.records)


async def test_cors_answers_the_temporal_ui_origin_only(world):
    status, headers, _ = await _post(world, "/decode", None, {"Origin": UI}, method="OPTIONS")
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == UI
    assert "Authorization" in headers["Access-Control-Allow-Headers"]
    status, headers, _ = await _post(
        world, "/decode", None, {"Origin": "https://evil.example"}, method="OPTIONS"
    )
    assert status == 403
    assert "Access-Control-Allow-Origin" not in headers
    # and a request from another origin is refused even with a good token
    body = await _sealed(world, {"x": 1})
    status, _, out = await _post(
        world, "/decode", body, {**_bearer(world, "auditor"), "Origin": "https://evil.example"}
    )
    assert status == 403
    assert "payloads" not in out
    status, headers, _ = await _post(world, "/decode", body, {**_bearer(world, "auditor"), "Origin": UI})
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == UI
