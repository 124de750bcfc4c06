"""What every aicc process shares: settings, errors, validation, database, gRPC server and clients,
authentication, telemetry, money and policy. Services import from here; they never import each other."""
