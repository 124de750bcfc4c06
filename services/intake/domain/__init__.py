"""Intake's use cases and rules (no gRPC or SQL here)."""
