"""Records the history of a real cycle for the replay test: fetches workflow ``cycle-<cycle id>``
from the Temporal of a running suite, decodes every payload with the suite's codec keys, checks
that the decoded history replays on the current workflow code, and writes it as JSON.

    aicc up                      # one terminal (or attach to any suite: the AICC_* settings say where)
    aicc demo                    # another: drives demo-<year>-1 to CLOSED
    AICC_DEV_MODE=true .venv/bin/python tools/record_history.py --cycle demo-2026-1 \\
        --out tests/workflow/histories/v3-demo-year.json

Why decoded: every payload a suite writes is SM4-GCM sealed and bound to its namespace and workflow
(ADR 0007). Replaying a sealed history needs the same keys and namespace; a committed history must
replay in ``make test`` on any machine, without a suite's keys. The payloads are stored as the plain
JSON the codec sealed, which is what the replayer reads with the default data converter. So record
only years of demo or test data (names, opinions and scores are in the file in clear), never a
real year. Headers (trace context) are kept as they were; the workflow id, type and timestamps
were never encrypted.

Settings come from the environment as for every aicc process (``AICC_DEV_MODE=true`` with the
suite's ``AICC_DATA_DIR`` finds the dev codec key of ``aicc up``; ``AICC_TEMPORAL_CODEC_KEYS_DIR``
a deployment's; ``AICC_TEMPORAL_*`` the
address, namespace and mTLS).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from aicc.platform.settings import get_settings
from aicc.platform.temporal import connect, keys_from_settings
from aicc.platform.temporal.codec import ENCODING, CodecKeys, PayloadRefused, Sm4GcmCodec
from workflows.cycle.models import workflow_id
from workflows.cycle.workflow import CycleWorkflow

PAYLOAD = Payload.DESCRIPTOR.full_name


def _messages(fd: FieldDescriptor, value: object) -> list[Message]:
    """The messages a set field holds (one, a repeated field's, a map's values)."""
    entry = fd.message_type
    if entry is not None and entry.GetOptions().map_entry:
        if entry.fields_by_name["value"].message_type is None:
            return []
        return list(value.values())  # type: ignore[attr-defined]
    if fd.is_repeated:
        return list(value)  # type: ignore[call-overload]
    return [value]  # type: ignore[list-item]


def open_payloads(msg: Message, codec: Sm4GcmCodec) -> int:
    """Replaces, in place, every payload the codec sealed anywhere in ``msg`` (event attributes,
    failures' encoded attributes, maps) by the payload it sealed; returns how many. A sealed payload
    the keys cannot open (another installation's, altered, another workflow's) raises."""
    opened = 0
    for fd, value in msg.ListFields():
        if fd.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        for m in _messages(fd, value):
            if m.DESCRIPTOR.full_name == PAYLOAD:
                p: Payload = m  # type: ignore[assignment]
                if p.metadata.get("encoding") == ENCODING:
                    p.CopyFrom(codec.open(p))
                    opened += 1
            else:
                opened += open_payloads(m, codec)
    return opened


async def decoded_history(cycle_id: str, keys: CodecKeys | None = None) -> tuple[WorkflowHistory, int]:
    """The cycle's history from the suite's Temporal, every sealed payload opened."""
    settings = get_settings()
    keys = keys or keys_from_settings(settings)
    client = await connect(settings, keys=keys, attempts=5, tracing=False)
    wid = workflow_id(cycle_id)
    history = await client.get_workflow_handle(wid).fetch_history()
    codec = Sm4GcmCodec(keys, f"{settings.temporal_namespace}/{wid}")
    opened = sum(open_payloads(event, codec) for event in history.events)
    return history, opened


async def replay(history: WorkflowHistory) -> None:
    """Raises unless the history replays on the current workflow code without a codec."""
    result = await Replayer(workflows=[CycleWorkflow]).replay_workflow(history, raise_on_replay_failure=True)
    if result.replay_failure is not None:
        raise result.replay_failure


async def completed_history(cycle_id: str) -> tuple[WorkflowHistory, int]:
    """The decoded history of a finished year that replays on the current code."""
    history, opened = await decoded_history(cycle_id)
    if not history.events[-1].HasField("workflow_execution_completed_event_attributes"):
        raise SystemExit(f"cycle {cycle_id}: its workflow has not completed; record a finished year")
    await replay(history)
    return history, opened


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cycle", required=True, help="the cycle id, e.g. demo-2026-1")
    p.add_argument("--out", type=Path, required=True, help="the JSON file to write")
    args = p.parse_args(argv)
    try:
        history, opened = asyncio.run(completed_history(args.cycle))
    except PayloadRefused as e:
        print(f"a payload of {args.cycle} cannot be decoded with these codec keys: {e}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(history.to_json(), encoding="utf-8")
    print(
        f"{args.out}: {len(history.events)} events, {opened} payloads decoded, replays on the current workflow"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
