"""Fixtures for the Helm chart tests: a helm binary (tools/get_helm.py), one render per
environment (session scoped), and checkov in its own venv (.cache/checkov-venv)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import venv

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "aicc"
ENVIRONMENTS = ROOT / "deploy" / "helm" / "environments"
ENVS = {  # environment file -> namespace it is installed into
    "province": "aicc-province",
    "city-jinan": "aicc-jinan",
    "city-qingdao": "aicc-qingdao",
}
RELEASE = "aicc"
TEST_DIGEST = "sha256:" + "0123456789abcdef" * 4
CHECKOV_VERSION = "3.3.30"
CHECKOV_VENV = ROOT / ".cache" / "checkov-venv"

sys.path.insert(0, str(ROOT / "tools"))


@pytest.fixture(scope="session")
def helm() -> str:
    import get_helm

    return str(get_helm.ensure_helm())


def run_helm(helm: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([helm, *args], capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{proc.stderr}")
    return proc


def template_args(env: str | None, *extra: str) -> list[str]:
    args = ["template", RELEASE, str(CHART), "--namespace", ENVS.get(env or "", "aicc-test")]
    if env:
        args += ["-f", str(ENVIRONMENTS / f"{env}.yaml")]
    return args + list(extra)


def parse_manifests(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


class Render:
    def __init__(self, env: str, text: str):
        self.env = env
        self.text = text
        self.objects = parse_manifests(text)

    def of_kind(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> dict:
        found = [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name]
        assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
        return found[0]

    def pod_specs(self) -> list[tuple[dict, dict]]:
        """(workload, pod spec) for every object that runs pods."""
        out = []
        for o in self.objects:
            if o["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
                out.append((o, o["spec"]["template"]["spec"]))
        return out


@pytest.fixture(scope="session")
def renders(helm) -> dict[str, Render]:
    return {env: Render(env, run_helm(helm, *template_args(env)).stdout) for env in ENVS}


@pytest.fixture(scope="session")
def rendered_dir(helm, tmp_path_factory) -> pathlib.Path:
    """Each environment rendered with an image digest (as production pins one), one folder each."""
    base = tmp_path_factory.mktemp("rendered")
    for env in ENVS:
        out = run_helm(helm, *template_args(env, "--set", f"image.digest={TEST_DIGEST}")).stdout
        (base / env).mkdir()
        (base / env / "manifests.yaml").write_text(out, encoding="utf-8")
    return base


@pytest.fixture(scope="session")
def checkov() -> str:
    """checkov in its own venv (it downgrades `packaging`), created once and cached under .cache/."""
    exe = CHECKOV_VENV / "bin" / "checkov"
    if not exe.exists():
        CHECKOV_VENV.parent.mkdir(parents=True, exist_ok=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(CHECKOV_VENV)
        subprocess.run(
            [
                str(CHECKOV_VENV / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                f"checkov=={CHECKOV_VERSION}",
            ],
            check=True,
            timeout=900,
        )
    return str(exe)


def checkov_env(helm: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{pathlib.Path(helm).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("HOME", str(ROOT / ".cache"))
    return env
