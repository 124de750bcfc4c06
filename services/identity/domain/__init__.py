"""Pure domain logic of the identity service (no I/O besides packaged data files)."""
