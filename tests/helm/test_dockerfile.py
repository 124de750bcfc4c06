"""The Dockerfile: pinned base, non-root numeric user, no compilers in the final stage, the
HEALTHCHECK decision written down, and checkov's dockerfile checks clean."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from .conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out, buf = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        buf += (" " if buf else "") + stripped.rstrip("\\").strip()
        if not stripped.endswith("\\"):
            op, _, args = buf.partition(" ")
            out.append((op.upper(), args.strip()))
            buf = ""
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for op, args in instructions():
        if op == "FROM":
            result.append([])
        if result:
            result[-1].append((op, args))
    return result


def test_every_base_image_is_pinned_to_an_exact_patch_version():
    froms = [args.split()[0] for op, args in instructions() if op == "FROM"]
    assert len(froms) >= 2, "expected a multi-stage build"
    for image in froms:
        assert "latest" not in image, image
        assert "$" not in image, image
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", image), image


def test_final_stage_runs_as_numeric_non_root_user():
    final = stages()[-1]
    users = [args for op, args in final if op == "USER"]
    assert users, "no USER in the final stage"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), users[-1]
    assert int(uid) >= 10000, users[-1]


def test_final_stage_installs_no_compiler_and_copies_the_venv():
    final = stages()[-1]
    runs = " ".join(args for op, args in final if op == "RUN")
    for tool in ("gcc", "g++", "clang", "build-essential", "make ", "apt-get install", "pip install", "uv "):
        assert tool not in runs, tool
    assert any(op == "COPY" and "--from=builder" in args and "/opt/venv" in args for op, args in final)
    builder = stages()[0]
    assert any(op == "RUN" and "uv export --frozen" in args for op, args in builder)
    assert any(op == "RUN" and "--require-hashes" in args for op, args in builder)


def test_the_runtime_has_the_cjk_font_official_pdfs_embed():
    """Review's PDF documents embed WenQuanYi Micro Hei from Debian's fonts-wqy-microhei: an earlier
    stage installs the package (the final stage runs no package manager) and the final stage copies
    the font where review looks first."""
    from services.review.domain.export_files import FONT_FILES

    assert any(
        op == "RUN" and "apt-get install" in args and "fonts-wqy-microhei" in args
        for stage in stages()[:-1]
        for op, args in stage
    )
    copies = [args.split() for op, args in stages()[-1] if op == "COPY" and "--from=fonts" in args]
    assert str(FONT_FILES[0]) in [c[-1] for c in copies], copies


def test_runtime_settings():
    final = dict((op, args) for op, args in stages()[-1] if op in ("ENTRYPOINT", "CMD", "WORKDIR"))
    assert json.loads(final["ENTRYPOINT"]) == ["aicc"]
    assert json.loads(final["CMD"]) == ["--help"]
    assert final["WORKDIR"].startswith("/")
    env = " ".join(args for op, args in stages()[-1] if op == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "AICC_DATA_DIR=/var/lib/aicc" in env


def test_healthcheck_is_present_and_documented():
    text = DOCKERFILE.read_text(encoding="utf-8")
    checks = [args for op, args in instructions() if op == "HEALTHCHECK"]
    assert checks, "no HEALTHCHECK instruction"
    if checks[-1].upper() == "NONE":
        before = text[: text.index("HEALTHCHECK NONE")].splitlines()[-4:]
        assert any(line.startswith("#") and "grpc" in line.lower() for line in before), before


def test_dockerignore_keeps_secrets_and_venvs_out():
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".git", ".venv", ".cache", ".env", "tests"):
        assert entry in ignored, entry


def test_checkov_dockerfile(checkov, tmp_path):
    shutil.copy(DOCKERFILE, tmp_path / "Dockerfile")
    proc = subprocess.run(
        [checkov, "-d", str(tmp_path), "--framework", "dockerfile", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    data = json.loads(proc.stdout)
    report = data[0] if isinstance(data, list) else data
    failed = [f"{c['check_id']} {c['check_name']}" for c in report["results"]["failed_checks"]]
    assert not failed, failed
    assert report["summary"]["passed"] > 0


@pytest.mark.parametrize("path", ["pyproject.toml", "uv.lock"])
def test_build_inputs_exist(path):
    assert (ROOT / path).exists()
