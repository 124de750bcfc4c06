"""Temporal is not a side door: on a real Temporal dev server with the real ``CycleWorkflow`` (stand-in
activities under the real names), payloads written through the codec are ciphertext in the history
and in ``temporal workflow show``, and an update forged with the Temporal CLI — which moves a cycle
whose worker has no codec — is refused by a worker with the codec, leaving the cycle where it was
and the workflow running."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from aicc.platform.settings import Settings
from aicc.platform.temporal import CodecKeys, connect, data_converter
from aicc.platform.temporal.codec import BINDING, ENCODING, KEY_ID
from tests.service.test_mtls import write_pki
from tests.workflow.test_cycle_workflow import TWO_CITIES, StandIns, _input
from workflows.cycle import models as m
from workflows.cycle.workflow import CycleWorkflow

BIN = Path(sys.executable).parent
NAME = "济工信字〔2026〕1号"  # the joint recommendation's document number (update and activity payloads)
OPINION = "算力平台服务成效显著，同意推荐"
OFFICIAL = "王审核"
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory):
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"), namespace="default"
    )
    keys_dir = tmp_path_factory.mktemp("codec-keys")
    (keys_dir / "2026-01-01").write_text("00112233445566778899aabbccddeeff")
    target = env.client.service_client.config.target_host
    settings = Settings(
        temporal_address=target, temporal_namespace="default", temporal_codec_keys_dir=keys_dir
    )
    sealed = await connect(settings, tracing=False)
    plain = env.client  # no codec: what anyone reaching Temporal has
    stand = StandIns(TWO_CITIES)
    queues = {"sealed": f"sealed-{uuid.uuid4()}", "plain": f"plain-{uuid.uuid4()}"}
    async with (
        Worker(sealed, task_queue=queues["sealed"], workflows=[CycleWorkflow], activities=stand.all()),
        Worker(plain, task_queue=queues["plain"], workflows=[CycleWorkflow], activities=stand.all()),
    ):
        yield {
            "env": env,
            "target": target,
            "settings": settings,
            "clients": {"sealed": sealed, "plain": plain},
            "queues": queues,
            "stand": stand,
        }
    await env.shutdown()


async def _start_in_city_review(world, kind: str) -> WorkflowHandle:
    """A year whose window closes at once; waits until CITY_REVIEW (both cities have applications)."""
    now = datetime.now(UTC)
    cycle_id = f"{kind}-{uuid.uuid4().hex[:8]}"
    inp = replace(
        _input(cycle_id, now),
        applications_open_at=now.isoformat(),
        applications_close_at=(now + timedelta(seconds=1)).isoformat(),
        city_review_due_at=(now + timedelta(hours=1)).isoformat(),
    )
    handle = await world["clients"][kind].start_workflow(
        CycleWorkflow.run, inp, id=m.workflow_id(cycle_id), task_queue=world["queues"][kind]
    )
    for _ in range(100):
        if (await handle.query(CycleWorkflow.status)).phase == m.Phase.CITY_REVIEW:
            return handle
        await asyncio.sleep(0.1)
    raise AssertionError("never reached CITY_REVIEW")


def _signoff(role: str, *, user: str = "usr_real", name: str = OFFICIAL) -> m.CitySignoff:
    return m.CitySignoff(
        m.Actor(user, name, role),
        "370100",
        "济工信字〔2026〕1号",
        [m.RecommendationItem("app_a", True, OPINION)],
    )


async def _cli(world, *args: str) -> subprocess.CompletedProcess:
    """The Temporal CLI against the test server (in a thread: the workers share this event loop)."""
    return await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "temporal"), *args, "--address", world["target"], "--namespace", "default"],
        capture_output=True,
        text=True,
        timeout=60,
    )


async def _forge(world, workflow_id: str, *input_args: str) -> subprocess.CompletedProcess:
    return await _cli(
        world,
        "workflow",
        "update",
        "execute",
        "--workflow-id",
        workflow_id,
        "--name",
        "sign_city_recommendation",
        *input_args,
    )


FORGED = json.dumps(
    {
        "actor": {"user_id": "usr_forger", "display_name": "伪造者", "role": "city_industry"},
        "city_code": "370100",
        "document_no": "济工信字〔2026〕1号",
        "items": [{"application_id": "app_a", "recommended": True, "opinion": "推荐"}],
    },
    ensure_ascii=False,
)


def _payloads(msg: Message) -> Iterator[Payload]:
    """Every payload in a history event, headers aside (trace context, never a decision), and what
    workflow.patched records (the patch id as a marker and a search attribute, written by the SDK
    core; search attributes are indexed in clear by design, never data)."""
    for fd, value in msg.ListFields():
        if fd.message_type is None or fd.message_type.full_name in (
            "temporal.api.common.v1.Header",
            "temporal.api.history.v1.MarkerRecordedEventAttributes",
            "temporal.api.history.v1.UpsertWorkflowSearchAttributesEventAttributes",
        ):
            continue
        if fd.message_type.GetOptions().map_entry:
            items = list(value.values())
        elif isinstance(value, Message):
            items = [value]
        else:  # a repeated field
            items = list(value)
        for item in items:
            if isinstance(item, Payload):
                yield item
            elif isinstance(item, Message):
                yield from _payloads(item)


async def _history_payloads(world, handle: WorkflowHandle) -> list[Payload]:
    history = await world["clients"]["plain"].get_workflow_handle(handle.id).fetch_history()
    return [p for event in history.events for p in _payloads(event)]


def _forms(text: str) -> tuple[str, str]:
    """The text as it is, and as JSON writes it by default (``\\u7532…``)."""
    return text, json.dumps(text)[1:-1]


def _clear(payloads: list[Payload], *texts: str) -> set[str]:
    return {t for t in texts for p in payloads for form in _forms(t) if form.encode() in p.data}


def _shown(output: str, *texts: str) -> set[str]:
    return {t for t in texts for form in _forms(t) if form in output}


async def test_payloads_are_ciphertext_in_the_history_and_in_temporal_workflow_show(world):
    handles = {kind: await _start_in_city_review(world, kind) for kind in ("sealed", "plain")}
    for kind, handle in handles.items():
        r = (
            await world["clients"][kind]
            .get_workflow_handle(handle.id)
            .execute_update(CycleWorkflow.sign_city_recommendation, _signoff("city_industry"))
        )
        assert r.signed_roles == ["city_industry"]

    # Without the codec, names and opinions are there for anyone to read (the check can fail) ...
    plain = await _history_payloads(world, handles["plain"])
    assert _clear(plain, NAME, OPINION, OFFICIAL) == {NAME, OPINION, OFFICIAL}
    # ... with it, every payload (input, activity inputs and results, the update and its result) is
    # SM4-GCM under a key id, bound to its workflow, and none shows a name or an opinion.
    sealed = await _history_payloads(world, handles["sealed"])
    assert len(sealed) >= 6
    assert {p.metadata["encoding"] for p in sealed} == {ENCODING}
    assert {p.metadata[KEY_ID] for p in sealed} == {b"2026-01-01"}
    assert {p.metadata[BINDING] for p in sealed} == {f"default/{handles['sealed'].id}".encode()}
    assert _clear(sealed, NAME, OPINION, OFFICIAL) == set()

    # The CLI (and the Web UI, which reads the same API) shows ciphertext.
    for kind, h in handles.items():
        shown = await _cli(world, "workflow", "show", "--workflow-id", h.id, "--detailed")
        assert shown.returncode == 0, shown.stderr
        expected = {NAME, OPINION, OFFICIAL} if kind == "plain" else set()
        assert _shown(shown.stdout, NAME, OPINION, OFFICIAL) == expected, kind

    # A worker replays a codec-recorded history with the same data converter (and namespace) only.
    history = await world["clients"]["plain"].get_workflow_handle(handles["sealed"].id).fetch_history()
    keys = CodecKeys(world["settings"].temporal_codec_keys_dir)
    replayed = await Replayer(
        workflows=[CycleWorkflow], data_converter=data_converter(keys), namespace="default"
    ).replay_workflow(history, raise_on_replay_failure=False)
    assert replayed.replay_failure is None
    blind = await Replayer(workflows=[CycleWorkflow], namespace="default").replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert blind.replay_failure is not None


async def test_an_update_forged_with_the_temporal_cli_is_refused_and_the_cycle_does_not_move(world):
    plain = await _start_in_city_review(world, "plain")
    sealed = await _start_in_city_review(world, "sealed")

    # Today's side door, on a worker without the codec: the forged sign-off is accepted.
    proc = await _forge(world, plain.id, "--input", FORGED)
    assert proc.returncode == 0, proc.stderr
    assert await _signers(world, plain) == ["伪造者"]

    # With the codec: refused, for each bureau; nothing recorded, the phase kept, the workflow running.
    for role in ("city_industry", "city_finance"):
        proc = await _forge(world, sealed.id, "--input", FORGED.replace("city_industry", role))
        assert proc.returncode != 0, proc.stdout
        assert "PayloadRefused" in proc.stderr, proc.stderr  # rejected, not left pending
    st = await world["clients"]["sealed"].get_workflow_handle(sealed.id).query(CycleWorkflow.status)
    assert st.phase == m.Phase.CITY_REVIEW
    assert st.counts.cities_recommended == 0
    assert (await sealed.describe()).status == WorkflowExecutionStatus.RUNNING
    # The real bureau signs next and is the first signer (a forged one would make this ALREADY_EXISTS).
    r = (
        await world["clients"]["sealed"]
        .get_workflow_handle(sealed.id)
        .execute_update(CycleWorkflow.sign_city_recommendation, _signoff("city_industry"))
    )
    assert r.signed_roles == ["city_industry"]
    assert not r.complete


async def _signers(world, handle: WorkflowHandle) -> list[str]:
    """Display names of the accepted sign-off updates, as the plain history shows them."""
    history = await world["clients"]["plain"].get_workflow_handle(handle.id).fetch_history()
    out = []
    for event in history.events:
        if event.HasField("workflow_execution_update_accepted_event_attributes"):
            req = event.workflow_execution_update_accepted_event_attributes.accepted_request
            for p in req.input.args.payloads:
                out.append(json.loads(p.data)["actor"]["display_name"])
    return out


async def test_ciphertext_moved_from_another_workflow_or_rebound_is_refused(world):
    a = await _start_in_city_review(world, "sealed")
    b = await _start_in_city_review(world, "sealed")
    client = world["clients"]["sealed"]
    await client.get_workflow_handle(a.id).execute_update(
        CycleWorkflow.sign_city_recommendation, _signoff("city_industry")
    )
    history = await world["clients"]["plain"].get_workflow_handle(a.id).fetch_history()
    (accepted,) = [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.args.payloads[0]
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    data = base64.b64encode(accepted.data).decode()

    def meta(binding: str) -> list[str]:
        out = []
        for k, v in {**{k: v.decode() for k, v in accepted.metadata.items()}, BINDING: binding}.items():
            out += ["--input-meta", f"{k}={v}"]
        return out

    # A's sealed sign-off replayed into B as it is (bound to A), or relabelled for B (tag fails).
    for binding in (f"default/{a.id}", f"default/{b.id}"):
        proc = await _forge(world, b.id, "--input", data, "--input-base64", *meta(binding))
        assert "PayloadRefused" in proc.stderr, proc.stderr
    # Bytes that merely claim to be ours are refused too.
    junk = base64.b64encode(b"\0" * 64).decode()
    proc = await _forge(world, b.id, "--input", junk, "--input-base64", *meta(f"default/{b.id}"))
    assert "PayloadRefused" in proc.stderr, proc.stderr
    st = await client.get_workflow_handle(b.id).query(CycleWorkflow.status)
    assert st.phase == m.Phase.CITY_REVIEW
    r = await client.get_workflow_handle(b.id).execute_update(
        CycleWorkflow.sign_city_recommendation, _signoff("city_industry")
    )
    assert r.signed_roles == ["city_industry"]


# ---------------------------------------------------------------- mTLS to Temporal


class TlsFrontend:
    """A TLS frontend in front of the dev server (which has no TLS of its own), as a cluster's is:
    requires a client certificate from the CA, speaks HTTP/2 (ALPN h2), forwards the bytes."""

    def __init__(self, pki: dict[str, Path], backend: str) -> None:
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki["ca.pem"]))
        self.ctx.load_cert_chain(str(pki["server.pem"]), str(pki["server-key.pem"]))
        self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.ctx.set_alpn_protocols(["h2"])
        self.backend = backend.rsplit(":", 1)
        self.handshakes: list[str] = []

    async def __aenter__(self) -> TlsFrontend:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ctx)
        self.address = f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peercert") or {}
        self.handshakes.append(dict(x[0] for x in peer.get("subject", ()))["commonName"])
        up_reader, up_writer = await asyncio.open_connection(self.backend[0], int(self.backend[1]))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_intake_and_the_worker_reach_temporal_over_mtls_when_configured(world, tmp_path):
    pki = write_pki(tmp_path / "pki")
    async with TlsFrontend(pki, world["target"]) as frontend:
        settings = world["settings"].model_copy(
            update={
                "temporal_address": frontend.address,
                "temporal_tls_cert_file": pki["client.pem"],
                "temporal_tls_key_file": pki["client-key.pem"],
                "temporal_tls_ca_file": pki["ca.pem"],
                "temporal_tls_server_name": "aicc-identity",  # a name the frontend's certificate carries
            }
        )
        client = await connect(settings, attempts=1, tracing=False)
        handle = client.get_workflow_handle_for(
            CycleWorkflow.run, (await _start_in_city_review(world, "sealed")).id
        )
        assert (await handle.query(CycleWorkflow.status)).phase == m.Phase.CITY_REVIEW
        assert "aicc-worker" in frontend.handshakes  # the client certificate was presented and verified
        # A certificate from another CA does not get through.
        stranger = settings.model_copy(
            update={
                "temporal_tls_cert_file": pki["stranger.pem"],
                "temporal_tls_key_file": pki["stranger-key.pem"],
            }
        )
        with pytest.raises(RuntimeError):
            await connect(stranger, attempts=1, tracing=False)
