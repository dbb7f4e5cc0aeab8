#!/usr/bin/env bash
# One command to run CronFunctions locally: Azurite (from npm) as storage, then the Functions host (`func`).
# Needs the .NET 10 SDK, Node 20 + npm, and Azure Functions Core Tools v4 (`func`) on PATH.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if ! command -v func >/dev/null 2>&1; then
  echo "Azure Functions Core Tools v4 ('func') is not on PATH. Install it (e.g. 'npm i -g azure-functions-core-tools@4'), then re-run." >&2
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

azurite_pid=""
if ! (exec 3<>/dev/tcp/127.0.0.1/10000) 2>/dev/null; then
  mkdir -p .azurite
  node_modules/.bin/azurite --silent --skipApiVersionCheck --location .azurite --debug .azurite/debug.log \
    --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 &
  azurite_pid=$!
  trap '[ -n "$azurite_pid" ] && kill "$azurite_pid" 2>/dev/null || true' EXIT
  echo "Started Azurite (pid $azurite_pid), data in .azurite/"
else
  echo "Using the storage emulator already listening on 127.0.0.1:10000"
fi

dotnet build CronFunctions/CronFunctions.csproj -c Debug
cd CronFunctions/bin/Debug/net10.0
func host start --port "${PORT:-7071}"
