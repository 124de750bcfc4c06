"""Process logging: one line per record, UTC timestamps, with the trace id when there is one."""

from __future__ import annotations

import logging
import os
import time


class _TraceFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from aicc.platform.telemetry import current_trace_id

        record.trace_id = current_trace_id()
        return True


def configure(process: str) -> None:
    level = os.environ.get("AICC_LOG_LEVEL", "INFO").upper()
    handler = logging.StreamHandler()
    fmt = logging.Formatter(f"%(asctime)sZ {process} %(levelname)s %(name)s [trace %(trace_id)s] %(message)s")
    fmt.converter = time.gmtime
    handler.setFormatter(fmt)
    handler.addFilter(_TraceFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("temporalio", "alembic", "sqlalchemy"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
