#!/usr/bin/env bash
# End-to-end checks of CronFunctions under a real Azure Functions host, through real HTTP (not part of CI).
#
#   scripts/e2e-host.sh                      # `func` (Core Tools v4) when it is on PATH, else:
#   CRON_FUNCTIONS_HOST=/tmp/fhost scripts/e2e-host.sh   # a host folder with run_host.sh (see the developers' guide)
#
# It builds the app (Release) into a temp folder, starts Azurite (from node_modules, in memory, on free ports) and
# the host on a free port with a generated token and a fake backend (a shell `manage.py` that logs its argv and pid
# and sleeps), then checks: health, 401 (no/bad token), 405 + Allow on other methods, 400 for bad mop-recent deltas,
# the six endpoints (started / already_running / not_due as they come), the runs API, the lock under 50 concurrent
# calls (exactly one run), a SIGKILL of the worker mid-run (the host restarts it; the lock recovers), and a 10,000-call
# bad-token flood with spoofed X-Forwarded-For entries, with valid calls during it and after it. Prints PASS/FAIL
# per check and a summary; exits 1 on a failed check, 2 when it cannot set up. Everything it starts is stopped, and its temp folder removed, on exit (E2E_KEEP=1 keeps the folder).
#
# Also a library: scripts/perf-host.sh sources this file for the set-up functions (build, Azurite, host).
set -uo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEVSTORE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

# ---------------------------------------------------------------------------------------------------------------
# Set-up helpers (shared with perf-host.sh). Everything lives under $WORK; every started process is recorded.
# ---------------------------------------------------------------------------------------------------------------
STARTED_PIDS=()   # process-group leaders we started (setsid), stopped on exit

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "set-up failed: $*"; exit 2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Milliseconds since the epoch.
now_ms() { date +%s%3N; }

# Starts a command in its own session (so its whole group can be stopped) with output to a file; records its pid
# in STARTED_PIDS and SPAWNED_PID (not printed: a $(...) would lose the record).
spawn() { # spawn LOGFILE CMD...
  local out=$1; shift
  setsid "$@" >"$out" 2>&1 </dev/null &
  SPAWNED_PID=$!
  disown "$SPAWNED_PID" 2>/dev/null # stopped by stop_spawned; no job-control notices
  STARTED_PIDS+=("$SPAWNED_PID")
}

# Stops what spawn started: SIGTERM to each group, then SIGKILL to whatever is left after a grace period.
stop_spawned() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
  for _ in $(seq 1 40); do
    local alive=0
    for pid in "${STARTED_PIDS[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.25
  done
  for pid in "${STARTED_PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
  STARTED_PIDS=()
}

# Builds a Functions app project (Release) into a folder.
build_app() { # build_app PROJECT OUTDIR LOGFILE
  log "building $1 (Release)"
  dotnet build "$1" -c Release -o "$2" >"$3" 2>&1 || { tail -30 "$3" >&2; die "build of $1 failed (log: $3)"; }
}

# Starts Azurite (blob, queue, table; in memory) on free ports; sets AZURITE_CONNECTION and AZURITE_PID.
start_azurite() { # start_azurite LOGFILE
  local azurite="$REPO_ROOT/node_modules/.bin/azurite"
  [ -x "$azurite" ] || die "Azurite is not installed: run 'npm ci' in $REPO_ROOT"
  local blob queue table
  blob=$(free_port); queue=$(free_port); table=$(free_port)
  spawn "$1" "$azurite" --silent --inMemoryPersistence --skipApiVersionCheck --disableTelemetry \
    --blobHost 127.0.0.1 --blobPort "$blob" --queueHost 127.0.0.1 --queuePort "$queue" \
    --tableHost 127.0.0.1 --tablePort "$table"
  for _ in $(seq 1 60); do
    (exec 3<>"/dev/tcp/127.0.0.1/$blob") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$table") 2>/dev/null && break
    sleep 0.25
  done
  (exec 3<>"/dev/tcp/127.0.0.1/$blob") 2>/dev/null || die "Azurite did not listen on $blob (log: $1)"
  # shellcheck disable=SC2034 # read by perf-host.sh
  AZURITE_PID=$SPAWNED_PID
  AZURITE_CONNECTION="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$DEVSTORE_KEY;BlobEndpoint=http://127.0.0.1:$blob/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue/devstoreaccount1;TableEndpoint=http://127.0.0.1:$table/devstoreaccount1"
  log "Azurite on 127.0.0.1:$blob (blob), :$queue, :$table (in memory)"
}

# Which host runs the app: `func` on PATH, else $CRON_FUNCTIONS_HOST/run_host.sh. Sets HOST_KIND.
choose_host() {
  if command -v func >/dev/null 2>&1; then
    HOST_KIND=func
  elif [ -n "${CRON_FUNCTIONS_HOST:-}" ] && [ -x "$CRON_FUNCTIONS_HOST/run_host.sh" ]; then
    HOST_KIND=folder
  else
    die "no Functions host: put Azure Functions Core Tools v4 ('func') on PATH, or set CRON_FUNCTIONS_HOST to a host folder with run_host.sh (see the developers' guide, \"Real Functions host\")"
  fi
}

# Starts the host for an app folder on a port with app settings given as NAME=VALUE words; sets HOST_PID.
# Settings reach the worker as environment variables (both hosts pass their environment on) and, for func, also
# as local.settings.json. Each host gets its own host id and secrets folder.
start_host() { # start_host APPDIR PORT LOGFILE HOSTID NAME=VALUE...
  local app=$1 port=$2 out=$3 hostid=$4; shift 4
  python3 - "$app/local.settings.json" "AzureWebJobsStorage=$AZURITE_CONNECTION" "FUNCTIONS_WORKER_RUNTIME=dotnet-isolated" "$@" <<'PY'
import json, sys
values = dict(arg.split("=", 1) for arg in sys.argv[2:])
json.dump({"IsEncrypted": False, "Values": values}, open(sys.argv[1], "w"), indent=2)
PY
  local secrets="$app.secrets"
  mkdir -p "$secrets"
  if [ "$HOST_KIND" = func ]; then
    pushd "$app" >/dev/null || die "no $app"
    spawn "$out" env "$@" AzureWebJobsStorage="$AZURITE_CONNECTION" AzureFunctionsWebHost__hostid="$hostid" \
      func host start --port "$port"
    popd >/dev/null || true
  else
    spawn "$out" env "$@" FHOST_STORAGE="$AZURITE_CONNECTION" FUNCTIONS_SECRETS_PATH="$secrets" \
      AzureFunctionsWebHost__hostid="$hostid" "$CRON_FUNCTIONS_HOST/run_host.sh" "$app" "$port"
  fi
  # shellcheck disable=SC2034 # read by perf-host.sh
  HOST_PID=$SPAWNED_PID
}

# Waits until a URL answers with any HTTP status (the worker is up); prints the seconds it took.
wait_http() { # wait_http URL TIMEOUT_SECONDS
  local start; start=$(now_ms)
  local deadline=$(( start + $2 * 1000 ))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    local code; code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1")
    [ "$code" != 000 ] && [ "$code" != 502 ] && { python3 -c "print(round(($(now_ms)-$start)/1000,2))"; return 0; }
    sleep 0.25
  done
  return 1
}

# The worker process of an app folder (the dotnet process running its dll).
worker_pid() { pgrep -f "$1/CronFunctions.dll --host" | head -1; }

# A fake Django backend: `/bin/sh manage.py ARGS` logs "start|end PID EPOCH_MS RUN_ID ARGS" to backend.log and sleeps
# for the seconds in the file `sleep-seconds` beside it (0 = exit at once).
make_fake_backend() { # make_fake_backend DIR SECONDS
  mkdir -p "$1"
  cat >"$1/manage.py" <<'SH'
dir=$(cd "$(dirname "$0")" && pwd)
seconds=$(cat "$dir/sleep-seconds" 2>/dev/null || echo 3)
echo "start $$ $(date +%s%3N) ${CRON_RUN_ID:-} $*" >>"$dir/backend.log"
[ "$seconds" = 0 ] || sleep "$seconds"
echo "end $$ $(date +%s%3N) ${CRON_RUN_ID:-} $*" >>"$dir/backend.log"
SH
  echo "$2" >"$1/sleep-seconds"
  : >"$1/backend.log"
}

# Kills fake-backend jobs still running (a job outlives a killed worker: it leads its own process group), by the
# pids in backend.log, each only if it is still that backend's job.
stop_jobs() { # stop_jobs BACKEND_DIR
  local pid
  for pid in $(awk '$1 == "start" {print $2}' "$1/backend.log" 2>/dev/null); do
    { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q "$1/manage.py" && kill -KILL -- "-$pid" 2>/dev/null
  done
  return 0
}

# ---------------------------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------------------------
PASSES=0
FAILURES=0
pass() { PASSES=$((PASSES + 1)); printf 'PASS  %s\n' "$*"; }
fail() { FAILURES=$((FAILURES + 1)); printf 'FAIL  %s\n' "$*"; }
info() { printf 'INFO  %s\n' "$*"; }
check() { if [ "$1" = 0 ]; then pass "$2"; else fail "$2${3:+ — $3}"; fi; }

# call METHOD PATH [curl args...]: sets CODE, BODY, HEADERS (lowercased) and MS (curl's time for the call).
call() {
  local method=$1 path=$2; shift 2
  local hdr="$WORK/h.$$.$RANDOM" head=() out
  [ "$method" = HEAD ] && head=(-I)
  out=$(curl -s -X "$method" "${head[@]}" -D "$hdr" -o "$hdr.body" -w '%{http_code} %{time_total}' --max-time 60 "$@" "$BASE$path")
  CODE=${out% *}
  MS=$(awk -v t="${out#* }" 'BEGIN { printf "%.0f", t * 1000 }')
  BODY=$(cat "$hdr.body" 2>/dev/null)
  HEADERS=$(tr -d '\r' <"$hdr" 2>/dev/null | tr '[:upper:]' '[:lower:]')
  rm -f "$hdr" "$hdr.body"
}
post_job() { call POST "/api/cron/$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"source":"e2e"}' "${@:2}"; }
json() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))" "$BODY" "$1" 2>/dev/null; }
answer() { # started | already_running | not_due | other:<code>
  case "$CODE" in
    200) json 'd.get("status") if d.get("status")=="started" else d.get("reason")' ;;
    *) echo "other:$CODE" ;;
  esac
}
backend_starts() { grep -c "^start .* $1\b" "$BACKEND/backend.log" 2>/dev/null || true; }

JOBS=(ee-recent parties-import check-current mop-recent moderation-images sopn-parse)
declare -A ARGV=(
  [ee-recent]="uk_create_elections_from_every_election --recently-updated"
  [parties-import]="parties_import_from_ec --post-to-slack"
  [check-current]="uk_create_elections_from_every_election --check-current"
  [mop-recent]="uk_create_elections_from_every_election --recently-updated --recently-updated-delta 48"
  [moderation-images]="moderation_queue_process_queued_images"
  [sopn-parse]="sopn_parsing_process_unparsed"
)

run_checks() {
  local t0; t0=$(now_ms)

  # --- health
  call GET /api/health
  check "$([ "$CODE" = 200 ] && [ "$(json 'd["status"]')" = Healthy ] && echo 0)" \
    "health: GET /api/health → 200 Healthy" "got $CODE $BODY"

  # --- 401
  call POST /api/cron/ee-recent -H 'Content-Type: application/json' -d '{}'
  check "$([ "$CODE" = 401 ] && grep -q '^www-authenticate: bearer' <<<"$HEADERS" && [ "$(json 'd["error"]')" = Unauthorized ] && echo 0)" \
    "401 without a token (+ WWW-Authenticate: Bearer, {\"error\":\"Unauthorized\"})" "got $CODE $BODY"
  call POST /api/cron/ee-recent -H "Authorization: Bearer wrong-$TOKEN"
  check "$([ "$CODE" = 401 ] && echo 0)" "401 with a bad token" "got $CODE $BODY"

  # --- 405 (the functions list no methods, or every method: the host must route these to the worker)
  local m
  for m in GET PUT DELETE PATCH OPTIONS; do
    call "$m" /api/cron/ee-recent -H "Authorization: Bearer $TOKEN"
    check "$([ "$CODE" = 405 ] && grep -q '^allow: post$' <<<"$HEADERS" && echo 0)" "$m /api/cron/ee-recent → 405 + Allow: POST" "got $CODE, headers: $(grep -i '^allow' <<<"$HEADERS")"
  done
  call HEAD /api/cron/sopn-parse -H "Authorization: Bearer $TOKEN"
  check "$([ "$CODE" = 405 ] && grep -q '^allow: post$' <<<"$HEADERS" && echo 0)" "HEAD /api/cron/sopn-parse → 405 + Allow: POST" "got $CODE"

  # --- 400 for bad deltas; none reaches the backend
  local delta
  for delta in abc -1 0 8761 '%2B5' '%205' '1&delta=2' 99999999999; do
    post_job "mop-recent?delta=$delta"
    check "$([ "$CODE" = 400 ] && [ -n "$(json 'd["error"]')" ] && echo 0)" "mop-recent?delta=$delta → 400" "got $CODE $BODY"
  done
  check "$([ "$(backend_starts parties_import_from_ec)$(grep -c . "$BACKEND/backend.log")" = 00 ] && echo 0)" "no bad call reached the backend" "$(cat "$BACKEND/backend.log")"

  # --- the six endpoints: the first call starts a run (fresh storage: the first call ever is due); a second call
  #     while it runs is skipped as already running, with the running run's id
  echo 8 >"$BACKEND/sleep-seconds"
  declare -gA RUN_ID=() PID_OF=()
  local job path
  for job in "${JOBS[@]}"; do
    path=$job; [ "$job" = mop-recent ] && path="mop-recent?delta=48"
    post_job "$path"
    local a; a=$(answer)
    RUN_ID[$job]=$(json 'd.get("runId","")'); PID_OF[$job]=$(json 'd.get("pid","")')
    check "$([ "$a" = started ] && [ -n "${RUN_ID[$job]}" ] && [ -n "${PID_OF[$job]}" ] && echo 0)" \
      "POST $path → started (pid ${PID_OF[$job]:-?}, runId ${RUN_ID[$job]:-?}) in $MS ms" "got $CODE $BODY"
    post_job "$job"
    a=$(answer)
    check "$([ "$a" = already_running ] && [ "$(json 'd.get("runId")')" = "${RUN_ID[$job]}" ] && echo 0)" \
      "POST $job again while it runs → skipped already_running (same runId) in $MS ms" "got $CODE $BODY"
  done
  sleep 0.5
  for job in "${JOBS[@]}"; do
    local line; line=$(grep "^start ${PID_OF[$job]:-none} " "$BACKEND/backend.log" | head -1)
    check "$([ -n "$line" ] && [[ "$line" == *" ${RUN_ID[$job]} ${ARGV[$job]}" ]] && echo 0)" \
      "backend ran $job as: manage.py ${ARGV[$job]} (pid and CRON_RUN_ID match)" "backend log: ${line:-nothing for pid ${PID_OF[$job]:-?}}"
  done

  # --- once the runs have ended: not_due (or started, when a schedule slot has passed since the first call)
  wait_for "6 runs ended" 40 '[ "$(grep -c "^end " "$BACKEND/backend.log")" -ge 6 ]'
  for job in "${JOBS[@]}"; do
    local a="" tries=0
    while :; do # the run's end is released a moment after the process exits
      post_job "$job"; a=$(answer); tries=$((tries + 1))
      [ "$a" != already_running ] || [ "$tries" -ge 20 ] && break
      sleep 0.25
    done
    check "$([[ "$a" == not_due || "$a" == started ]] && echo 0)" \
      "POST $job after its run ended → $a in $MS ms$( [ "$a" = not_due ] && echo " (nextDue $(json 'd.get("nextDue")'))")$( [ "$tries" -gt 1 ] && echo "; $((tries - 1)) earlier answer(s) already_running while the release landed")" "got $CODE $BODY"
  done

  # --- runs API
  call GET "/api/cron/runs?limit=100" -H "Authorization: Bearer $TOKEN"
  local listed=0
  if [ "$CODE" = 200 ]; then
    listed=$(python3 -c '
import json,sys; d=json.loads(sys.argv[1]); ids={r.get("runId") for r in d.get("runs",[])}
print(sum(1 for i in sys.argv[2:] if i in ids))' "$BODY" "${RUN_ID[@]}")
  fi
  check "$([ "$CODE" = 200 ] && [ "$listed" = 6 ] && echo 0)" "GET /api/cron/runs → 200 listing the 6 runs started above" "got $CODE, $listed of 6 listed"
  call GET "/api/cron/runs/${RUN_ID[check-current]}" -H "Authorization: Bearer $TOKEN"
  check "$([ "$CODE" = 200 ] && [ "$(json 'd.get("job")')" = check-current ] && echo 0)" "GET /api/cron/runs/{runId} → 200 (check-current; state: $(json 'd.get("state") or d.get("outcome") or d.get("decision")'))" "got $CODE $BODY"
  call GET "/api/cron/runs"
  check "$([ "$CODE" = 401 ] && echo 0)" "GET /api/cron/runs without a token → 401" "got $CODE"
  call GET "/api/cron/runs?job=nope" -H "Authorization: Bearer $TOKEN"
  check "$([ "$CODE" = 400 ] && echo 0)" "GET /api/cron/runs?job=nope → 400" "got $CODE"
  call POST "/api/cron/runs" -H "Authorization: Bearer $TOKEN"
  check "$([ "$CODE" = 405 ] && grep -q '^allow: get$' <<<"$HEADERS" && echo 0)" "POST /api/cron/runs → 405 + Allow: GET" "got $CODE"

  # --- the lock under 50 concurrent calls (force=true: not-due is overridden, the lock never is)
  echo 6 >"$BACKEND/sleep-seconds"
  local before; before=$(backend_starts "--check-current")
  local dir="$WORK/concurrent"; mkdir -p "$dir"
  local gate="$dir/gate"; local i callers=()
  mkfifo "$gate"
  for i in $(seq 1 50); do
    ( read -r _ <"$gate"  # every caller blocks on the fifo until it is opened for writing: one release for all
      curl -s -o "$dir/$i.json" -w '%{http_code} %{time_total}\n' -X POST --max-time 60 \
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"source":"e2e"}' \
        "$BASE/api/cron/check-current?force=true" >"$dir/$i.code" ) &
    callers+=($!)
  done
  sleep 1; : >"$gate"
  wait "${callers[@]}"
  local summary; summary=$(python3 - "$dir" <<'PY'
import json, os, sys, collections
d = sys.argv[1]; answers = collections.Counter(); times = []; winners = set(); ids = set()
for i in range(1, 51):
    code, t = open(os.path.join(d, f"{i}.code")).read().split()
    times.append(float(t))
    try: body = json.load(open(os.path.join(d, f"{i}.json")))
    except Exception: body = {}
    a = body.get("status") if body.get("status") == "started" else body.get("reason") or f"http {code}"
    answers[a] += 1
    if a == "started": winners.add(body.get("runId"))
    if a == "already_running": ids.add(body.get("runId"))
times.sort()
print("|".join(str(x) for x in (answers.get("started", 0), answers.get("already_running", 0), int(ids <= winners and len(ids) <= 1),
      ", ".join(f"{k} ×{v}" for k, v in sorted(answers.items())), f"{times[len(times)//2]*1000:.0f}", f"{times[-1]*1000:.0f}")))
PY
)
  local started running same_id text p50 max
  IFS='|' read -r started running same_id text p50 max <<<"$summary"
  check "$([ "$started" = 1 ] && [ "$running" = 49 ] && [ "$same_id" = 1 ] && echo 0)" \
    "50 concurrent forced calls to check-current → exactly 1 started, 49 already_running with its runId ($text; answered in p50 ${p50} ms, max ${max} ms)" "answers: $text"
  sleep 0.5
  check "$([ $(( $(backend_starts "--check-current") - before )) = 1 ] && echo 0)" "the backend saw exactly 1 new check-current run" "saw $(( $(backend_starts "--check-current") - before ))"

  # --- worker killed mid-run: the host restarts it, calls still answer; the run's job dies with its worker (its
  #     lifeline sees the pipe close), no second run starts while it lives, and the lock is free again within one lease
  #     (the dead owner's lease expires) — then exactly one new run starts
  echo 8 >"$BACKEND/sleep-seconds"
  wait_for "check-current's run ended" 15 '[ "$(grep -c "^end .*--check-current" "$BACKEND/backend.log")" -ge "$(backend_starts "--check-current")" ]'
  post_job "parties-import?force=true"
  local job_pid; job_pid=$(json 'd.get("pid","")')
  local killed_run; killed_run=$(json 'd.get("runId","")')
  check "$([ "$(answer)" = started ] && echo 0)" "forced parties-import → started (pid $job_pid) before the kill" "got $CODE $BODY"
  sleep 1
  local wpid; wpid=$(worker_pid "$APP")
  local t_kill; t_kill=$(now_ms)
  kill -KILL "$wpid" 2>/dev/null
  info "SIGKILLed the worker (pid $wpid) 1 s into run $killed_run"
  local up=""
  wait_http "$BASE/api/health" 60 >/dev/null && up=$(python3 -c "print(round(($(now_ms)-$t_kill)/1000,2))")
  local new_wpid; new_wpid=$(worker_pid "$APP")
  check "$([ -n "$up" ] && [ -n "$new_wpid" ] && [ "$new_wpid" != "$wpid" ] && echo 0)" \
    "the host restarted the worker (pid $wpid → ${new_wpid:-none}); first answer ${up:-never} s after the kill" ""
  call GET /api/health
  check "$([ "$CODE" = 200 ] && echo 0)" "health → 200 after the restart" "got $CODE $BODY"
  call POST /api/cron/ee-recent -H "Authorization: Bearer wrong"
  check "$([ "$CODE" = 401 ] && echo 0)" "a bad-token call → 401 after the restart" "got $CODE"
  local died_ms=""
  for _ in $(seq 1 150); do
    kill -0 "$job_pid" 2>/dev/null || { died_ms=$(( $(now_ms) - t_kill )); break; }
    sleep 0.1
  done
  check "$([ -n "$died_ms" ] && [ "$died_ms" -le 15000 ] && echo 0)" \
    "the killed worker's job (pid $job_pid) died with it, ${died_ms:-?} ms after the kill (its lifeline)" "still alive 15 s after the kill"
  # Forced calls every 250 ms until one starts a run: none may start while the old job lives.
  local recovered="" tries=0 rec_ms="" early=0
  while [ "$tries" -lt 400 ]; do
    post_job "parties-import?force=true"; tries=$((tries + 1))
    if [ "$(answer)" = started ]; then
      rec_ms=$(( $(now_ms) - t_kill )); recovered=$(json 'd.get("runId")')
      kill -0 "$job_pid" 2>/dev/null && early=1
      break
    fi
    sleep 0.25
  done
  check "$([ -n "$recovered" ] && [ "$early" = 0 ] && [ "${rec_ms:-999999}" -le 55000 ] && echo 0)" \
    "the lock recovered: run $recovered started ${rec_ms:-?} ms after the kill (the lease is 50 s, renewed every 5 s; forced calls every 250 ms: $tries, all already_running before it)" \
    "started=${recovered:-none} while the old job was alive=$early"
  info "timings: kill → first answer ${up:-?} s; kill → job dead ${died_ms:-?} ms; kill → next run ${rec_ms:-?} ms"

  # --- a flood of bad-token calls with spoofed X-Forwarded-For entries, valid calls during it and after it: refusals
  #     must not starve an authenticated caller (issue 11). Under the host every caller reaches the worker with the
  #     same address (the host's peer; the host's proxy replaces X-Forwarded-For), so this is what the Cloudflare
  #     worker would see during anyone's flood, whatever addresses the flood claims.
  local flood=${E2E_FLOOD_CALLS:-10000} result
  result=$(python3 - "$BASE" "$TOKEN" "$flood" <<'PY'
import collections, http.client, json, sys, threading, time, urllib.parse
base, token, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
u = urllib.parse.urlparse(base)
bad, good, lock, sent, latencies = collections.Counter(), collections.Counter(), threading.Lock(), [0], []
def connect():
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)
def flood():
    c = connect()
    while True:
        with lock:
            if sent[0] >= total:
                return
            sent[0] += 1
            i = sent[0]
        headers = {"Authorization": "Bearer forged-%d" % i, "Content-Length": "0",
                   "X-Forwarded-For": "10.%d.%d.1, 203.0.113.50" % (i // 256 % 256, i % 256)}
        try:
            c.request("POST", "/api/cron/sopn-parse", headers=headers)
            r = c.getresponse(); r.read(); status = r.status
        except Exception as e:
            c.close(); c = connect(); status = type(e).__name__
        with lock:
            bad[status] += 1
threads = [threading.Thread(target=flood) for _ in range(16)]
t0 = time.time()
for t in threads:
    t.start()
while any(t.is_alive() for t in threads):  # a valid call every 100 ms while the flood lasts
    c, s0 = connect(), time.time()
    try:
        c.request("GET", "/api/cron/runs?limit=1", headers={"Authorization": "Bearer " + token})
        r = c.getresponse(); r.read(); good[r.status] += 1
    except Exception as e:
        good[type(e).__name__] += 1
    latencies.append((time.time() - s0) * 1000); c.close()
    time.sleep(0.1)
for t in threads:
    t.join()
latencies.sort()
print(json.dumps({"seconds": round(time.time() - t0, 1), "flood": {str(k): v for k, v in bad.items()},
                  "valid": {str(k): v for k, v in good.items()},
                  "p50": round(latencies[len(latencies) // 2], 1) if latencies else None,
                  "max": round(latencies[-1], 1) if latencies else None}))
PY
)
  local f401 f429 fother v200 vall p50 max secs
  read -r f401 f429 fother v200 vall p50 max secs < <(python3 -c '
import json, sys
d = json.loads(sys.argv[1]); f, v = d["flood"], d["valid"]
print(f.get("401", 0), f.get("429", 0), sum(n for k, n in f.items() if k not in ("401", "429")), v.get("200", 0), sum(v.values()), d["p50"], d["max"], d["seconds"])' "$result")
  check "$([ "$((f401 + f429))" = "$flood" ] && [ "$fother" = 0 ] && echo 0)" \
    "$flood bad-token calls with spoofed X-Forwarded-For in $secs s → $f401 × 401 (the refusal budget) and $f429 × 429, nothing else" "$result"
  check "$([ "$vall" -gt 0 ] && [ "$v200" = "$vall" ] && echo 0)" \
    "valid calls during the flood → $v200 of $vall answered 200, none refused (p50 $p50 ms, max $max ms)" "$result"
  post_job sopn-parse
  check "$([ "$CODE" = 200 ] && echo 0)" \
    "a valid POST to the flooded endpoint right after it → 200 ($(answer)), not 429" "got $CODE $BODY$(grep -i '^retry-after' <<<"$HEADERS" | sed 's/^/ /')"

  info "checks took $(( ($(now_ms) - t0) / 1000 )) s"
}

# wait_for DESCRIPTION SECONDS CONDITION
wait_for() {
  local deadline=$(( $(now_ms) + $2 * 1000 ))
  while [ "$(now_ms)" -lt "$deadline" ]; do eval "$3" && return 0; sleep 0.2; done
  info "timed out after $2 s waiting for: $1"
  return 1
}

main() {
  command -v python3 >/dev/null || die "python3 is needed"
  command -v curl >/dev/null || die "curl is needed"
  WORK=$(mktemp -d /tmp/cron-e2e.XXXXXX)
  APP="$WORK/app"
  BACKEND="$WORK/backend"
  trap 'stop_spawned; stop_jobs "$BACKEND"; [ "${E2E_KEEP:-0}" = 1 ] && log "kept $WORK" || rm -rf "$WORK"' EXIT
  trap 'exit 130' INT TERM
  choose_host
  TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
  PERMITS=${E2E_PERMITS_PER_MINUTE:-1000}
  build_app "$REPO_ROOT/CronFunctions/CronFunctions.csproj" "$APP" "$WORK/build.log"
  make_fake_backend "$BACKEND" 4
  start_azurite "$WORK/azurite.log"
  local port; port=$(free_port)
  BASE="http://127.0.0.1:$port"
  start_host "$APP" "$port" "$WORK/host.log" "cron-e2e" \
    "ERIFY_CRON_TOKEN=$TOKEN" \
    "Cron__Local__PythonExecutable=/bin/sh" \
    "Cron__Local__BackendDirectory=$BACKEND" \
    "Cron__RateLimit__PermitsPerMinute=$PERMITS"
  log "host ($HOST_KIND) starting on $BASE"
  local ready; ready=$(wait_http "$BASE/api/health" 120) || { tail -40 "$WORK/host.log" >&2; die "the host did not answer within 120 s (log: $WORK/host.log)"; }
  log "host answered after $ready s"
  echo "# CronFunctions under a real Functions host"
  echo
  echo "host: $HOST_KIND$( [ "$HOST_KIND" = folder ] && echo " ($CRON_FUNCTIONS_HOST)"); app: Release build of $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null); started $(date -u +%Y-%m-%dT%H:%M:%SZ); first answer $ready s after start"
  echo
  run_checks
  echo
  echo "$PASSES passed, $FAILURES failed"
  if [ "$FAILURES" -ne 0 ]; then
    E2E_KEEP=1
    log "logs kept in $WORK (host.log, backend/backend.log)"
    exit 1
  fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
