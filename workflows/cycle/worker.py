"""The Temporal worker for the cycle workflow and its activities (``aicc worker``)."""

from __future__ import annotations

import asyncio
import logging
import signal

from temporalio.client import Client
from temporalio.worker import Worker

from aicc.platform import telemetry, temporal
from aicc.platform.clients import Clients
from aicc.platform.settings import Settings
from workflows.cycle.activities import CycleActivities, ServiceAccountToken
from workflows.cycle.workflow import CycleWorkflow

log = logging.getLogger("aicc.worker")


async def connect(settings: Settings, *, attempts: int = 60) -> Client:
    """Connects to Temporal the one way every aicc process does (``aicc.platform.temporal``): the
    payload codec, the OpenTelemetry plugin, mTLS when configured; retrying while the server starts."""
    return await temporal.connect(settings, attempts=attempts)


def build_worker(client: Client, settings: Settings, clients: Clients) -> Worker:
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=[CycleWorkflow],
        activities=CycleActivities(clients).all(),
    )


async def run(settings: Settings) -> None:
    from aicc.platform.tls import require_transport

    require_transport(settings)  # refuse plaintext outside dev mode before doing anything
    telemetry.configure("worker", replay_safe=True)
    client = await connect(settings)
    token = ServiceAccountToken(settings)
    clients = Clients(settings, token_source=token)
    worker = build_worker(client, settings, clients)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    health_server = None
    status = None
    if settings.health_port:
        from grpc_health.v1 import health_pb2

        from aicc.platform.server import HealthServicer, start_health_server

        status = HealthServicer()
        health_server = await start_health_server(status, settings.listen_host, settings.health_port)
    async with worker:
        log.info(
            "worker polling task queue %s in namespace %s",
            settings.temporal_task_queue,
            settings.temporal_namespace,
        )
        if status is not None:
            await status.set("", health_pb2.HealthCheckResponse.SERVING)
        await stop.wait()
        log.info("worker: shutting down")
        if status is not None:
            await status.enter_graceful_shutdown()
    if health_server is not None:
        await health_server.stop(0)
    await clients.close()
    await token.close()
    telemetry.shutdown()
