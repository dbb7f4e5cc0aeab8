// Fires the Worker's `* * * * *` trigger once, in workerd (Miniflare), against a running app: what Cloudflare does
// each minute, from this machine. Prints the Worker's log lines (one per job call, with the app's answer) and exits
// 0 when the trigger's outcome is "ok".
//
//   BACKEND_BASE=http://127.0.0.1:7071/api ERIFY_CRON_TOKEN=... npm run fire [-- <scheduled time, ISO 8601>]
//
// The other settings (timeouts, retries) are wrangler.toml's [vars] defaults unless set in the environment.
import { fileURLToPath } from "node:url";

import { Miniflare } from "miniflare";

const base = process.env.BACKEND_BASE;
const token = process.env.ERIFY_CRON_TOKEN;
if (!base || !token) {
  console.error("usage: BACKEND_BASE=<app>/api ERIFY_CRON_TOKEN=<token> npm run fire [-- <scheduled time>]");
  process.exit(2);
}

const scheduledTime = process.argv[2] ? new Date(process.argv[2]) : new Date();
if (Number.isNaN(scheduledTime.getTime())) {
  console.error(`not a date and time: ${process.argv[2]}`);
  process.exit(2);
}

const optional = ["REQUEST_TIMEOUT_MS", "MAX_ATTEMPTS", "RETRY_BASE_DELAY_MS", "RETRY_MAX_DELAY_MS", "TRIGGER_BUDGET_MS"];
const bindings = { BACKEND_BASE: base, ERIFY_CRON_TOKEN: token };
for (const name of optional) {
  if (process.env[name]) {
    bindings[name] = process.env[name];
  }
}

const miniflare = new Miniflare({
  host: "127.0.0.1",
  modules: true,
  scriptPath: fileURLToPath(new URL("../dist/src/index.js", import.meta.url)),
  modulesRules: [{ type: "ESModule", include: ["**/*.js"] }],
  compatibilityDate: "2026-04-20",
  bindings,
  handleStructuredLogs: ({ level, message }) => console.log(`workerd ${level}: ${message}`),
});

try {
  await miniflare.ready;
  const worker = await miniflare.getWorker();
  const started = performance.now();
  const { outcome } = await worker.scheduled({ cron: "* * * * *", scheduledTime });
  console.log(`trigger at ${scheduledTime.toISOString()}: outcome ${outcome} in ${Math.round(performance.now() - started)} ms`);
  process.exitCode = outcome === "ok" ? 0 : 1;
} finally {
  await miniflare.dispose();
}
