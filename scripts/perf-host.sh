#!/usr/bin/env bash
# Throughput and latency of CronFunctions under a real Functions host, side by side with the platform floor
# (bench/TrivialApp: one function that only answers 401), in one run (not part of CI).
#
#   CRON_FUNCTIONS_HOST=/tmp/fhost scripts/perf-host.sh > perf.md     # or with `func` on PATH
#
# Builds both apps (Release) and the load generator (bench/TrivialApp/LoadGen), starts one Azurite (in memory) and one
# host per app on free ports, makes check-current not due (one started run of a fake backend that exits at once), then
# measures, interleaved in rounds: (a) trivial 401, (b) the app's cron endpoint with a bad token (refused),
# (c) the app's cron endpoint with a valid token for a job that is not due — at 1 and 16 concurrent callers, each
# after a warm-up, each for a fixed duration. Prints Markdown (calls/s, p50/p99, ratios to the trivial function,
# CPU ms per call of each host and worker process). Exits 1 if any answer was not the expected one.
#
# Knobs: PERF_ROUNDS (3), PERF_SECONDS (5), PERF_WARMUP (2), PERF_CONCURRENCY ("1 16"). PERF_PROFILE=1 adds a third
# host running the app with extra settings, PERF_VARIANT_SETTINGS (space-separated NAME=VALUE; default
# "Logging__LogLevel__CronFunctions=Error": the app's own logs off), measured as the case "refused, PERF_VARIANT_NAME"
# (default "app logs off"), to show what a part of the refused path costs.
set -uo pipefail
# shellcheck source=scripts/e2e-host.sh
source "$(dirname "${BASH_SOURCE[0]}")/e2e-host.sh"

main() {
  command -v python3 >/dev/null || die "python3 is needed"
  WORK=$(mktemp -d /tmp/cron-perf.XXXXXX)
  BACKEND="$WORK/backend"
  trap 'stop_spawned; stop_jobs "$BACKEND"; [ "${PERF_KEEP:-0}" = 1 ] && log "kept $WORK" || rm -rf "$WORK"' EXIT
  trap 'exit 130' INT TERM
  choose_host
  local token; token=$(python3 -c 'import secrets; print(secrets.token_hex(24))')

  build_app "$REPO_ROOT/CronFunctions/CronFunctions.csproj" "$WORK/app" "$WORK/build-app.log"
  build_app "$REPO_ROOT/bench/TrivialApp/TrivialApp.csproj" "$WORK/trivial" "$WORK/build-trivial.log"
  # The same floor with the app's Application Insights wiring: what the platform's monitoring costs a call.
  build_app "$REPO_ROOT/bench/TrivialApp.AppInsights/TrivialApp.AppInsights.csproj" "$WORK/trivial-ai" "$WORK/build-trivial-ai.log"
  log "building the load generator"
  dotnet build "$REPO_ROOT/bench/TrivialApp/LoadGen/LoadGen.csproj" -c Release -o "$WORK/loadgen" >"$WORK/build-loadgen.log" 2>&1 \
    || { tail -20 "$WORK/build-loadgen.log" >&2; die "load generator build failed"; }
  make_fake_backend "$BACKEND" 0
  start_azurite "$WORK/azurite.log"

  local app_port trivial_port trivial_ai_port
  app_port=$(free_port); trivial_port=$(free_port); trivial_ai_port=$(free_port)
  start_host "$WORK/trivial" "$trivial_port" "$WORK/host-trivial.log" "cron-perf-trivial"
  local trivial_host=$HOST_PID
  start_host "$WORK/trivial-ai" "$trivial_ai_port" "$WORK/host-trivial-ai.log" "cron-perf-trivial-ai"
  local trivial_ai_host=$HOST_PID
  # The per-client limit is at its maximum: under the host every call comes from the same address, and the
  # measurement is of the pipeline, not of the limiter's refusals.
  start_host "$WORK/app" "$app_port" "$WORK/host-app.log" "cron-perf-app" \
    "ERIFY_CRON_TOKEN=$token" \
    "Cron__Local__PythonExecutable=/bin/sh" \
    "Cron__Local__BackendDirectory=$BACKEND" \
    "Cron__RateLimit__PermitsPerMinute=100000" \
    "Cron__RateLimit__RefusalsPerMinute=100000"
  local app_host=$HOST_PID
  local quiet_port="" quiet_host=""
  if [ "${PERF_PROFILE:-0}" = 1 ]; then
    cp -r "$WORK/app" "$WORK/app-quiet"
    quiet_port=$(free_port)
    start_host "$WORK/app-quiet" "$quiet_port" "$WORK/host-app-quiet.log" "cron-perf-quiet" \
      "ERIFY_CRON_TOKEN=$token" \
      "Cron__Local__PythonExecutable=/bin/sh" \
      "Cron__Local__BackendDirectory=$BACKEND" \
      "Cron__RateLimit__PermitsPerMinute=100000" \
      ${PERF_VARIANT_SETTINGS:-Logging__LogLevel__CronFunctions=Error}
    quiet_host=$HOST_PID
    wait_http "http://127.0.0.1:$quiet_port/api/health" 120 >/dev/null || die "the quiet app's host did not answer (log: $WORK/host-app-quiet.log)"
  fi
  wait_http "http://127.0.0.1:$trivial_port/api/cron/trivial" 120 >/dev/null || die "the trivial app's host did not answer (log: $WORK/host-trivial.log)"
  wait_http "http://127.0.0.1:$trivial_ai_port/api/cron/trivial" 120 >/dev/null || die "the trivial app's (App Insights) host did not answer (log: $WORK/host-trivial-ai.log)"
  wait_http "http://127.0.0.1:$app_port/api/health" 120 >/dev/null || die "the app's host did not answer (log: $WORK/host-app.log)"

  # check-current (daily schedule) becomes not due once one run has started; the fake job exits at once.
  local answer
  answer=$(curl -s -X POST -H "Authorization: Bearer $token" "http://127.0.0.1:$app_port/api/cron/check-current")
  grep -q '"started"' <<<"$answer" || die "could not start check-current to make it not due: $answer"
  for _ in $(seq 1 40); do
    answer=$(curl -s -X POST -H "Authorization: Bearer $token" "http://127.0.0.1:$app_port/api/cron/check-current")
    grep -q '"not_due"' <<<"$answer" && break
    sleep 0.25
  done
  grep -q '"not_due"' <<<"$answer" || die "check-current did not become not due: $answer"

  local trivial_worker trivial_ai_worker app_worker
  trivial_worker=$(pgrep -f "$WORK/trivial/TrivialApp.dll --host" | head -1)
  trivial_ai_worker=$(pgrep -f "$WORK/trivial-ai/TrivialApp.dll --host" | head -1)
  app_worker=$(worker_pid "$WORK/app")
  if [ -z "$trivial_worker" ] || [ -z "$app_worker" ]; then die "could not find the worker processes"; fi
  local quiet_worker=""
  [ -n "$quiet_host" ] && quiet_worker=$(worker_pid "$WORK/app-quiet")

  python3 - "$WORK/plan.json" <<PY
import json, sys
trivial = {"host": $trivial_host, "worker": $trivial_worker, "azurite": $AZURITE_PID}
trivial_ai = {"host": $trivial_ai_host, "worker": ${trivial_ai_worker:-0}, "azurite": $AZURITE_PID}
app = {"host": $app_host, "worker": $app_worker, "azurite": $AZURITE_PID}
body = '{"source":"perf"}'
json_headers = {"Content-Type": "application/json"}
plan = {
  "rounds": int("${PERF_ROUNDS:-3}"),
  "warmupSeconds": float("${PERF_WARMUP:-2}"),
  "durationSeconds": float("${PERF_SECONDS:-5}"),
  "concurrency": [int(c) for c in "${PERF_CONCURRENCY:-1 16}".split()],
  "cases": [
    {"name": "trivial 401", "method": "POST", "url": "http://127.0.0.1:$trivial_port/api/cron/trivial",
     "expectStatus": 401, "expectBody": "Unauthorized", "headers": {"Authorization": "Bearer wrong"}, "body": body, "processes": trivial},
    {"name": "trivial 401 + App Insights", "method": "POST", "url": "http://127.0.0.1:$trivial_ai_port/api/cron/trivial",
     "expectStatus": 401, "expectBody": "Unauthorized", "headers": {"Authorization": "Bearer wrong"}, "body": body, "processes": trivial_ai},
    {"name": "refused (bad token)", "method": "POST", "url": "http://127.0.0.1:$app_port/api/cron/check-current",
     "expectStatus": 401, "expectBody": "Unauthorized", "headers": {"Authorization": "Bearer wrong"}, "body": body, "processes": app},
    {"name": "not due (valid token)", "method": "POST", "url": "http://127.0.0.1:$app_port/api/cron/check-current",
     "expectStatus": 200, "expectBody": "not_due", "headers": {"Authorization": "Bearer $token"}, "body": body, "processes": app},
  ],
}
if "$quiet_host":
    plan["cases"].append(
    {"name": "refused, ${PERF_VARIANT_NAME:-app logs off}", "method": "POST", "url": "http://127.0.0.1:$quiet_port/api/cron/check-current",
     "expectStatus": 401, "expectBody": "Unauthorized", "headers": {"Authorization": "Bearer wrong"}, "body": body,
     "processes": {"host": int("$quiet_host" or 0), "worker": int("${quiet_worker:-0}"), "azurite": $AZURITE_PID}})
json.dump(plan, open(sys.argv[1], "w"), indent=2)
PY

  echo "# CronFunctions vs. the trivial function under a real Functions host"
  echo
  echo "- host: $HOST_KIND$( [ "$HOST_KIND" = folder ] && echo " ($CRON_FUNCTIONS_HOST)"); apps: Release builds of $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$REPO_ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(dotnet --version 2>/dev/null | sed 's/^/SDK /'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- started $(date -u +%Y-%m-%dT%H:%M:%SZ); the load generator, both hosts, both workers and Azurite share the machine"
  echo "- command: \`CRON_FUNCTIONS_HOST=${CRON_FUNCTIONS_HOST:-} PERF_ROUNDS=${PERF_ROUNDS:-3} PERF_SECONDS=${PERF_SECONDS:-5} PERF_WARMUP=${PERF_WARMUP:-2} scripts/perf-host.sh\`"
  echo
  log "measuring (this takes about $(( ${PERF_ROUNDS:-3} * (4 + ${PERF_PROFILE:-0}) * $(wc -w <<<"${PERF_CONCURRENCY:-1 16}") * (${PERF_WARMUP:-2} + ${PERF_SECONDS:-5}) )) s)"
  dotnet "$WORK/loadgen/LoadGen.dll" "$WORK/plan.json"
  local rc=$?
  echo
  # What each host printed per call (the worker's logs reach the host over gRPC and are written by it).
  echo "Host log lines written during the run: trivial $(wc -l <"$WORK/host-trivial.log"), app $(wc -l <"$WORK/host-app.log")$( [ -n "$quiet_host" ] && echo ", app variant ($(echo "${PERF_VARIANT_SETTINGS:-Logging__LogLevel__CronFunctions=Error}")) $(wc -l <"$WORK/host-app-quiet.log")"); the app's refusal warnings: $(grep -c 'Refused check-current' "$WORK/host-app.log")."
  echo "CPU ms/call azurite: the emulator's CPU over each cell ÷ the cell's calls (run records and lock reads; for the trivial function, background lease renewals only)."
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  return $rc
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
