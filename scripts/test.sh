#!/usr/bin/env bash
# The whole test suite, on a fresh machine with the .NET 10 SDK, Node 20 and npm:
#   - installs the dev tools (Azurite, from npm) if they are missing;
#   - runs the .NET tests (they start their own Azurite on free ports, and build/lint infra/ with the Bicep CLI);
#   - runs the Cloudflare worker's Node tests (infra/cloudflare), when present;
# and ends with one line: "N passed, N failed". Exits non-zero if anything failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
logs=$(mktemp -d)
passed=0
failed=0
broken=0

if [ ! -x node_modules/.bin/azurite-blob ]; then
  echo "== npm ci (Azurite)"
  npm ci --no-audit --no-fund || broken=1
fi

echo "== dotnet test"
dotnet test CronFunctions.sln -c Release --blame-hang-timeout 10m 2>&1 | tee "$logs/dotnet.log"
dotnet_rc=${PIPESTATUS[0]}
# One summary line per test assembly: "Passed!  - Failed:     0, Passed:    70, Skipped: ..."
summaries=$(grep -E '^(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+' "$logs/dotnet.log" || true)
if [ -z "$summaries" ]; then
  echo "dotnet test produced no test summary (build failure?)" >&2
  broken=1
else
  passed=$((passed + $(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$summaries" | awk '{s+=$1} END {print s+0}')))
  failed=$((failed + $(sed -E 's/.*Failed: +([0-9]+),.*/\1/' <<<"$summaries" | awk '{s+=$1} END {print s+0}')))
fi
[ "$dotnet_rc" -eq 0 ] || broken=1

if [ -f infra/cloudflare/package.json ]; then
  echo "== infra/cloudflare: npm ci && npm test"
  (cd infra/cloudflare && npm ci --no-audit --no-fund && npm test) 2>&1 | tee "$logs/node.log"
  node_rc=${PIPESTATUS[0]}
  node_pass=$(grep -E '^# pass [0-9]+' "$logs/node.log" | tail -1 | awk '{print $3}')
  node_fail=$(grep -E '^# fail [0-9]+' "$logs/node.log" | tail -1 | awk '{print $3}')
  if [ -z "$node_pass" ] || [ -z "$node_fail" ]; then
    echo "the Node tests produced no summary" >&2
    broken=1
  else
    passed=$((passed + node_pass))
    failed=$((failed + node_fail))
  fi
  [ "$node_rc" -eq 0 ] || broken=1
fi

rm -rf "$logs"
if [ "$broken" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # a step that broke without reporting a failed test still counts as a failure
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$broken" -eq 0 ]
