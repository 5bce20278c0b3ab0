#!/bin/sh
# The container's entrypoint (Dockerfile): serve OPUSRT_MODEL, a model directory or a hub id.
# A hub id is downloaded into the Hugging Face cache ($HF_HOME, the image's /cache volume) the
# first time and found there afterwards (HF_HUB_OFFLINE=1: the cache only); OPUSRT_REVISION and
# OPUSRT_VARIANT (fp16, quantized, ...) pick what is downloaded, and OPUSRT_VARIANT what is served. The graphs are then prepared
# (`opusrt prepare`: copies that load in half the time and memory and prefill forced prefixes
# faster) unless OPUSRT_PREPARE=0; a model directory that cannot be written (mounted read-only)
# is served as it is, with a warning. Arguments are passed
# on to `opusrt serve`. `exec` makes opusrt the container's main process, so that SIGTERM from
# `docker stop` or the kubelet reaches it and starts the drain.
set -eu
model="${OPUSRT_MODEL:?OPUSRT_MODEL must name a model directory or a hub id such as Xenova/opus-mt-en-zh}"
if [ ! -d "$model" ]; then
  echo "opusrt-entrypoint: $model is not a directory: fetching it from the hub into ${HF_HOME:-~/.cache/huggingface}" >&2
  model="$(opusrt download --quiet ${OPUSRT_REVISION:+--revision "$OPUSRT_REVISION"} \
    ${OPUSRT_VARIANT:+--variant "$OPUSRT_VARIANT"} "$model")"
fi
if [ "${OPUSRT_PREPARE:-1}" != 0 ]; then
  opusrt prepare --model "$model" ${OPUSRT_VARIANT:+--variant "$OPUSRT_VARIANT"} >&2 ||
    echo "opusrt-entrypoint: could not prepare $model (read-only?): serving its graphs as they are" >&2
fi
exec opusrt serve --model "$model" ${OPUSRT_VARIANT:+--variant "$OPUSRT_VARIANT"} --host "${OPUSRT_HOST:-0.0.0.0}" --port "${OPUSRT_PORT:-5000}" \
  --drain-timeout "${OPUSRT_DRAIN_TIMEOUT:-30}" "$@"
