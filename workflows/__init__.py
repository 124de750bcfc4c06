"""Temporal workflows. One workflow per annual cycle (:mod:`workflows.cycle`)."""
