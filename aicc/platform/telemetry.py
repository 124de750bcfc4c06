"""OpenTelemetry from the standard ``OTEL_*`` variables: one tracer provider per process; an OTLP
exporter only when an endpoint is configured (otherwise spans still carry context, nothing is sent).
Request and response payloads are never recorded, so secrets and personal data stay out of traces."""

from __future__ import annotations

import logging
import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

log = logging.getLogger(__name__)
_provider: TracerProvider | None = None


def exporter_configured() -> bool:
    if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure(process_name: str, *, replay_safe: bool = False) -> TracerProvider:
    """Idempotent; call once at process start with e.g. ``"intake"`` or ``"worker"``.

    ``replay_safe``: for a Temporal worker — span ids that stay stable when workflow code replays.
    """
    global _provider
    if _provider is not None:
        return _provider
    resource = Resource.create({"service.name": f"aicc-{process_name}", "service.namespace": "aicc"})
    if os.environ.get("OTEL_SERVICE_NAME"):
        resource = resource.merge(Resource({"service.name": os.environ["OTEL_SERVICE_NAME"]}))
    provider: TracerProvider
    if replay_safe:
        from temporalio.contrib.opentelemetry import create_tracer_provider

        provider = create_tracer_provider(resource=resource)  # type: ignore[assignment]
    else:
        provider = TracerProvider(resource=resource)
    if exporter_configured():
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def temporal_plugins() -> list:
    """Trace context through Temporal: a decision's RPC, the update handler it starts, the
    activities that handler runs and their RPCs form one trace."""
    from temporalio.contrib.opentelemetry import OpenTelemetryPlugin

    return [OpenTelemetryPlugin(add_temporal_spans=True)]


def shutdown() -> None:
    if _provider is not None:
        _provider.shutdown()


def current_trace_id() -> str:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else "-"


def server_interceptors() -> list:
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    return [aio_server_interceptor()]


def client_interceptors() -> list:
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    return list(aio_client_interceptors())
