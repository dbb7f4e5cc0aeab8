#!/usr/bin/env bash
# One command to run CronFunctions locally: Azurite (from npm) as storage, the app under a Functions host, and, once
# the host answers, what to do next (a curl that starts a job, the runs query, the status page). Ctrl-C stops what
# this script started.
#
# Needs the .NET 10 SDK, Node 20 + npm, and a Functions host, either:
#   - Azure Functions Core Tools v4 (`func`) on PATH, or
#   - CRON_FUNCTIONS_HOST=<folder with run_host.sh>: a host built from source (e.g. /tmp/fhost, recipe in
#     ../shared/tools/functions-host/README.md); it wins over `func` when set. It does not read local.settings.json, so its Values are exported here
#     (variables already set in the environment win, as with `func`).
# Environment: PORT (default 7071), HOST_WAIT_SECONDS (how long to wait for the host to answer, default 180).
# Jobs run the demo backend (samples/demo-backend) unless local.settings.json points at a Django checkout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${PORT:-7071}
wait_seconds=${HOST_WAIT_SECONDS:-180}
appdir="$root/CronFunctions/bin/Debug/net10.0"

if [ -n "${CRON_FUNCTIONS_HOST:-}" ]; then
  if [ ! -x "$CRON_FUNCTIONS_HOST/run_host.sh" ]; then
    echo "CRON_FUNCTIONS_HOST=$CRON_FUNCTIONS_HOST has no executable run_host.sh: build the host first, or unset it to use 'func'." >&2
    exit 1
  fi
  host_kind=built
elif command -v func >/dev/null 2>&1; then
  host_kind=func
else
  echo "No Functions host: install Azure Functions Core Tools v4 ('func', e.g. 'npm i -g azure-functions-core-tools@4')," >&2
  echo "or set CRON_FUNCTIONS_HOST to a folder with run_host.sh (a host built from source), then re-run." >&2
  exit 1
fi

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "Port $port is already in use: stop what listens there, or choose another port with PORT=<port>." >&2
  exit 1
fi

[ -x node_modules/.bin/azurite ] || npm ci --no-audit --no-fund

if [ ! -f local.settings.json ]; then
  cp local.settings.json.example local.settings.json
  echo "Created local.settings.json from local.settings.json.example (never commit it)."
fi

# Fail closed needs a token: generate one for this machine if none is set, and show it once for curl.
if grep -q '"ERIFY_CRON_TOKEN": ""' local.settings.json; then
  token=$(node -e 'console.log(require("crypto").randomBytes(24).toString("hex"))')
  sed -i.bak "s/\"ERIFY_CRON_TOKEN\": \"\"/\"ERIFY_CRON_TOKEN\": \"$token\"/" local.settings.json && rm -f local.settings.json.bak
  echo "Generated a local ERIFY_CRON_TOKEN: $token"
fi

# A value of local.settings.json's Values; one already set in the environment wins (as it does with `func`).
setting() {
  if [ -n "${!1+set}" ]; then
    printf '%s' "${!1}"
  else
    node -e 'const v = require(process.argv[1]).Values || {}; process.stdout.write(String(v[process.argv[2]] ?? ""))' \
      "$root/local.settings.json" "$1"
  fi
}

# GET a URL: prints "<status> <body>" ("000 " when nothing answers). Node, so curl is not needed to start.
probe() {
  node -e '
    const req = require("http").get(process.argv[1], { timeout: 5000 }, res => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", d => body += d);
      res.on("end", () => process.stdout.write(res.statusCode + " " + body));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => process.stdout.write("000 "));' "$1"
}

# Started in a session of their own, so the terminal's Ctrl-C reaches only this script, which then stops them in
# order: the host first (it writes its last run records and releases its locks on the way out), then Azurite.
detached() {
  if command -v setsid >/dev/null 2>&1; then
    setsid "$@" &
  else
    "$@" &
  fi
}

azurite_pid=""
host_pid=""
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$host_pid" ] && kill -0 "$host_pid" 2>/dev/null; then
    echo "Stopping the Functions host (pid $host_pid)..."
    kill -TERM "$host_pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
      kill -0 "$host_pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$host_pid" 2>/dev/null; then
      echo "The host did not stop within 30 s: killing it and its worker." >&2
      pkill -KILL -P "$host_pid" 2>/dev/null || true
      kill -KILL "$host_pid" 2>/dev/null || true
    fi
  fi
  if [ -n "$azurite_pid" ]; then
    kill "$azurite_pid" 2>/dev/null || true
    echo "Stopped Azurite (pid $azurite_pid)."
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! (exec 3<>/dev/tcp/127.0.0.1/10000) 2>/dev/null; then
  mkdir -p .azurite
  detached node_modules/.bin/azurite --silent --skipApiVersionCheck --disableTelemetry --location .azurite \
    --debug .azurite/debug.log --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1
  azurite_pid=$!
  echo "Started Azurite (pid $azurite_pid), data in .azurite/"
  for _ in $(seq 1 60); do
    (exec 3<>/dev/tcp/127.0.0.1/10000) 2>/dev/null && break
    kill -0 "$azurite_pid" 2>/dev/null || { echo "Azurite exited at start: see .azurite/debug.log" >&2; azurite_pid=""; exit 1; }
    sleep 0.5
  done
else
  echo "Using the storage emulator already listening on 127.0.0.1:10000"
fi

dotnet build CronFunctions/CronFunctions.csproj -c Debug

# The app resolves a relative backend directory from its working directory, the build output.
backend=$(setting Cron__Local__BackendDirectory)
backend_path=$(node -e 'process.stdout.write(require("path").resolve(process.argv[1], process.argv[2]))' "$appdir" "${backend:-.}")
if [ ! -d "$backend_path" ]; then
  echo "Warning: the backend directory $backend_path (Cron__Local__BackendDirectory) does not exist: jobs will answer 500." >&2
  echo "Point it at a Django checkout, or at the demo backend as local.settings.json.example does." >&2
fi

cd "$appdir"
if [ "$host_kind" = built ]; then
  # Core Tools would apply local.settings.json's Values; this host does not, so export them (environment wins).
  while IFS= read -r -d '' name && IFS= read -r -d '' value; do
    [ -n "${!name+set}" ] || export "$name=$value"
  done < <(node -e '
    const values = require(process.argv[1]).Values || {};
    for (const [name, value] of Object.entries(values)) {
      if (/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) process.stdout.write(name + "\0" + String(value) + "\0");
    }' "$root/local.settings.json")
  export FHOST_STORAGE="${FHOST_STORAGE-${AzureWebJobsStorage:-UseDevelopmentStorage=true}}"
  echo "Starting the Functions host from $CRON_FUNCTIONS_HOST on port $port"
  detached "$CRON_FUNCTIONS_HOST/run_host.sh" "$appdir" "$port"
else
  echo "Starting 'func host start' on port $port"
  detached func host start --port "$port"
fi
host_pid=$!

base="http://localhost:$port"
echo "Waiting for the host to answer GET $base/api/health (up to ${wait_seconds} s)..."
started=$SECONDS
last_report=$SECONDS
health=""
while :; do
  if ! kill -0 "$host_pid" 2>/dev/null; then
    rc=0
    wait "$host_pid" || rc=$?
    host_pid=""
    echo "The Functions host exited (code $rc) before answering; see its output above." >&2
    exit 1
  fi
  answer=$(probe "http://127.0.0.1:$port/api/health")
  status=${answer%% *}
  if [ "$status" = 200 ]; then
    health=${answer#* }
    break
  fi
  if (( SECONDS - started >= wait_seconds )); then
    if [ "$status" = 503 ]; then
      health=${answer#* } # the app answers, but a check fails: say so below, with what to try
    else
      echo "The host did not answer within ${wait_seconds} s (last: HTTP $status); it is still running, see its output above. Ctrl-C stops it." >&2
    fi
    break
  fi
  if (( SECONDS - last_report >= 5 )); then
    echo "  ...still waiting for the host ($((SECONDS - started)) s, last: ${status/#000/no answer})"
    last_report=$SECONDS
  fi
  sleep 1
done

if [ -n "$health" ]; then
  health_status=$(sed -nE 's/^\{"status":"([A-Za-z]+)".*/\1/p' <<<"$health")
  if [ "$health_status" != Healthy ]; then
    echo "Warning: the app answers but is not healthy (HTTP $status): $health" >&2
  fi
  token=$(setting ERIFY_CRON_TOKEN)
  demo_hint=""
  if grep -qs DEMO_BACKEND_FAIL "$backend_path/manage.py"; then
    demo_hint="Make demo jobs fail: restart with DEMO_BACKEND_FAIL=1 (or a job name, e.g. sopn-parse). "
  fi
  cat <<EOF

==================================================================================================================
CronFunctions answers on $base (health: ${health_status:-unknown})
Jobs run: $(setting Cron__Local__PythonExecutable) manage.py <command>, in $backend_path

Start a job (answers {"status":"started",...}):
  curl -i -X POST "$base/api/cron/sopn-parse?force=true" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"source":"curl"}'
Its run, with the outcome, exit code and last output lines once it ends (a few seconds later):
  curl -s "$base/api/cron/runs?job=sopn-parse&limit=5" -H "Authorization: Bearer $token"
Status page:
  $base/api/cron/status
${demo_hint}Stop everything: Ctrl-C.
==================================================================================================================

EOF
fi

rc=0
wait "$host_pid" || rc=$?
host_pid=""
exit "$rc"
