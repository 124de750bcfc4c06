"""Review service domain logic: pure functions, no I/O."""
