import assert from "node:assert/strict";
import { test } from "node:test";

import { type CallSettings, callJob, parseRetryAfter, retryPlan, runScheduled } from "../src/caller.js";
import { JOBS } from "../src/jobs.js";
import worker, { settingsFrom } from "../src/index.js";
import { type Answer, T0, fakeSettings, started } from "./support.js";

const scheduledTime = Date.parse("2026-03-04T23:33:00Z");
const job = (name: string) => JOBS.find((candidate) => candidate.name === name)!;
/** The deadline of a trigger that started at T0 with fakeSettings' 50 s budget. */
const deadline = T0 + 50_000;
/** The server's answer when its lock store is unreachable. */
const unavailable = (retryAfter?: string): Answer => ({
  status: 503,
  body: { status: "error", error: "lock store unreachable" },
  headers: retryAfter === undefined ? {} : { "Retry-After": retryAfter },
});

test("a call is a POST with the bearer token, JSON body, correlation id and scheduled time", async () => {
  const { settings, requests } = fakeSettings(() => started);

  const result = await callJob(job("mop-recent"), scheduledTime, deadline, settings);

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

test("a trigger calls all six jobs concurrently, each with its own correlation id", async () => {
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

  const results = await runScheduled(scheduledTime, concurrentSettings);

  assert.deepEqual(results.map((result) => result.job), [
    "ee-recent",
    "parties-import",
    "check-current",
    "mop-recent",
    "moderation-images",
    "sopn-parse",
  ]);
  assert.equal(maxInFlight, 6);
  assert.deepEqual(requests.map((request) => new URL(request.url).pathname + new URL(request.url).search).sort(), [
    "/api/cron/check-current",
    "/api/cron/ee-recent",
    "/api/cron/moderation-images",
    "/api/cron/mop-recent?delta=25",
    "/api/cron/parties-import",
    "/api/cron/sopn-parse",
  ]);
  const ids = requests.map((request) => request.headers.get("x-correlation-id"));
  assert.equal(new Set(ids).size, 6);
});

test("5xx without Retry-After is retried with the doubling delay, keeping the correlation id", async () => {
  const { settings, requests, sleeps } = fakeSettings((_, attempt) =>
    attempt === 1 ? unavailable() : attempt === 2 ? { status: 502, body: { status: "error", error: "bad gateway" } } : started,
  );

  const result = await callJob(job("ee-recent"), scheduledTime, deadline, settings);

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

  const result = await callJob(job("check-current"), scheduledTime, deadline, settings);

  assert.equal(result.ok, true);
  assert.equal(requests.length, 2);
});

test("attempts are bounded: persistent 5xx gives up after maxAttempts and says so", async () => {
  const { settings, requests, sleeps } = fakeSettings(() => ({ status: 500, body: { status: "error", error: "boom" } }));

  const result = await callJob(job("sopn-parse"), scheduledTime, deadline, settings);

  assert.equal(result.ok, false);
  assert.equal(result.httpStatus, 500);
  assert.equal(result.error, "boom");
  assert.equal(result.gaveUp, "all 3 attempts used");
  assert.equal(requests.length, 3);
  assert.equal(sleeps.length, 2);
});

for (const status of [400, 401, 403, 404, 405]) {
  test(`${status} is not retried`, async () => {
    const { settings, requests, sleeps } = fakeSettings(() => ({ status, body: { error: "Unauthorized" } }));

    const result = await callJob(job("ee-recent"), scheduledTime, deadline, settings);

    assert.equal(result.ok, false);
    assert.equal(result.httpStatus, status);
    assert.equal(result.gaveUp, undefined);
    assert.equal(requests.length, 1);
    assert.deepEqual(sleeps, []);
  });
}

for (const status of [503, 429]) {
  test(`${status} with Retry-After in seconds: the retry is sent that long after the answer, not after the doubling delay`, async () => {
    const { settings, requests, sleeps } = fakeSettings((_, attempt) =>
      attempt === 1
        ? { status, body: { status: "error", error: "busy" }, headers: { "Retry-After": "7" }, takesMs: 400 }
        : started,
    );

    const result = await callJob(job("parties-import"), scheduledTime, deadline, settings);

    assert.equal(result.ok, true);
    assert.equal(result.attempts, 2);
    // 7 s is more than both the 100 ms first delay and the 2 s cap of the doubling delay: only Retry-After explains it.
    assert.deepEqual(sleeps, [7_000]);
    assert.equal(requests[1]!.at - (requests[0]!.at + 400), 7_000);
  });
}

test("503 with Retry-After as an HTTP date: the retry is sent at that date", async () => {
  const retryAt = T0 + 12_000;
  const { settings, requests } = fakeSettings((_, attempt) =>
    attempt === 1 ? { ...unavailable(new Date(retryAt).toUTCString()), takesMs: 2_000 } : started,
  );

  const result = await callJob(job("parties-import"), scheduledTime, deadline, settings);

  assert.equal(result.ok, true);
  assert.equal(requests[1]!.at, retryAt);
});

test("Retry-After on a 500 is not a promise of service: the doubling delay applies", async () => {
  const { settings, sleeps } = fakeSettings((_, attempt) =>
    attempt === 1 ? { status: 500, body: { status: "error", error: "runner failed" }, headers: { "Retry-After": "20" } } : started,
  );

  await callJob(job("ee-recent"), scheduledTime, deadline, settings);

  assert.deepEqual(sleeps, [100]);
});

for (const header of ["", "-5", "1.5", "soon", "5 s"]) {
  test(`a malformed Retry-After (${JSON.stringify(header)}) falls back to the doubling delay`, async () => {
    const { settings, sleeps } = fakeSettings((_, attempt) => (attempt === 1 ? unavailable(header) : started));

    await callJob(job("ee-recent"), scheduledTime, deadline, settings);

    assert.deepEqual(sleeps, [100]);
  });
}

test("a Retry-After that cannot fit in the trigger's budget gives up at once and says why", async () => {
  // The defaults: a 30 s request timeout in a 50 s budget. A retry in 30 s could run until 60 s.
  const { settings, requests, sleeps } = fakeSettings(() => unavailable("30"), { timeoutMs: 30_000 });

  const result = await callJob(job("parties-import"), scheduledTime, deadline, settings);

  assert.equal(result.ok, false);
  assert.equal(result.httpStatus, 503);
  assert.equal(result.attempts, 1);
  assert.equal(requests.length, 1);
  assert.deepEqual(sleeps, []);
  assert.equal(
    result.gaveUp,
    "Retry-After 30 s plus the 30 s request timeout does not fit in the 50 s left of the trigger's budget",
  );
});

test("no retry starts that could not finish within the budget, however many attempts are allowed", async () => {
  const timeoutMs = 5_000;
  const { settings, requests } = fakeSettings(() => ({ ...unavailable("10"), takesMs: 1_000 }), { timeoutMs, maxAttempts: 100 });

  const result = await callJob(job("sopn-parse"), scheduledTime, deadline, settings);

  // Sent at 0, 11, 22, 33 and 44 s; a sixth at 55 s could run until 60 s, past the 50 s budget.
  assert.deepEqual(requests.map((request) => request.at - T0), [0, 11_000, 22_000, 33_000, 44_000]);
  for (const request of requests) {
    assert.ok(request.at + timeoutMs <= deadline, `attempt at ${request.at - T0} ms could end past the budget`);
  }

  assert.equal(result.ok, false);
  assert.equal(result.attempts, 5);
  assert.match(result.gaveUp ?? "", /^Retry-After 10 s plus the 5 s request timeout does not fit in the 5 s left/);
  assert.equal(result.durationMs, 45_000);
});

test("retry plan: attempts, the doubling delay, Retry-After and the budget", () => {
  const settings: Pick<CallSettings, "maxAttempts" | "baseDelayMs" | "maxDelayMs" | "timeoutMs"> = {
    maxAttempts: 20,
    baseDelayMs: 1_000,
    maxDelayMs: 10_000,
    timeoutMs: 30_000,
  };
  const cases: [attempt: number, retryAfterMs: number | undefined, msLeft: number, expected: unknown][] = [
    [1, undefined, 50_000, { waitMs: 1_000 }],
    [2, undefined, 50_000, { waitMs: 2_000 }],
    [5, undefined, 50_000, { waitMs: 10_000 }], // 16 s, capped
    [1, 0, 50_000, { waitMs: 0 }],
    [1, 15_000, 50_000, { waitMs: 15_000 }], // more than the cap: the server's wish wins
    [1, 20_000, 50_000, { waitMs: 20_000 }], // ends exactly at the deadline
    [1, 20_001, 50_000, { gaveUp: "Retry-After 20 s plus the 30 s request timeout does not fit in the 50 s left of the trigger's budget" }],
    [3, undefined, 33_000, { gaveUp: "a retry in 4 s plus the 30 s request timeout does not fit in the 33 s left of the trigger's budget" }],
    [1, undefined, -200, { gaveUp: "a retry in 1 s plus the 30 s request timeout does not fit in the 0 s left of the trigger's budget" }],
    [20, 0, 50_000, { gaveUp: "all 20 attempts used" }],
  ];

  for (const [attempt, retryAfterMs, msLeft, expected] of cases) {
    assert.deepEqual(retryPlan(attempt, retryAfterMs, msLeft, settings), expected, `attempt ${attempt}, Retry-After ${retryAfterMs}, ${msLeft} ms left`);
  }
});

test("Retry-After parsing: delay-seconds or an HTTP date, anything else ignored", () => {
  const now = Date.parse("2026-03-04T23:33:00Z");
  const cases: [header: string | null, expected: number | undefined][] = [
    ["5", 5_000],
    [" 5 ", 5_000],
    ["0", 0],
    ["Wed, 04 Mar 2026 23:33:12 GMT", 12_000],
    ["Wed, 04 Mar 2026 23:32:00 GMT", 0], // in the past: now
    [null, undefined],
    ["", undefined],
    ["-5", undefined],
    ["1.5", undefined],
    ["+5", undefined],
    ["soon", undefined],
    ["Wed, 99 Foo 2026", undefined],
  ];

  for (const [header, expected] of cases) {
    assert.equal(parseRetryAfter(header, now), expected, `Retry-After: ${header}`);
  }
});

test("a hanging backend is cut off by the per-attempt timeout and retried", async () => {
  const { settings, requests } = fakeSettings(() => "hang", { timeoutMs: 50, maxAttempts: 2 });

  const started = Date.now();
  const result = await callJob(job("parties-import"), scheduledTime, deadline, settings);

  assert.equal(result.ok, false);
  assert.equal(result.httpStatus, undefined);
  assert.equal(result.answer, "no answer");
  assert.equal(result.error, "timeout after 50 ms");
  assert.equal(requests.length, 2);
  assert.ok(Date.now() - started < 2_000, "the timeout did not cut the attempts short");
});

test("skipped answers (not due, already running) are successes", async () => {
  const { settings } = fakeSettings((url) =>
    url.includes("/moderation-images")
      ? { status: 200, body: { status: "skipped", reason: "already_running", runId: "r0" } }
      : url.includes("/sopn-parse")
        ? started
        : { status: 200, body: { status: "skipped", reason: "not_due", nextDue: "2026-03-05T02:06:00Z" } },
  );

  const results = await runScheduled(scheduledTime, settings);

  assert.ok(results.every((result) => result.ok));
  assert.deepEqual(Object.fromEntries(results.map((result) => [result.job, result.answer])), {
    "ee-recent": "not_due",
    "parties-import": "not_due",
    "check-current": "not_due",
    "mop-recent": "not_due",
    "moderation-images": "already_running",
    "sopn-parse": "started",
  });
});

test("after all calls, a failure throws an Error naming the failed jobs only", async () => {
  const { settings, requests } = fakeSettings((url) =>
    url.endsWith("/sopn-parse") ? { status: 500, body: { status: "error", error: "runner failed" } } : started,
  );

  await assert.rejects(runScheduled(scheduledTime, settings), (error: Error) => {
    assert.match(error.message, /^Trigger of 2026-03-04T23:33:00.000Z: 1 of 6 job call\(s\) failed: /);
    assert.match(error.message, /sopn-parse \(500; gave up: all 3 attempts used\)/);
    assert.doesNotMatch(error.message, /moderation-images|ee-recent|parties-import|check-current|mop-recent/);
    return true;
  });
  // The healthy jobs were still called, and the failing one retried.
  assert.equal(requests.length, 5 + 3);
  assert.equal(requests.filter((request) => request.url.endsWith("/sopn-parse")).length, 3);
});

test("one log line per call with job, answer, HTTP status, attempts, duration and correlation id", async () => {
  const { settings, logs } = fakeSettings((url, attempt) =>
    url.endsWith("/sopn-parse")
      ? { status: 200, body: { status: "skipped", reason: "already_running", runId: "r0" } }
      : url.endsWith("/ee-recent") && attempt === 1
        ? { ...unavailable("2"), takesMs: 300 }
        : started,
  );

  await runScheduled(scheduledTime, settings);

  assert.equal(logs.length, 6);
  const entries = logs.map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(entries.map((entry) => entry.job).sort(), JOBS.map((each) => each.name).sort());
  const sopn = entries.find((entry) => entry.job === "sopn-parse")!;
  assert.equal(sopn.message, "cron call");
  assert.equal(sopn.httpStatus, 200);
  assert.equal(sopn.answer, "already_running");
  assert.equal(sopn.status, "skipped");
  assert.equal(sopn.reason, "already_running");
  assert.equal(sopn.attempts, 1);
  assert.equal(sopn.scheduledTime, "2026-03-04T23:33:00.000Z");
  assert.match(String(sopn.correlationId), /^[0-9a-f-]{36}$/);
  const ee = entries.find((entry) => entry.job === "ee-recent")!;
  assert.equal(ee.answer, "started");
  assert.equal(ee.attempts, 2);
  assert.equal(ee.durationMs, 2_300);
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
    await runScheduled(scheduledTime, settings);
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
  const base = { BACKEND_BASE: "https://b/api", ERIFY_CRON_TOKEN: "t" };
  const settings = settingsFrom(base);
  assert.equal(settings.timeoutMs, 30_000);
  assert.equal(settings.maxAttempts, 3);
  assert.equal(settings.baseDelayMs, 1_000);
  assert.equal(settings.maxDelayMs, 10_000);
  assert.equal(settings.budgetMs, 50_000);
  assert.equal(settingsFrom({ ...base, REQUEST_TIMEOUT_MS: "5000" }).timeoutMs, 5_000);
  assert.equal(settingsFrom({ ...base, TRIGGER_BUDGET_MS: "59999" }).budgetMs, 59_999);

  assert.throws(() => settingsFrom({ ...base, ERIFY_CRON_TOKEN: "" }), /ERIFY_CRON_TOKEN is not set/);
  assert.throws(() => settingsFrom({ ...base, BACKEND_BASE: "" }), /BACKEND_BASE is not set/);
  assert.throws(() => settingsFrom({ ...base, MAX_ATTEMPTS: "0" }), /MAX_ATTEMPTS/);
  assert.throws(() => settingsFrom({ ...base, TRIGGER_BUDGET_MS: "60000" }), /TRIGGER_BUDGET_MS must be under 60000/);
  assert.throws(() => settingsFrom({ ...base, TRIGGER_BUDGET_MS: "fifty" }), /TRIGGER_BUDGET_MS must be a positive whole number/);
  assert.throws(
    () => settingsFrom({ ...base, TRIGGER_BUDGET_MS: "20000" }),
    /REQUEST_TIMEOUT_MS \(30000\) must not exceed TRIGGER_BUDGET_MS \(20000\)/,
  );
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
