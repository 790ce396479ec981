# syntax=docker/dockerfile:1
#
# The w4r server image. Build: docker build -t w4r:0.1.0 .
#
# Two stages. The builder turns the checkout into a wheel (migrations included, see
# pyproject's force-include) and installs it with its dependencies into a virtual
# environment at /opt/w4r. The final stage is the same slim Python image with only that
# environment added: no compiler, no pip, no source tree, no build caches.
#
# Both stages use one base image, pinned to an exact Python patch release and Debian
# release, because the venv's interpreter is a link to the base image's Python. Pin it by
# digest too (python:3.12.11-slim-bookworm@sha256:...) in the registry you build from, and
# let a dependency bot bump both together.

FROM python:3.12.11-slim-bookworm AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src

# Only what the wheel is built from (.dockerignore keeps everything else out of the context).
COPY pyproject.toml README.md alembic.ini ./
COPY migrations ./migrations
COPY w4r ./w4r

RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
    && python -m venv --without-pip /opt/w4r \
    && python -m pip --python /opt/w4r/bin/python install --compile /wheels/w4r-*.whl

# pip compiled every module to bytecode above, so the read-only root file system of the
# final image never needs a write for a .pyc.

FROM python:3.12.11-slim-bookworm

LABEL org.opencontainers.image.title="w4r" \
      org.opencontainers.image.description="GraphQL platform for Write for Rights" \
      org.opencontainers.image.licenses="MIT"

# A fixed, unprivileged UID/GID, so Kubernetes can check runAsNonRoot and runAsUser against
# the image and volumes get a predictable owner (fsGroup 10001).
RUN groupadd --system --gid 10001 w4r \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /var/lib/w4r --shell /usr/sbin/nologin w4r \
    && install --directory --owner 10001 --group 10001 --mode 0700 /var/lib/w4r

COPY --from=builder /opt/w4r /opt/w4r

# W4R_DATA_DIR is the one directory the server may write to (the embedded PostgreSQL of a
# trial run, a development signing key). In Kubernetes it and /tmp are emptyDir volumes and
# the root file system is read-only; production takes its keys from Secrets.
ENV PATH="/opt/w4r/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    W4R_ENVIRONMENT=production \
    W4R_HOST=0.0.0.0 \
    W4R_PORT=8000 \
    W4R_DATA_DIR=/var/lib/w4r

USER 10001:10001
WORKDIR /var/lib/w4r
EXPOSE 8000

# No HEALTHCHECK: Kubernetes ignores the image's HEALTHCHECK and probes /healthz, /readyz
# itself (the chart's startup, liveness and readiness probes), and a HEALTHCHECK would need
# a client program in the image that nothing else uses.
#
# The server is PID 1 and handles SIGTERM itself (uvicorn drains the connections, then the
# process exits), so no init wrapper or shell is needed at run time.
ENTRYPOINT ["w4r"]
CMD ["serve"]
