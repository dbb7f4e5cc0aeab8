import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { Miniflare } from "miniflare";

import { type Call, StubApp, type StubAnswer, answers } from "./backend.js";

/**
 * The compiled Worker running in workerd (through Miniflare), its scheduled() handler fired as Cloudflare fires
 * the `* * * * *` trigger, calling a stand-in for the function app on 127.0.0.1 that this test runs. Times are
 * the stand-in's records of when each call arrived and was answered; nothing leaves the machine.
 */

const token = "miniflare-test-token-0123456789abcdef";
const ALL_JOBS = ["check-current", "ee-recent", "moderation-images", "mop-recent", "parties-import", "sopn-parse"];
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let app: StubApp;

before(async () => {
  app = await StubApp.start();
});

after(async () => {
  await app?.close();
});

/**
 * Miniflare types getWorker() with @cloudflare/workers-types, which this package does not install just for
 * one method; this is the part of Fetcher the test uses.
 */
interface ScheduledFetcher {
  scheduled(options: { cron: string; scheduledTime: Date }): Promise<{ outcome: string; noRetry: boolean }>;
}

interface Trigger {
  readonly outcome: string;
  /** Wall time of the scheduled() call, seen from this process. */
  readonly durationMs: number;
}

/** The Worker in workerd with these bindings on top of the backend URL and token; its log lines are kept. */
async function startWorker(bindings: Record<string, string> = {}) {
  const logs: string[] = [];
  const miniflare = new Miniflare({
    host: "127.0.0.1",
    modules: true,
    scriptPath: fileURLToPath(new URL("../src/index.js", import.meta.url)),
    // tsc emits ES modules as .js (package.json "type": "module"); Miniflare's default rules read .js as CommonJS.
    modulesRules: [{ type: "ESModule", include: ["**/*.js"] }],
    compatibilityDate: "2026-04-20",
    bindings: { BACKEND_BASE: app.baseUrl, ERIFY_CRON_TOKEN: token, ...bindings },
    handleStructuredLogs: ({ level, message }: { level: string; message: string }) => {
      logs.push(message);
      // Shown in the test output (as TAP comments), so a run documents what the Worker did.
      console.log(`workerd ${level}: ${message}`);
    },
  });
  await miniflare.ready;

  return {
    logs,
    /** The cron lines the Worker logged, one per job call. */
    callLines: () =>
      logs.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.message === "cron call"),
    async trigger(scheduledTime: Date): Promise<Trigger> {
      const worker = (await miniflare.getWorker()) as unknown as ScheduledFetcher;
      const started = performance.now();
      const { outcome } = await worker.scheduled({ cron: "* * * * *", scheduledTime });
      return { outcome, durationMs: performance.now() - started };
    },
    dispose: () => miniflare.dispose(),
  };
}

test("workerd: one `* * * * *` trigger calls all six jobs at once, with token, JSON body and tracing headers", { timeout: 60_000 }, async (t) => {
  // Answers wait until all six calls are in (or 3 s pass): a Worker that called one job after another would show.
  let release: () => void = () => {};
  const allIn = new Promise<void>((resolve) => (release = resolve));
  const fallback = setTimeout(release, 3_000);
  t.after(() => clearTimeout(fallback));
  const answerFor: Record<string, StubAnswer> = {
    "ee-recent": answers.startedExecution,
    "parties-import": answers.notDue("2026-03-05T02:06:00.000Z"),
    "check-current": answers.notDue("2026-03-04T23:23:00.000Z"),
    "mop-recent": answers.notDue("2026-03-04T23:33:00.000Z"),
    "moderation-images": answers.alreadyRunning,
    "sopn-parse": answers.startedProcess,
  };
  app.reset(async (call) => {
    if (app.calls.length === 6) {
      release();
    }

    await allIn;
    return answerFor[call.job] ?? { status: 404, body: { error: "no such job" } };
  });
  const worker = await startWorker();
  t.after(() => worker.dispose());

  const trigger = await worker.trigger(new Date("2026-03-04T12:00:00.000Z"));

  assert.equal(trigger.outcome, "ok");
  assert.deepEqual(app.calls.map((call) => call.url).sort(), [
    "/api/cron/check-current",
    "/api/cron/ee-recent",
    "/api/cron/moderation-images",
    "/api/cron/mop-recent?delta=25",
    "/api/cron/parties-import",
    "/api/cron/sopn-parse",
  ]);
  for (const call of app.calls) {
    assert.equal(call.method, "POST");
    assert.equal(call.headers.authorization, `Bearer ${token}`);
    assert.equal(call.headers["content-type"], "application/json");
    assert.equal(call.headers["x-scheduled-time"], "2026-03-04T12:00:00.000Z");
    assert.match(String(call.headers["x-correlation-id"]), UUID_V4);
    assert.deepEqual(JSON.parse(call.body), { source: "cf-worker" });
    assert.equal(call.headers["user-agent"], undefined);
  }

  assert.equal(new Set(app.calls.map((call) => call.headers["x-correlation-id"])).size, 6);
  const lastIn = Math.max(...app.calls.map((call) => call.receivedAt));
  const firstOut = Math.min(...app.calls.map((call) => call.answeredAt!));
  assert.ok(lastIn <= firstOut, "a call arrived only after another was answered: the calls were not concurrent");

  const lines = worker.callLines();
  assert.deepEqual(Object.fromEntries(lines.map((line) => [line.job, line.answer])), {
    "ee-recent": "started",
    "parties-import": "not_due",
    "check-current": "not_due",
    "mop-recent": "not_due",
    "moderation-images": "already_running",
    "sopn-parse": "started",
  });
  for (const line of lines) {
    assert.equal(line.ok, true);
    assert.equal(line.httpStatus, 200);
    assert.equal(line.attempts, 1);
    assert.equal(typeof line.durationMs, "number");
  }
});

test("workerd: a 503's Retry-After sets the retry's time, not the fixed backoff", { timeout: 60_000 }, async (t) => {
  app.reset((call, nth) =>
    call.job !== "parties-import" ? answers.notDue("2026-03-05T00:00:00.000Z") : nth === 1 ? answers.unavailable("1") : answers.startedExecution,
  );
  // A 5 s backoff: a retry sooner than that can only come from Retry-After.
  const worker = await startWorker({ RETRY_BASE_DELAY_MS: "5000", REQUEST_TIMEOUT_MS: "5000", TRIGGER_BUDGET_MS: "20000" });
  t.after(() => worker.dispose());

  const trigger = await worker.trigger(new Date("2026-03-05T02:06:00.000Z"));

  assert.equal(trigger.outcome, "ok");
  const [first, retry] = app.callsOf("parties-import");
  assert.equal(app.callsOf("parties-import").length, 2);
  assert.equal(first!.outcome, 503);
  const waited = retry!.receivedAt - first!.answeredAt!;
  assert.ok(waited >= 1_000, `the retry came ${waited} ms after the 503, before its Retry-After: 1`);
  assert.ok(waited < 5_000, `the retry came ${waited} ms after the 503: the backoff, not Retry-After, was used`);
  assert.equal(retry!.headers["x-correlation-id"], first!.headers["x-correlation-id"]);
  assert.equal(app.calls.length, 7);
  const line = worker.callLines().find((entry) => entry.job === "parties-import")!;
  assert.equal(line.answer, "started");
  assert.equal(line.attempts, 2);
});

test("workerd: a 429's Retry-After as an HTTP date is honoured too", { timeout: 60_000 }, async (t) => {
  let retryAt = 0;
  app.reset((call, nth) => {
    if (call.job !== "ee-recent") return answers.notDue("2026-03-05T00:00:00.000Z");
    if (nth > 1) return answers.startedExecution;
    retryAt = Math.ceil((Date.now() + 1_500) / 1_000) * 1_000; // HTTP dates have whole seconds: 1.5 to 2.5 s from now
    return answers.rateLimited(new Date(retryAt).toUTCString());
  });
  const worker = await startWorker({ RETRY_BASE_DELAY_MS: "5000", REQUEST_TIMEOUT_MS: "5000", TRIGGER_BUDGET_MS: "20000" });
  t.after(() => worker.dispose());

  const trigger = await worker.trigger(new Date("2026-03-05T10:05:00.000Z"));

  assert.equal(trigger.outcome, "ok");
  const [first, retry] = app.callsOf("ee-recent");
  assert.equal(first!.outcome, 429);
  assert.ok(retry!.receivedAt >= retryAt, `the retry came ${retryAt - retry!.receivedAt} ms before the Retry-After date`);
  assert.ok(retry!.receivedAt - first!.answeredAt! < 5_000, "the backoff, not Retry-After, was used");
});

test("workerd: a dropped connection is retried after the backoff, with the same correlation id", { timeout: 60_000 }, async (t) => {
  app.reset((call, nth) => (call.job === "check-current" && nth === 1 ? "drop" : answers.notDue("2026-03-05T00:00:00.000Z")));
  const worker = await startWorker({ RETRY_BASE_DELAY_MS: "200" });
  t.after(() => worker.dispose());

  const trigger = await worker.trigger(new Date("2026-03-04T23:22:00.000Z"));

  assert.equal(trigger.outcome, "ok");
  const calls = app.callsOf("check-current");
  assert.deepEqual(calls.map((call) => call.outcome), ["dropped", 200]);
  assert.ok(calls[1]!.receivedAt - calls[0]!.answeredAt! >= 200, "the retry did not wait for the backoff");
  assert.equal(calls[1]!.headers["x-correlation-id"], calls[0]!.headers["x-correlation-id"]);
  const line = worker.callLines().find((entry) => entry.job === "check-current")!;
  assert.equal(line.attempts, 2);
  assert.equal(line.answer, "not_due");
});

test("workerd, default settings: Retry-After: 30 on every call cannot fit the 50 s budget, so the trigger fails at once", { timeout: 60_000 }, async (t) => {
  app.reset(() => answers.unavailable("30"));
  const worker = await startWorker(); // wrangler.toml's defaults: 30 s per attempt, 50 s per trigger.
  t.after(() => worker.dispose());

  const trigger = await worker.trigger(new Date("2026-03-05T02:06:00.000Z"));

  assert.equal(trigger.outcome, "exception");
  assert.ok(trigger.durationMs < 50_000, `the trigger took ${trigger.durationMs} ms`);
  assert.deepEqual(app.calls.map((call) => call.job).sort(), ALL_JOBS, "each job once: no retry could finish in time");
  const lines = worker.callLines();
  assert.equal(lines.length, 6);
  for (const line of lines) {
    assert.equal(line.ok, false);
    assert.equal(line.httpStatus, 503);
    assert.match(String(line.gaveUp), /^Retry-After 30 s plus the 30 s request timeout does not fit in the (49\.\d|50) s left/);
  }
});

test("workerd: repeated Retry-After is honoured only while a retry can end within the trigger's budget", { timeout: 60_000 }, async (t) => {
  const budgetMs = 3_500;
  const timeoutMs = 1_000;
  app.reset(() => answers.unavailable("1"));
  const worker = await startWorker({
    TRIGGER_BUDGET_MS: String(budgetMs),
    REQUEST_TIMEOUT_MS: String(timeoutMs),
    MAX_ATTEMPTS: "10",
    RETRY_BASE_DELAY_MS: "10",
  });
  t.after(() => worker.dispose());

  const trigger = await worker.trigger(new Date("2026-03-05T02:06:00.000Z"));

  assert.equal(trigger.outcome, "exception");
  // The trigger started before the first call arrived, so the first arrival is a late bound for its start.
  const start = Math.min(...app.calls.map((call) => call.receivedAt));
  for (const job of ALL_JOBS) {
    const calls: Call[] = app.callsOf(job);
    assert.ok(calls.length >= 2 && calls.length < 10, `${job}: ${calls.length} calls`);
    for (let i = 1; i < calls.length; i++) {
      const answered = calls[i - 1]!.answeredAt!;
      const waited = calls[i]!.receivedAt - answered;
      assert.ok(waited >= 1_000, `${job}: retry ${i} came ${waited} ms after a Retry-After: 1`);
      // The Worker decided on this retry after the answer before it: its wait and a whole attempt had to fit.
      assert.ok(
        answered + 1_000 + timeoutMs <= start + budgetMs,
        `${job}: retry ${i}, decided at +${answered - start} ms, could end past the ${budgetMs} ms budget`,
      );
    }
  }

  for (const line of worker.callLines()) {
    assert.match(String(line.gaveUp), /^Retry-After 1 s plus the 1 s request timeout does not fit in the/);
  }

  assert.ok(trigger.durationMs < budgetMs + 1_000, `the trigger took ${trigger.durationMs} ms`);
});
