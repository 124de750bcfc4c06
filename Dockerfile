# syntax=docker/dockerfile:1
# One image runs every aicc process:
#   aicc serve <identity|intake|review|funding|supervision> | aicc worker | aicc migrate
#
# Base images are pinned to an exact patch version. In production also pin the digest, e.g.
#   FROM python:3.11.14-slim-bookworm@sha256:<digest> AS builder
# (resolve it once with `docker buildx imagetools inspect python:3.11.14-slim-bookworm`) and let
# the chart reference the pushed aicc image by digest (values: image.digest). Both stages use the
# same base so the venv's interpreter path and ABI match.

# ---------------------------------------------------------------- builder
FROM python:3.11.14-slim-bookworm AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PYTHON_DOWNLOADS=never
WORKDIR /src
# uv only turns uv.lock into a hash-pinned requirements file and builds the wheel.
RUN pip install "uv==0.13.8"
COPY pyproject.toml uv.lock README.md ./
RUN uv export --frozen --no-dev --no-emit-project --format requirements-txt -o /tmp/requirements.txt
# Every dependency comes as a binary wheel checked against the lock file's hashes.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-deps --require-hashes --only-binary=:all: -r /tmp/requirements.txt
COPY setup.py ./
COPY aicc ./aicc
COPY services ./services
COPY workflows ./workflows
COPY protos ./protos
# The wheel carries the shipped policies as aicc/policies (setup.py); the runtime stage also puts
# them in /etc/aicc/policies (AICC_POLICY_DIR), where the chart mounts the instance's policy.
COPY policies ./policies
RUN uv build --wheel --out-dir /tmp/dist \
 && /opt/venv/bin/pip install --no-deps /tmp/dist/aicc-*.whl \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib

# ---------------------------------------------------------------- fonts
# The CJK font embedded in official PDF documents (review's ExportDocument): Debian's
# fonts-wqy-microhei, installed in a stage of its own so that the runtime stage runs no package
# manager; the runtime copies the font file and its licence.
FROM python:3.11.14-slim-bookworm AS fonts
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-microhei=0.2.0-beta-3.1 \
 && rm -rf /var/lib/apt/lists/*

# ---------------------------------------------------------------- runtime
FROM python:3.11.14-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="aicc" \
      org.opencontainers.image.description="Shandong Industrial AI Capability Center award programme"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AICC_DATA_DIR=/var/lib/aicc \
    AICC_POLICY_DIR=/etc/aicc/policies \
    HOME=/tmp
# A numeric, non-root user; the only writable places are the data dir and /tmp (the chart mounts
# emptyDirs there and keeps the root filesystem read-only). No compiler, no package manager run here.
RUN groupadd --system --gid 10001 aicc \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin aicc \
 && mkdir -p /var/lib/aicc /etc/aicc/policies \
 && chown 10001:10001 /var/lib/aicc
COPY --from=builder /opt/venv /opt/venv
COPY --from=fonts /usr/share/fonts/truetype/wqy/wqy-microhei.ttc /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
COPY --from=fonts /usr/share/doc/fonts-wqy-microhei/copyright /usr/share/doc/fonts-wqy-microhei/copyright
COPY policies/ /etc/aicc/policies/
WORKDIR /var/lib/aicc
USER 10001:10001
# The gRPC ports of the five services (one per process); the worker listens on none.
EXPOSE 50051 50052 50053 50054 50055
# No Docker HEALTHCHECK: Kubernetes ignores it and probes each pod natively with kubelet `grpc:`
# probes (grpc.health.v1 on AICC_HEALTH_PORT, see deploy/helm/aicc); one image runs seven different
# processes, so no single in-image command would be right for all of them.
HEALTHCHECK NONE
ENTRYPOINT ["aicc"]
CMD ["--help"]
