"""``aicc codec-server``: lets the auditor read Temporal payloads in clear — the Web UI's
or the CLI's codec endpoint (Temporal's remote codec protocol).

- ``POST /decode`` with ``{"payloads": [...]}`` (the JSON form of ``temporal.api.common.v1.Payloads``)
  answers the same shape, each payload decrypted; one this installation did not encrypt, or that
  fails authentication, comes back as ``{"aicc_refused": "<why>"}`` (JSON) instead.
- ``POST /encode`` is refused (403), always: a payload encrypted on request would be a decision that
  did not come through intake, which is exactly what the codec exists to stop.
- Every request needs ``Authorization: Bearer <token>`` from identity's ``Login``, for a role in
  ``authz.CODEC_READERS`` (the auditor), verified with identity's published keys
  (``TokenVerifier``): none or a bad one → 401, another role → 403.
- Each decode is audited as one log line (``aicc.codec_server`` logger, ``audit`` in the message):
  who (user id, name, roles), from where, which namespace (the UI's ``X-Namespace``), how many
  payloads were decoded or refused under which key ids. A log line rather than a file: this process
  has no database of its own, and a file beside it would be in the hands of whoever runs it; the
  line goes where the process's output is collected (the cluster's log pipeline when run in a pod).
- CORS: only the origins in ``AICC_CODEC_SERVER_CORS_ORIGINS`` (the Temporal Web UI's), with
  credentials; a request from any other origin is refused.
- Listens on ``AICC_CODEC_SERVER_HOST``:``AICC_CODEC_SERVER_PORT`` (127.0.0.1:8089): plain HTTP on
  the loopback, reached through ``kubectl port-forward`` or an SSH tunnel, never exposed as is.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from aicc.platform.auth import Principal, TokenVerifier
from aicc.platform.authz import CODEC_READERS
from aicc.platform.errors import Unauthenticated
from aicc.platform.settings import Settings
from aicc.platform.temporal.codec import KEY_ID, CodecKeys, PayloadRefused, Sm4GcmCodec, keys_from_settings

log = logging.getLogger("aicc.codec_server")

MAX_BODY = 16 * 1024 * 1024
Verify = Callable[[str], Awaitable[Principal]]


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class _Refusal(Exception):
    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, dict(headers or {})


class CodecService:
    """The protocol, transport-free: one request (lower-case header names) → one :class:`Reply`."""

    def __init__(self, keys: CodecKeys, verify: Verify, cors_origins: Iterable[str] = ()) -> None:
        self.codec = Sm4GcmCodec(keys)
        self.verify = verify
        self.cors_origins = frozenset(o.strip().rstrip("/") for o in cors_origins if o.strip())

    def _cors(self, headers: Mapping[str, str]) -> dict[str, str]:
        origin = headers.get("origin", "")
        if not origin:
            return {}
        if origin.rstrip("/") not in self.cors_origins:
            raise _Refusal(403, f"origin {origin} is not allowed (AICC_CODEC_SERVER_CORS_ORIGINS)")
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Namespace",
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        }

    async def _authenticate(self, headers: Mapping[str, str]) -> Principal:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _Refusal(401, "a bearer token is required", {"WWW-Authenticate": "Bearer"})
        try:
            p = await self.verify(token.strip())
        except Unauthenticated as e:
            status = 503 if e.reason == "KEYS_UNAVAILABLE" else 401
            raise _Refusal(status, e.message, {"WWW-Authenticate": "Bearer"}) from None
        if not p.has(*CODEC_READERS):
            raise _Refusal(403, f"reading Temporal payloads needs role {' or '.join(sorted(CODEC_READERS))}")
        return p

    async def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, peer: str
    ) -> Reply:
        cors: dict[str, str] = {}
        try:
            cors = self._cors(headers)
            if method == "OPTIONS":
                return Reply(204, {}, cors)
            if method != "POST" or path not in ("/decode", "/encode"):
                raise _Refusal(404, "POST /decode (or /encode) only")
            p = await self._authenticate(headers)
            if path == "/encode":
                _audit("encode refused", p, peer, headers)
                raise _Refusal(
                    403, "this codec server only decodes: decisions reach a workflow through intake"
                )
            return Reply(200, self._decode(body, p, peer, headers), cors)
        except _Refusal as r:
            return Reply(r.status, {"error": r.message}, {**cors, **r.headers})

    def _decode(self, body: bytes, p: Principal, peer: str, headers: Mapping[str, str]) -> dict[str, Any]:
        try:
            request = json_format.Parse(body or b"{}", Payloads(), ignore_unknown_fields=True)
        except json_format.ParseError as e:
            raise _Refusal(400, f'the body must be {{"payloads": [...]}}: {e}') from None
        out, kids, refused = [], set(), 0
        for payload in request.payloads:
            try:
                out.append(self.codec.open(payload))
                kids.add(payload.metadata[KEY_ID].decode())
            except PayloadRefused as e:
                refused += 1
                out.append(_shown_refused(str(e)))
        _audit(
            "decode",
            p,
            peer,
            headers,
            payloads=len(out),
            refused=refused,
            key_ids=",".join(sorted(kids)) or "-",
        )
        return json_format.MessageToDict(Payloads(payloads=out))


def _shown_refused(reason: str) -> Payload:
    """What the UI shows for a payload the codec refuses (display only; never fed to a workflow)."""
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps({"aicc_refused": reason}).encode())


def _audit(action: str, p: Principal, peer: str, headers: Mapping[str, str], **facts: object) -> None:
    detail = " ".join(f"{k}={v}" for k, v in facts.items())
    log.info(
        "audit codec %s by user_id=%s username=%s roles=%s from=%s namespace=%s %s",
        action,
        p.user_id,
        p.username,
        ",".join(sorted(p.roles)),
        peer,
        headers.get("x-namespace", "-"),
        detail,
    )


# ---------------------------------------------------------------- HTTP (stdlib server, one thread per request)


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"
    server_version = "aicc-codec-server"
    sys_version = ""

    def do_POST(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(Reply(413, {"error": "request too large"}))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        call = self.server.service.handle(self.command, self.path, headers, body, self.client_address[0])
        try:
            reply = asyncio.run_coroutine_threadsafe(call, self.server.loop).result(timeout=30)
        except Exception:
            log.exception("codec server: request failed")
            reply = Reply(500, {"error": "internal error"})
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        data = json.dumps(reply.body).encode() if reply.status != 204 else b""
        self.send_response(reply.status)
        for k, v in reply.headers.items():
            self.send_header(k, v)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.client_address[0], format % args)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    service: CodecService
    loop: asyncio.AbstractEventLoop


class CodecServer:
    """The HTTP server and the event loop its token verification runs on (each in its own thread)."""

    def __init__(
        self,
        settings: Settings,
        *,
        keys: CodecKeys | None = None,
        verify: Verify | None = None,
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self.loop.run_forever, name="codec-loop", daemon=True)
        self._clients: Any = None
        service = CodecService(
            keys or keys_from_settings(settings),
            verify or self._identity_verifier(),
            settings.codec_server_cors_origins.split(","),
        )
        self.http = _HttpServer(
            (host or settings.codec_server_host, settings.codec_server_port if port is None else port),
            _Handler,
        )
        self.http.service, self.http.loop = service, self.loop
        self._http_thread = threading.Thread(target=self.http.serve_forever, name="codec-http", daemon=True)

    def _identity_verifier(self) -> Verify:
        """Tokens checked with identity's published keys, over the same (m)TLS as every service."""
        from aicc.platform.clients import Clients
        from aicc.platform.server import identity_key_fetcher

        self._clients = Clients(self.settings, token_source=None)
        verifier = TokenVerifier(identity_key_fetcher(self._clients), issuer=self.settings.token_issuer)
        return verifier.verify

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.http.server_address[:2]
        return str(host), int(port)

    def start(self) -> CodecServer:
        self._loop_thread.start()
        self._http_thread.start()
        return self

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        if self._clients is not None:
            asyncio.run_coroutine_threadsafe(self._clients.close(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._loop_thread.join(timeout=5)
        self.loop.close()
