#!/usr/bin/env bash
# Scale-out simulated on loopback: `opusrt serve` replicas behind HAProxy (Debian's), the way a
# Kubernetes Service or ingress puts the pods of deploy/kubernetes/ behind a load balancer.
# opusrt_load (bench/load) is the client; HAProxy health-checks GET /health and retries a request
# on another replica when the connection fails, the answer is empty or the replica answers 503
# (draining). Retrying is safe because a translation has no side effect.
#
# Scenarios, with --replicas N (default 2; every replica: --workers 1 --threads 1):
#   throughput  requests/s through the balancer with 1 and with N replicas, in interleaved rounds
#               (1,N,N,1,1,N...); the per-round ratio N/1 as median, min and max, and the CPU the
#               replicas got (on a shared machine, what caps the scaling)
#   sigkill     replica N killed with SIGKILL under load, then started again as the kubelet would
#   rolling     each replica in turn gets SIGTERM (it drains: /health and new requests answer
#               503, requests in flight finish), exits, starts again; the next one goes once
#               HAProxy sees it up
#   prestop     the same as Kubernetes does it (deploy/kubernetes): each replica is first taken
#               out of the balancer (HAProxy's runtime API, as the endpoints controller removes a
#               terminating pod during its preStop sleep), then gets SIGTERM; the balancer here
#               retries refused connections only, as a Service's kube-proxy cannot retry at all
# In the two fault scenarios "failed" counts every request the client did not get a translation
# for, "lost" those without any HTTP answer, and a replica that logs requests still in flight at
# the end of its drain counts them as lost too.
#
#   scripts/cluster_sim.sh --model build/models/opus-mt-en-zh --max-new-tokens 16 --out build/bench/cluster.json
#   scripts/cluster_sim.sh --model build/fixtures/tiny --rounds 0 --check     # the ctest (tests/deploy)
# JSON goes to stdout (and --out); with --check the exit status is 1 when a request failed or was lost.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

MODEL=""
OPUSRT="$ROOT/build/tools/opusrt/opusrt"
LOAD="$ROOT/build/bench/load/opusrt_load"
REPLICAS=2
CLIENTS=8
SECONDS_PER_ROUND=10
ROUNDS=5
MAX_BATCH=8
MAX_NEW_TOKENS=""
DRAIN_TIMEOUT=30
SETTLE_SECONDS=2   # load before and after each fault, so that both sides of it are measured
OUT=""
CHECK=0
SCENARIOS="throughput,sigkill,rolling,prestop"
PRESTOP_SECONDS=1   # the preStop sleep of the prestop scenario

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --model) MODEL="$2"; shift 2 ;;
    --opusrt) OPUSRT="$2"; shift 2 ;;
    --load) LOAD="$2"; shift 2 ;;
    --replicas) REPLICAS="$2"; shift 2 ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --seconds) SECONDS_PER_ROUND="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --max-batch) MAX_BATCH="$2"; shift 2 ;;
    --max-new-tokens) MAX_NEW_TOKENS="$2"; shift 2 ;;
    --drain-timeout) DRAIN_TIMEOUT="$2"; shift 2 ;;
    --settle-seconds) SETTLE_SECONDS="$2"; shift 2 ;;
    --scenarios) SCENARIOS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --check) CHECK=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "cluster_sim: unknown argument $1" >&2; usage 2 >&2 ;;
  esac
done
fail() { echo "cluster_sim: $*" >&2; exit 2; }
[ -n "$MODEL" ] || fail "--model DIR is required"
[ -f "$MODEL/config.json" ] || fail "$MODEL: no config.json (a model directory is needed)"
[ -x "$OPUSRT" ] || fail "$OPUSRT: not built (cmake --build build --target opusrt_cli)"
[ -x "$LOAD" ] || fail "$LOAD: not built (cmake --build build --target opusrt_load)"
for tool in haproxy curl jq; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/bootstrap.sh installs it)"
done
[[ "$ROUNDS" =~ ^[0-9]+$ ]] || fail "--rounds must be a number"
[[ "$REPLICAS" =~ ^[0-9]+$ ]] && [ "$REPLICAS" -ge 2 ] && [ "$REPLICAS" -le 8 ] || fail "--replicas must be 2..8"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/opusrt-cluster.XXXXXX")"
declare -A PID=()       # replica number -> pid of its opusrt serve
declare -A STARTS=()    # replica number -> how many times it was started
HAPROXY_PID=""
LOAD_PID=""
cleanup() {
  # Only the processes this script started, by pid.
  [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null || true
  for i in "${!PID[@]}"; do kill -TERM "${PID[$i]}" 2>/dev/null || true; done
  [ -n "$HAPROXY_PID" ] && kill "$HAPROXY_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "cluster_sim: logs kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
log() { echo "cluster_sim: $*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# A loopback port nobody listens on (connect refused), below Linux's ephemeral range (32768+)
# so that no `--port 0` server elsewhere can be handed it; random so that parallel runs rarely
# collide. Sets FREE_PORT (not echoed: a $(...) subshell would forget TAKEN).
declare -A TAKEN=()
pick_port() {
  local port
  for _ in $(seq 1 500); do
    port=$((20000 + RANDOM % 12000))
    [ -n "${TAKEN[$port]:-}" ] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then TAKEN[$port]=1; FREE_PORT="$port"; return; fi
  done
  fail "no free loopback port found"
}
declare -A REPLICA_PORT=()
for i in $(seq 1 "$REPLICAS"); do pick_port; REPLICA_PORT[$i]="$FREE_PORT"; done
pick_port; LB_ONE="$FREE_PORT"
pick_port; LB_ALL="$FREE_PORT"
pick_port; LB_STATS="$FREE_PORT"
pick_port; LB_STRICT="$FREE_PORT"
pick_port; LB_ADMIN="$FREE_PORT"

SERVE_ARGS=(serve --model "$MODEL" --host 127.0.0.1 --workers 1 --threads 1 --max-batch "$MAX_BATCH"
            --drain-timeout "$DRAIN_TIMEOUT")
[ -n "$MAX_NEW_TOKENS" ] && SERVE_ARGS+=(--max-new-tokens "$MAX_NEW_TOKENS")

# Starts replica $1 on its fixed port (HAProxy's configuration names it) and waits until it listens.
start_replica() {
  local i="$1" n logf
  n=$(( ${STARTS[$i]:-0} + 1 )); STARTS[$i]=$n
  logf="$WORK/replica$i.$n.log"
  "$OPUSRT" "${SERVE_ARGS[@]}" --port "${REPLICA_PORT[$i]}" >"$logf" 2>&1 &
  PID[$i]=$!
  for _ in $(seq 1 600); do
    grep -qs "listening on" "$logf" && return 0
    kill -0 "${PID[$i]}" 2>/dev/null || { cat "$logf" >&2; fail "replica $i exited while starting"; }
    sleep 0.1
  done
  fail "replica $i did not listen within 60 s"
}

# Field $3 (by header name) of server $2 in backend $1 from HAProxy's CSV statistics.
lb_stat() {
  curl -fsS "http://127.0.0.1:$LB_STATS/stats;csv" 2>/dev/null | awk -F, -v px="$1" -v sv="$2" -v field="$3" '
    NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == px && $2 == sv { print $col[field] }'
}
# Waits until HAProxy's health checks see server $2 of backend $1 as UP.
wait_lb_up() {
  for _ in $(seq 1 300); do
    [ "$(lb_stat "$1" "$2" status)" = "UP" ] && return 0
    sleep 0.1
  done
  fail "HAProxy did not see $2 of backend $1 up within 30 s"
}

# Backend "one" has replica 1 only, backend "all" every replica: the same balancer process and
# settings for both throughput measurements.
cat >"$WORK/haproxy.cfg" <<EOF
global
  maxconn 1024
  log stdout format raw local0 info
  stats socket ipv4@127.0.0.1:$LB_ADMIN level admin

defaults
  mode http
  log global
  option httplog
  timeout connect 1s
  timeout client 300s
  timeout server 300s
  timeout queue 60s
  # Up to 3 retries, each on another replica when there is one (redispatch on every retry), for
  # a refused or reset connection, an empty answer, or a 503 from a replica that is draining.
  retries 3
  option redispatch 1
  # The whole request is read before a replica is picked: HAProxy can only replay what it holds.
  option http-buffer-request
  retry-on conn-failure empty-response 503
  balance leastconn
  option httpchk GET /health
  http-check expect status 200
  # /health every 500 ms; a replica is out after 2 failures (or at once when a connection to it
  # fails under traffic) and back in after 2 successes.
  default-server check inter 500ms fall 2 rise 2 observe layer4 error-limit 1 on-error mark-down

frontend one
  bind 127.0.0.1:$LB_ONE
  default_backend one

frontend all
  bind 127.0.0.1:$LB_ALL
  default_backend all

backend one
  server r1 127.0.0.1:${REPLICA_PORT[1]}

backend all
$(for i in $(seq 1 "$REPLICAS"); do echo "  server r$i 127.0.0.1:${REPLICA_PORT[$i]}"; done)

# The prestop scenario's balancer: no replay of requests a replica received, only of refused
# connections.
frontend strict
  bind 127.0.0.1:$LB_STRICT
  default_backend strict

backend strict
  retry-on conn-failure
$(for i in $(seq 1 "$REPLICAS"); do echo "  server r$i 127.0.0.1:${REPLICA_PORT[$i]}"; done)

listen stats
  bind 127.0.0.1:$LB_STATS
  stats enable
  stats uri /stats
EOF
haproxy -c -q -f "$WORK/haproxy.cfg" || fail "HAProxy rejects $WORK/haproxy.cfg"

log "starting $REPLICAS replicas (ports ${REPLICA_PORT[*]}) and HAProxy (ports $LB_ONE: 1 replica, $LB_ALL: $REPLICAS replicas)"
for i in $(seq 1 "$REPLICAS"); do start_replica "$i"; done
haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
HAPROXY_PID=$!
wait_lb_up one r1
for i in $(seq 1 "$REPLICAS"); do wait_lb_up all "r$i"; wait_lb_up strict "r$i"; done

# One command to HAProxy's runtime API (the admin socket on loopback).
lb_admin() {
  local fd reply
  exec {fd}<>"/dev/tcp/127.0.0.1/$LB_ADMIN"
  printf '%s\n' "$1" >&"$fd"
  reply="$(cat <&"$fd")"
  exec {fd}>&-
  [ -z "$reply" ] || fail "HAProxy: $1: $reply"
}

# One opusrt_load run against port $1 for at most $2 seconds, JSON to $3; extra arguments follow.
run_load() {
  local port="$1" seconds="$2" out="$3"; shift 3
  "$LOAD" --url "127.0.0.1:$port" --clients "$CLIENTS" --seconds "$seconds" --rounds 1 "$@" >"$out" 2>>"$WORK/load.log"
}

REPORT="$(jq -n --arg model "$MODEL" --argjson clients "$CLIENTS" --argjson max_batch "$MAX_BATCH" \
  --arg max_new_tokens "$MAX_NEW_TOKENS" --arg haproxy "$(haproxy -v | head -n 1)" --argjson cores "$(nproc)" \
  --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --argjson replicas "$REPLICAS" \
  '{model: $model, replicas: $replicas, clients: $clients, replica: {workers: 1, threads: 1, max_batch: $max_batch,
    max_new_tokens: ($max_new_tokens | if . == "" then null else tonumber end)},
    balancer: $haproxy, cores: $cores, loadavg_at_start: $load}')"

# CPU seconds (user + system) the replicas running now have used: with the wall time of a run,
# how many cores they really got. On a shared machine that, not the balancer, caps the scaling.
CLK_TCK="$(getconf CLK_TCK)"
replicas_cpu_seconds() {
  local ticks=0 i
  for i in "${!PID[@]}"; do
    [ -r "/proc/${PID[$i]}/stat" ] || continue
    # Fields after the ")" that ends the command name: utime is the 12th, stime the 13th.
    ticks=$(( ticks + $(sed 's/^.*) //' "/proc/${PID[$i]}/stat" | awk '{ print $12 + $13 }') ))
  done
  awk -v t="$ticks" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", t / hz }'
}

# ---- throughput: 1 vs N replicas ---------------------------------------------------------------
if [[ ",$SCENARIOS," == *",throughput,"* ]] && [ "$ROUNDS" -gt 0 ]; then
  rounds_json="[]"
  for round in $(seq 1 "$ROUNDS"); do
    order=(one all); [ $((round % 2)) -eq 0 ] && order=(all one)
    declare -A rps=() cores=()
    for backend in "${order[@]}"; do
      port="$LB_ONE"; [ "$backend" = all ] && port="$LB_ALL"
      log "throughput round $round/$ROUNDS: $backend replica(s), $SECONDS_PER_ROUND s"
      # opusrt_load warms up for 1 s first; the CPU is counted over the measured part only
      # (approximately: from after the warm-up to the end).
      ( sleep 1; replicas_cpu_seconds >"$WORK/cpu0" ) &
      run_load "$port" "$SECONDS_PER_ROUND" "$WORK/rps.json" --warmup-seconds 1
      wait $!
      rps[$backend]="$(jq '.run.requests_per_second' "$WORK/rps.json")"
      cores[$backend]="$(awk -v a="$(cat "$WORK/cpu0")" -v b="$(replicas_cpu_seconds)" -v s="$(jq '.run.seconds' "$WORK/rps.json")" \
        'BEGIN { printf "%.3f", (b - a) / s }')"
      errors="$(jq '.run.errors' "$WORK/rps.json")"
      [ "$errors" = 0 ] || log "warning: $errors failed request(s) in the $backend-replica run"
    done
    rounds_json="$(jq -c --argjson one "${rps[one]}" --argjson all "${rps[all]}" \
      --argjson cores_one "${cores[one]}" --argjson cores_all "${cores[all]}" \
      '. + [{one: $one, all: $all, ratio: ($all / $one), replica_cores_one: $cores_one, replica_cores_all: $cores_all}]' <<<"$rounds_json")"
  done
  REPORT="$(jq --argjson rounds "$rounds_json" --argjson seconds "$SECONDS_PER_ROUND" '
    def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    . + {throughput: {seconds_per_run: $seconds, rounds: $rounds,
      requests_per_second_1_replica_median: ([$rounds[].one] | median),
      requests_per_second_all_replicas_median: ([$rounds[].all] | median),
      ratio_all_over_1: {median: ([$rounds[].ratio] | median), min: ([$rounds[].ratio] | min), max: ([$rounds[].ratio] | max)},
      replica_cores_used_median: {one: ([$rounds[].replica_cores_one] | median), all: ([$rounds[].replica_cores_all] | median)},
      requests_per_cpu_second_median: {one: ([$rounds[] | .one / .replica_cores_one] | median),
                                       all: ([$rounds[] | .all / .replica_cores_all] | median)}}}' <<<"$REPORT")"
fi

# Retries and redispatches HAProxy made in backend $1 (default "all") so far.
lb_retries() { echo "$(lb_stat "${1:-all}" BACKEND wretr) $(lb_stat "${1:-all}" BACKEND wredis)"; }

# Starts load on the balancer port $2 (default: all replicas) until $WORK/stop exists; sets LOAD_PID.
start_fault_load() {
  rm -f "$WORK/stop"
  "$LOAD" --url "127.0.0.1:${2:-$LB_ALL}" --clients "$CLIENTS" --seconds 600 --rounds 1 --warmup-seconds 0 \
    --until-file "$WORK/stop" >"$WORK/$1.json" 2>>"$WORK/load.log" &
  LOAD_PID=$!
  sleep "$SETTLE_SECONDS"
}
stop_fault_load() {
  sleep "$SETTLE_SECONDS"
  touch "$WORK/stop"
  wait "$LOAD_PID" || fail "opusrt_load failed (see $WORK/load.log)"
  LOAD_PID=""
}
# Requests a replica's log says were still in flight when its drain timed out.
drain_leftovers() {
  cat "$WORK"/replica"$1".*.log | awk '/request\(s\) still in flight after the drain timeout/ { n += $3 } END { print n + 0 }'
}

# ---- SIGKILL mid-load --------------------------------------------------------------------------
if [[ ",$SCENARIOS," == *",sigkill,"* ]]; then
  log "sigkill: load on $REPLICAS replicas, SIGKILL to replica $REPLICAS, restart it"
  read -r retries0 redispatch0 <<<"$(lb_retries)"
  start_fault_load sigkill
  killed_at="$(now)"
  kill -KILL "${PID[$REPLICAS]}"
  wait "${PID[$REPLICAS]}" && kill_status=0 || kill_status=$?
  sleep 1   # the replica stays down for a moment, as a pod does while the kubelet restarts it
  start_replica "$REPLICAS"
  wait_lb_up all "r$REPLICAS"
  back_after="$(elapsed "$killed_at")"
  stop_fault_load
  read -r retries1 redispatch1 <<<"$(lb_retries)"
  REPORT="$(jq --slurpfile run "$WORK/sigkill.json" --argjson status "$kill_status" --argjson killed "$REPLICAS" --argjson back "$back_after" \
    --argjson retries $((retries1 - retries0)) --argjson redispatches $((redispatch1 - redispatch0)) '
    . + {sigkill: {requests_ok: $run[0].run.requests, failed: $run[0].run.errors, lost: $run[0].run.no_response,
      seconds: $run[0].run.seconds, requests_per_second: $run[0].run.requests_per_second,
      killed_replica: $killed, killed_replica_exit_status: $status, replica_back_in_balancer_after_seconds: $back,
      balancer_retries: $retries, balancer_redispatches: $redispatches}}' <<<"$REPORT")"
fi

# ---- rolling restart with SIGTERM drain --------------------------------------------------------
if [[ ",$SCENARIOS," == *",rolling,"* ]]; then
  log "rolling: load on $REPLICAS replicas, SIGTERM + restart of each in turn"
  read -r retries0 redispatch0 <<<"$(lb_retries)"
  start_fault_load rolling
  steps="[]"
  for i in $(seq 1 "$REPLICAS"); do
    signalled_at="$(now)"
    kill -TERM "${PID[$i]}"
    wait "${PID[$i]}" && status=0 || status=$?
    drained="$(elapsed "$signalled_at")"
    start_replica "$i"
    wait_lb_up all "r$i"
    [ "$i" = 1 ] && wait_lb_up one r1
    steps="$(jq -c --argjson i "$i" --argjson status "$status" --argjson drained "$drained" \
      --argjson back "$(elapsed "$signalled_at")" \
      '. + [{replica: $i, exit_status: $status, drain_seconds: $drained, back_in_balancer_after_seconds: $back}]' <<<"$steps")"
  done
  stop_fault_load
  read -r retries1 redispatch1 <<<"$(lb_retries)"
  leftovers=0
  for i in $(seq 1 "$REPLICAS"); do leftovers=$(( leftovers + $(drain_leftovers "$i") )); done
  REPORT="$(jq --slurpfile run "$WORK/rolling.json" --argjson steps "$steps" --argjson leftovers "$leftovers" \
    --argjson retries $((retries1 - retries0)) --argjson redispatches $((redispatch1 - redispatch0)) '
    . + {rolling: {requests_ok: $run[0].run.requests, failed: $run[0].run.errors,
      lost: ($run[0].run.no_response + $leftovers), in_flight_after_drain_timeout: $leftovers,
      seconds: $run[0].run.seconds, requests_per_second: $run[0].run.requests_per_second, replicas: $steps,
      balancer_retries: $retries, balancer_redispatches: $redispatches}}' <<<"$REPORT")"
fi

# ---- rolling restart as Kubernetes does it: out of the balancer first, then SIGTERM -------------
if [[ ",$SCENARIOS," == *",prestop,"* ]]; then
  log "prestop: load on $REPLICAS replicas (no replay of requests), each in turn out of the balancer, SIGTERM, restart"
  read -r retries0 redispatch0 <<<"$(lb_retries strict)"
  start_fault_load prestop "$LB_STRICT"
  steps="[]"
  for i in $(seq 1 "$REPLICAS"); do
    signalled_at="$(now)"
    lb_admin "set server strict/r$i state maint"   # the endpoint goes...
    sleep "$PRESTOP_SECONDS"                        # ...while preStop sleeps
    kill -TERM "${PID[$i]}"
    wait "${PID[$i]}" && status=0 || status=$?
    start_replica "$i"
    lb_admin "set server strict/r$i state ready"
    wait_lb_up strict "r$i"
    for backend in all one; do [ "$backend" = one ] && [ "$i" != 1 ] || wait_lb_up "$backend" "r$i"; done
    steps="$(jq -c --argjson i "$i" --argjson status "$status" --argjson back "$(elapsed "$signalled_at")" \
      '. + [{replica: $i, exit_status: $status, back_in_balancer_after_seconds: $back}]' <<<"$steps")"
  done
  stop_fault_load
  read -r retries1 redispatch1 <<<"$(lb_retries strict)"
  leftovers=0
  for i in $(seq 1 "$REPLICAS"); do leftovers=$(( leftovers + $(drain_leftovers "$i") )); done
  REPORT="$(jq --slurpfile run "$WORK/prestop.json" --argjson steps "$steps" --argjson leftovers "$leftovers" \
    --argjson prestop "$PRESTOP_SECONDS" --argjson retries $((retries1 - retries0)) --argjson redispatches $((redispatch1 - redispatch0)) '
    . + {prestop: {prestop_seconds: $prestop, balancer_retries_on: "conn-failure",
      requests_ok: $run[0].run.requests, failed: $run[0].run.errors,
      lost: ($run[0].run.no_response + $leftovers), in_flight_after_drain_timeout: $leftovers,
      seconds: $run[0].run.seconds, requests_per_second: $run[0].run.requests_per_second, replicas: $steps,
      balancer_retries: $retries, balancer_redispatches: $redispatches}}' <<<"$REPORT")"
fi

REPORT="$(jq --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" '. + {loadavg_at_end: $load}' <<<"$REPORT")"
[ -n "$OUT" ] && { mkdir -p "$(dirname "$OUT")"; echo "$REPORT" >"$OUT"; }
echo "$REPORT"

if [ "$CHECK" = 1 ]; then
  bad="$(jq '[(.sigkill // {}), (.rolling // {}), (.prestop // {}) | (.failed // 0) + (.lost // 0)] | add' <<<"$REPORT")"
  clean_exits="$(jq '[(.rolling.replicas // [])[], (.prestop.replicas // [])[] | select(.exit_status != 0)] | length' <<<"$REPORT")"
  ok_requests="$(jq '[(.sigkill.requests_ok // 1), (.rolling.requests_ok // 1), (.prestop.requests_ok // 1)] | min' <<<"$REPORT")"
  if [ "$bad" != 0 ] || [ "$clean_exits" != 0 ] || [ "$ok_requests" = 0 ]; then
    log "FAILED: $bad request(s) failed or lost, $clean_exits replica(s) did not exit 0 after SIGTERM, min requests served $ok_requests"
    sed -n '1,40p' "$WORK/load.log" >&2
    exit 1
  fi
  log "ok: no request failed or lost"
fi
