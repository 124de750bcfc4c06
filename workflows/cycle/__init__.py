"""The annual cycle: one Temporal workflow per cycle, its activities (each one gRPC call to a
service) and the worker that runs them."""
