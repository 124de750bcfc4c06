"""Use cases of the supervision service (no gRPC or SQL here)."""
