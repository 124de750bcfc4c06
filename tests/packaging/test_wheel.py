"""The wheel is self-sufficient: what `docker build` would prove, short of a container engine.

Builds the sdist and, from it, the wheel (as the Dockerfile's `uv build` does, but from a clean
tree), checks that the wheel carries the generated gRPC stubs, every service's migrations, the
jurisdictions and the shipped policies, installs it with the locked dependencies into a fresh
virtual environment and runs ``aicc --help``, ``aicc policy``, ``aicc migrate`` and
``aicc serve identity`` from a directory outside the checkout (nothing is imported from here).

The virtual environment is built once per session; uv's cache makes that quick after the first time.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from aicc.platform.settings import SERVICES

ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"
PACKAGE_TREES = ("aicc", "services", "workflows")
# Files under the package trees that are code or data the installed package needs.
SHIPPED_SUFFIXES = {".py", ".pyi", ".yaml", ".yml", ".mako", ".csv", ".json", ".sql", ".txt", ".typed"}
CLI_COMMANDS = ("up", "serve", "worker", "migrate", "demo", "policy", "calendar", "rank", "uscc")

pytestmark = pytest.mark.timeout(600)


def _run(
    cmd, *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, (
        f"{cmd} exited {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    )
    return proc


def _clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment minus anything that could point back at the checkout or its venv."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AICC_", "OTEL_", "PYTHON", "VIRTUAL_ENV", "UV_PROJECT", "CONDA"))
    }
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.update(extra)
    return env


def _package_tree_files() -> list[str]:
    names = []
    for tree in PACKAGE_TREES:
        for path in (ROOT / tree).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in SHIPPED_SUFFIXES:
                names.append(path.relative_to(ROOT).as_posix())
    return sorted(names)


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> tuple[Path, list[str]]:
    """sdist, then the wheel built from the sdist (a clean tree: no stale build/ can leak in); and
    the package trees' files as they were just before the build."""
    out = tmp_path_factory.mktemp("dist")
    before = _package_tree_files()
    _run([UV, "build", "--out-dir", out, ROOT], cwd=ROOT, env=_clean_env())
    wheels = sorted(out.glob("aicc-*.whl"))
    assert len(wheels) == 1, sorted(p.name for p in out.iterdir())
    return wheels[0], before


@pytest.fixture(scope="session")
def wheel(built) -> Path:
    return built[0]


@pytest.fixture(scope="session")
def wheel_names(wheel) -> set[str]:
    with zipfile.ZipFile(wheel) as z:
        return set(z.namelist())


@pytest.fixture(scope="session")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel and exactly the locked runtime dependencies."""
    base = tmp_path_factory.mktemp("installed")
    target = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", target], cwd=base, env=_clean_env())
    requirements = base / "requirements.txt"
    _run(
        [UV, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "-q", "-o", requirements],
        cwd=ROOT,
        env=_clean_env(),
    )
    _run(
        [UV, "pip", "install", "-q", "--python", target / "bin" / "python", "-r", requirements, wheel],
        cwd=base,
        env=_clean_env(),
        timeout=600,
    )
    return target


@pytest.fixture
def workdir(tmp_path) -> Path:
    d = tmp_path / "work"
    d.mkdir()
    return d


def aicc(venv: Path, *args: str, cwd: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    return _run(
        [venv / "bin" / "aicc", *args],
        cwd=cwd,
        env=_clean_env(PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}", **env),
        timeout=timeout,
    )


# ------------------------------------------------------------------------------ wheel contents


def test_wheel_carries_the_generated_stubs(wheel_names):
    protos = sorted((ROOT / "protos" / "aicc").glob("*/v1/*.proto"))
    # One package per service, and the platform's AuditService that every service serves.
    assert len(protos) == len(SERVICES) + 1, protos
    for proto in protos:
        package = proto.relative_to(ROOT / "protos").parent.as_posix()  # aicc/<svc>/v1
        for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py"):
            assert f"{package}/{proto.stem}{suffix}" in wheel_names, (package, suffix)
        assert f"{package}/__init__.py" in wheel_names


def test_wheel_carries_every_services_migrations(wheel_names):
    for service in SERVICES:
        base = f"services/{service}/migrations"
        assert f"{base}/env.py" in wheel_names, service
        assert f"{base}/script.py.mako" in wheel_names, service
        versions = sorted(p.name for p in (ROOT / base / "versions").glob("*.py"))
        assert versions, f"{service} has no migration in the checkout"
        for name in versions:
            assert f"{base}/versions/{name}" in wheel_names, (service, name)


def test_wheel_carries_jurisdictions_and_the_shipped_policies(wheel_names):
    assert "aicc/platform/data/jurisdictions.yaml" in wheel_names
    policies = sorted(p.name for p in (ROOT / "policies").glob("*.yaml"))
    assert "shandong-2026.yaml" in policies
    assert "demo.yaml" in policies
    calendars = sorted(f"calendars/{p.name}" for p in (ROOT / "policies" / "calendars").glob("*.yaml"))
    assert "calendars/2026.yaml" in calendars
    shipped = sorted(n.removeprefix("aicc/policies/") for n in wheel_names if n.startswith("aicc/policies/"))
    assert shipped == sorted(policies + calendars)
    assert not any(n.startswith("policies/") for n in wheel_names), "policies must not be a top-level package"


def test_wheel_carries_every_file_of_the_package_trees(built, wheel_names):
    missing = [name for name in built[1] if name not in wheel_names]
    assert not missing, f"not in the wheel (add them to [tool.setuptools.package-data]): {missing}"


def test_wheel_declares_the_console_script(wheel, wheel_names):
    [entry_points] = [n for n in wheel_names if n.endswith(".dist-info/entry_points.txt")]
    with zipfile.ZipFile(wheel) as z:
        text = z.read(entry_points).decode()
    assert "aicc = aicc.cli.main:main" in text


# --------------------------------------------------------------------- the installed package


def test_installed_package_is_imported_from_the_venv_not_the_checkout(venv, workdir):
    code = (
        "import json, aicc, services, workflows, services.identity.migrations as m\n"
        "from aicc.platform.policy import default_policy_dir\n"
        "from aicc.platform.jurisdictions import load_jurisdictions\n"
        "print(json.dumps({'aicc': aicc.__file__, 'services': services.__file__,\n"
        "  'workflows': workflows.__file__, 'policies': str(default_policy_dir()),\n"
        "  'jurisdictions': len(load_jurisdictions())}))"
    )
    proc = _run([venv / "bin" / "python", "-c", code], cwd=workdir, env=_clean_env())
    found = json.loads(proc.stdout)
    site = venv.resolve()
    for key in ("aicc", "services", "workflows", "policies"):
        path = Path(found[key]).resolve()
        assert path.is_relative_to(site), (key, path)
        assert not path.is_relative_to(ROOT), (key, path)
    assert Path(found["policies"]).name == "policies"
    assert (Path(found["policies"]) / "shandong-2026.yaml").is_file()
    assert found["jurisdictions"] > 1


def test_aicc_help_lists_every_command(venv, workdir):
    out = aicc(venv, "--help", cwd=workdir).stdout
    for command in CLI_COMMANDS:
        assert f"    {command} " in out, (command, out)


def test_aicc_policy_check_and_show_the_shipped_policies(venv, workdir):
    names = sorted(p.stem for p in (ROOT / "policies").glob("*.yaml"))
    aicc(venv, "policy", "check", *names, cwd=workdir)
    shown = json.loads(aicc(venv, "policy", "show", "shandong-2026", "--format", "json", cwd=workdir).stdout)
    assert shown["policy_id"] == "shandong-2026"
    assert shown["indicator_list"]


def test_aicc_calendar_check_finds_the_shipped_calendars(venv, workdir):
    out = aicc(venv, "calendar", "check", cwd=workdir).stdout
    for path in sorted((ROOT / "policies" / "calendars").glob("*.yaml")):
        line = next(
            x for x in out.splitlines() if x.startswith("OK ") and x.split(":")[0].endswith(path.name)
        )
        assert f"year {path.stem} " in line
        assert "/aicc/policies/calendars/" in line  # the wheel's copy, not the checkout's


def test_aicc_migrate_creates_every_services_database(venv, workdir, tmp_path):
    data = tmp_path / "data"
    out = aicc(venv, "migrate", cwd=workdir, AICC_DATA_DIR=str(data)).stdout
    assert sorted(p.name for p in data.glob("*.db")) == sorted(f"{s}.db" for s in SERVICES)
    for service in SERVICES:
        assert f"{service}: migrated" in out
        with sqlite3.connect(data / f"{service}.db") as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            head = db.execute("SELECT version_num FROM alembic_version").fetchall()
        assert "alembic_version" in tables, (service, tables)
        assert len(tables) > 1, (service, tables)
        assert len(head) == 1, (service, head)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(port: int) -> str | None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
        except grpc.RpcError:
            return None
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def test_aicc_serve_identity_serves_health_and_stops_on_sigterm(venv, workdir, tmp_path):
    data = tmp_path / "data"
    aicc(venv, "migrate", "--service", "identity", cwd=workdir, AICC_DATA_DIR=str(data))
    port = _free_port()
    env = _clean_env(
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        AICC_DEV_MODE="true",
        AICC_DATA_DIR=str(data),
        AICC_IDENTITY_PORT=str(port),
    )
    log = tmp_path / "identity.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [str(venv / "bin" / "aicc"), "serve", "identity"], cwd=workdir, env=env, stdout=sink, stderr=sink
        )
        try:
            deadline = time.monotonic() + 60
            status = None
            while time.monotonic() < deadline and proc.poll() is None:
                status = _health(port)
                if status == "SERVING":
                    break
                time.sleep(0.25)
            assert status == "SERVING", (status, proc.poll(), log.read_text(errors="replace")[-4000:])
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=15)
            elapsed = time.monotonic() - started
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert code == 0, (code, log.read_text(errors="replace")[-4000:])
    assert elapsed < 10, elapsed
