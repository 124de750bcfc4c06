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


class RedactFilter(logging.Filter):
    """Masks mobile numbers and ID numbers in every record's message (and traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from aicc.platform.crypto import redact

        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it for the handler to report
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def configure(process: str) -> None:
    level = os.environ.get("AICC_LOG_LEVEL", "INFO").upper()
    handler = logging.StreamHandler()
    fmt = logging.Formatter(f"%(asctime)sZ {process} %(levelname)s %(name)s [trace %(trace_id)s] %(message)s")
    fmt.converter = time.gmtime
    handler.setFormatter(fmt)
    handler.addFilter(_TraceFilter())
    handler.addFilter(RedactFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("temporalio", "alembic", "sqlalchemy"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
