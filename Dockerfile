# syntax=docker/dockerfile:1
# opusrt serve in a container: Debian 12, built from this repository, run as a non-root user.
#
#   docker build -t opusrt:0.1.0 .
#   # a model directory on the host, mounted read-only:
#   docker run --rm -p 5000:5000 -v /path/to/opus-mt-en-zh:/models:ro opusrt:0.1.0
#   # or a hub id, downloaded once into a named cache volume:
#   docker run --rm -p 5000:5000 -e OPUSRT_MODEL=Xenova/opus-mt-en-zh -v opusrt-cache:/cache opusrt:0.1.0
# Arguments after the image name go to `opusrt serve` (e.g. --workers 2 --max-batch 16).
# deploy/kubernetes/ runs this image; README "Scale-out" says what was tested and how.

# ---- build: the project's own bootstrap (Debian packages + ONNX Runtime from npm), then a
# Release build installed into /opt/opusrt (CLI, libopusrt, and the ONNX Runtime it was built with).
FROM debian:12 AS build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
# bootstrap.sh alone first: the packages layer stays cached while the sources change.
COPY scripts/bootstrap.sh scripts/bootstrap.sh
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends ca-certificates \
 && bash scripts/bootstrap.sh \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DOPUSRT_BUILD_TESTS=OFF -DCMAKE_INSTALL_PREFIX=/opt/opusrt \
 && cmake --build /build -j"$(nproc)" \
 && cmake --install /build \
 && /opt/opusrt/bin/opusrt --help >/dev/null \
 && /opt/opusrt/bin/opusrt quantize --help >/dev/null

# ---- runtime: the shared libraries opusrt and opusrt-quantize link (tests/deploy checks this
# list against the programs' NEEDED entries), curl for HEALTHCHECK, and nothing else.
FROM debian:12-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      libsentencepiece0 libicu72 libcurl4 libcpp-httplib0.11 libprometheus-cpp-core1.0 libssl3 libgumbo1 \
      libonnx1 libprotobuf32 \
      libstdc++6 libgcc-s1 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 opusrt \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/opusrt --create-home --shell /usr/sbin/nologin opusrt \
 && mkdir -p /models /cache \
 && chown opusrt:opusrt /cache
COPY --from=build /opt/opusrt /opt/opusrt
COPY deploy/docker/entrypoint.sh /usr/local/bin/opusrt-entrypoint
# OPUSRT_MODEL: a model directory (default: what is mounted at /models) or a hub id, downloaded
# into HF_HOME (the /cache volume) on first start and read from there afterwards.
ENV PATH=/opt/opusrt/bin:$PATH \
    HF_HOME=/cache \
    OPUSRT_MODEL=/models \
    OPUSRT_HOST=0.0.0.0 \
    OPUSRT_PORT=5000 \
    OPUSRT_DRAIN_TIMEOUT=30
VOLUME ["/cache"]
USER 10001:10001
WORKDIR /home/opusrt
EXPOSE 5000
# SIGTERM drains: /health and new requests answer 503, requests in flight finish (up to
# OPUSRT_DRAIN_TIMEOUT seconds); `docker stop -t` must allow that long.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${OPUSRT_PORT}/health" >/dev/null || exit 1
ENTRYPOINT ["/usr/local/bin/opusrt-entrypoint"]
CMD []
