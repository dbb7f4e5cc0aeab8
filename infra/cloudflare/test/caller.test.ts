import assert from "node:assert/strict";
import { test } from "node:test";

import { callJob, runScheduled } from "../src/caller.js";
import { JOBS } from "../src/jobs.js";
import worker, { settingsFrom } from "../src/index.js";
import { fakeSettings, started } from "./support.js";

const scheduledTime = Date.parse("2026-03-04T23:33:00Z");
const job = (name: string) => JOBS.find((candidate) => candidate.name === name)!;

test("a call is a POST with the bearer token, JSON body, correlation id and scheduled time", async () => {
  const { settings, requests } = fakeSettings(() => started);

  const result = await callJob(job("mop-recent"), scheduledTime, settings);

  assert.equal(result.ok, true);
  assert.equal(requests.length, 1);
  const [request] = requests;
  assert.equal(request!.method, "POST");
  assert.equal(request!.url, "https://backend.example/api/cron/mop-recent?delta=25");
  assert.equal(request!.headers.get("authorization"), `Bearer ${settings.token}`);
  assert.equal(request!.headers.get("content-type"), "application/json");
  assert.equal(request!.headers.get("x-correlation-id"), result.correlationId);
  assert.match(result.correlationId, /^[0-9a-f-]{36}$/);
  assert.equal(request!.headers.get("x-scheduled-time"), "2026-03-04T23:33:00.000Z");
  assert.deepEqual(JSON.parse(request!.body), { source: "cf-worker" });
  assert.equal(request!.headers.has("user-agent"), false);
});

test("a trigger calls its jobs concurrently, each with its own correlation id", async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const { settings, requests } = fakeSettings(() => started);
  const slowFetch = settings.fetch;
  const concurrentSettings = {
    ...settings,
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      try {
        return await slowFetch(input, init);
      } finally {
        inFlight--;
      }
    }) as typeof fetch,
  };

  const results = await runScheduled("* * * * *", scheduledTime, concurrentSettings);

  assert.deepEqual(results.map((result) => result.job), ["moderation-images", "sopn-parse"]);
  assert.equal(maxInFlight, 2);
  assert.deepEqual(requests.map((request) => new URL(request.url).pathname).sort(), [
    "/api/cron/moderation-images",
    "/api/cron/sopn-parse",
  ]);
  const ids = requests.map((request) => request.headers.get("x-correlation-id"));
  assert.equal(new Set(ids).size, 2);
});

test("5xx is retried with exponential backoff, keeping the correlation id", async () => {
  const { settings, requests, sleeps } = fakeSettings((_, attempt) =>
    attempt < 3 ? { status: 503, body: { status: "error", error: "lock store unreachable" } } : started,
  );

  const result = await callJob(job("ee-recent"), scheduledTime, settings);

  assert.equal(result.ok, true);
  assert.equal(result.attempts, 3);
  assert.equal(result.status, "started");
  assert.deepEqual(sleeps, [100, 200]);
  assert.equal(new Set(requests.map((request) => request.headers.get("x-correlation-id"))).size, 1);
});

test("network errors are retried", async () => {
  const { settings, requests } = fakeSettings((_, attempt) =>
    attempt === 1 ? new TypeError("fetch failed: connection reset") : started,
  );

  const result = await callJob(job("check-current"), scheduledTime, settings);

  assert.equal(result.ok, true);
  assert.equal(requests.length, 2);
});

test("attempts are bounded: persistent 5xx gives up after maxAttempts", async () => {
  const { settings, requests, sleeps } = fakeSettings(() => ({ status: 500, body: { status: "error", error: "boom" } }));

  const result = await callJob(job("sopn-parse"), scheduledTime, settings);

  assert.equal(result.ok, false);
  assert.equal(result.httpStatus, 500);
  assert.equal(result.error, "boom");
  assert.equal(requests.length, 3);
  assert.equal(sleeps.length, 2);
});

for (const status of [400, 401, 403, 404, 405]) {
  test(`${status} is not retried`, async () => {
    const { settings, requests, sleeps } = fakeSettings(() => ({ status, body: { error: "Unauthorized" } }));

    const result = await callJob(job("ee-recent"), scheduledTime, settings);

    assert.equal(result.ok, false);
    assert.equal(result.httpStatus, status);
    assert.equal(requests.length, 1);
    assert.deepEqual(sleeps, []);
  });
}

test("429 waits for Retry-After, bounded by the maximum delay", async () => {
  const { settings, sleeps } = fakeSettings((_, attempt) =>
    attempt === 1
      ? { status: 429, body: { error: "Rate limit exceeded" }, headers: { "Retry-After": "1" } }
      : attempt === 2
        ? { status: 429, body: { error: "Rate limit exceeded" }, headers: { "Retry-After": "3600" } }
        : started,
  );

  const result = await callJob(job("ee-recent"), scheduledTime, settings);

  assert.equal(result.ok, true);
  assert.deepEqual(sleeps, [1_000, 2_000]);
});

test("a hanging backend is cut off by the per-attempt timeout and retried", async () => {
  const { settings, requests } = fakeSettings(() => "hang", { timeoutMs: 50, maxAttempts: 2 });

  const started = Date.now();
  const result = await callJob(job("parties-import"), scheduledTime, settings);

  assert.equal(result.ok, false);
  assert.equal(result.httpStatus, undefined);
  assert.equal(result.error, "timeout after 50 ms");
  assert.equal(requests.length, 2);
  assert.ok(Date.now() - started < 2_000, "the timeout did not cut the attempts short");
});

test("skipped answers (already running, not due) are successes", async () => {
  const { settings } = fakeSettings(() => ({ status: 200, body: { status: "skipped", reason: "not_due", nextDue: "x" } }));

  const results = await runScheduled("*/5 * * * *", scheduledTime, settings);

  assert.equal(results[0]!.ok, true);
  assert.equal(results[0]!.reason, "not_due");
});

test("after all calls, a failure throws an Error naming the failed jobs only", async () => {
  const { settings, requests } = fakeSettings((url) =>
    url.endsWith("/sopn-parse") ? { status: 500, body: { status: "error", error: "runner failed" } } : started,
  );

  await assert.rejects(runScheduled("* * * * *", scheduledTime, settings), (error: Error) => {
    assert.match(error.message, /sopn-parse \(500\)/);
    assert.doesNotMatch(error.message, /moderation-images/);
    assert.match(error.message, /1 of 2/);
    return true;
  });
  // The healthy job was still called, and the failing one retried.
  assert.equal(requests.filter((request) => request.url.endsWith("/moderation-images")).length, 1);
  assert.equal(requests.filter((request) => request.url.endsWith("/sopn-parse")).length, 3);
});

test("an unknown cron expression is an error, not a silent no-op", async () => {
  const { settings, requests } = fakeSettings(() => started);

  await assert.rejects(runScheduled("0 12 * * *", scheduledTime, settings), /No job is scheduled on cron "0 12 \* \* \*"/);
  assert.equal(requests.length, 0);
});

test("one log line per call with job, status, body status/reason and correlation id", async () => {
  const { settings, logs } = fakeSettings((url) =>
    url.endsWith("/sopn-parse")
      ? { status: 200, body: { status: "skipped", reason: "already_running", runId: "r0" } }
      : started,
  );

  await runScheduled("* * * * *", scheduledTime, settings);

  assert.equal(logs.length, 2);
  const entries = logs.map((line) => JSON.parse(line) as Record<string, unknown>);
  const sopn = entries.find((entry) => entry.job === "sopn-parse")!;
  assert.equal(sopn.httpStatus, 200);
  assert.equal(sopn.status, "skipped");
  assert.equal(sopn.reason, "already_running");
  assert.match(String(sopn.correlationId), /^[0-9a-f-]{36}$/);
});

test("the token never appears in logs or errors, whatever happens", async () => {
  const token = "tok-ABCDEF0123456789-tok-do-not-log";
  const { settings, logs } = fakeSettings(
    (url, attempt) => {
      if (url.includes("moderation")) return new Error(`connect ECONNREFUSED (attempt ${attempt})`);
      return { status: 401, body: { error: "Unauthorized" } };
    },
    { token },
  );
  const console = captureConsole();

  let message = "";
  try {
    await runScheduled("* * * * *", scheduledTime, settings);
  } catch (error) {
    message = (error as Error).message + String((error as Error).stack);
  } finally {
    console.restore();
  }

  assert.ok(logs.length > 0 && message.length > 0);
  for (const text of [...logs, message, ...console.lines]) {
    assert.ok(!text.includes(token), `token leaked in: ${text}`);
  }
});

test("settings come from the bindings, with defaults and validation", () => {
  const settings = settingsFrom({ BACKEND_BASE: "https://b/api", ERIFY_CRON_TOKEN: "t" });
  assert.equal(settings.timeoutMs, 30_000);
  assert.equal(settings.maxAttempts, 3);
  assert.equal(settingsFrom({ BACKEND_BASE: "https://b/api", ERIFY_CRON_TOKEN: "t", REQUEST_TIMEOUT_MS: "5000" }).timeoutMs, 5_000);

  assert.throws(() => settingsFrom({ BACKEND_BASE: "https://b/api", ERIFY_CRON_TOKEN: "" }), /ERIFY_CRON_TOKEN is not set/);
  assert.throws(() => settingsFrom({ BACKEND_BASE: "", ERIFY_CRON_TOKEN: "t" }), /BACKEND_BASE is not set/);
  assert.throws(() => settingsFrom({ BACKEND_BASE: "https://b/api", ERIFY_CRON_TOKEN: "t", MAX_ATTEMPTS: "0" }), /MAX_ATTEMPTS/);
});

test("the fetch handler serves nothing but a health check", async () => {
  const notFound = await worker.fetch(new Request("https://worker.example/cron/ee-recent", { method: "POST" }));
  assert.equal(notFound.status, 404);

  const health = await worker.fetch(new Request("https://worker.example/health"));
  assert.equal(health.status, 200);
  assert.equal(await health.text(), "ok\n");
});

function captureConsole() {
  const lines: string[] = [];
  const original = { log: console.log, error: console.error, warn: console.warn };
  for (const method of ["log", "error", "warn"] as const) {
    console[method] = (...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
    };
  }

  return {
    lines,
    restore() {
      Object.assign(console, original);
    },
  };
}
