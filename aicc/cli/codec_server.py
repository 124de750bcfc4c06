"""``aicc codec-server``: read Temporal payloads in clear, for the auditor (see
``aicc/platform/temporal/codec_server.py`` and ARCHITECTURE.md, "Temporal is not a side door").

    aicc codec-server [--host 127.0.0.1] [--port 8089] [--cors-origin http://127.0.0.1:8233]

Run it where the codec keys are (``AICC_TEMPORAL_CODEC_KEYS_DIR``; dev mode: the generated key) and
identity is reachable; then ``temporal workflow show --workflow-id cycle-… --codec-endpoint
http://127.0.0.1:8089 --codec-auth "Bearer $TOKEN"``.
"""

from __future__ import annotations

import signal
import sys
import threading


def add_parser(sub) -> None:
    p = sub.add_parser("codec-server", help="decrypt Temporal payloads for the Web UI / CLI (auditor token)")
    p.add_argument("--host", help="listen address (default AICC_CODEC_SERVER_HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port (default AICC_CODEC_SERVER_PORT, 8089)")
    p.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="allow this browser origin, e.g. the Temporal Web UI's (repeatable; adds to AICC_CODEC_SERVER_CORS_ORIGINS)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from aicc.platform import logs
    from aicc.platform.settings import ConfigError, get_settings
    from aicc.platform.temporal.codec_server import CodecServer

    logs.configure("codec-server")
    settings = get_settings()
    if args.cors_origin:
        origins = ",".join([settings.codec_server_cors_origins, *args.cors_origin]).strip(",")
        settings = settings.model_copy(update={"codec_server_cors_origins": origins})
    try:
        server = CodecServer(settings, host=args.host, port=args.port).start()
    except (ConfigError, OSError) as e:
        print(f"aicc codec-server: {e}", file=sys.stderr, flush=True)
        return 2
    host, port = server.address
    print(f"codec server on http://{host}:{port} (POST /decode; auditor bearer token)", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0
