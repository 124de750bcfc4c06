"""Supervision service: performance targets, monitoring reports and evaluations (Art. 14)."""
