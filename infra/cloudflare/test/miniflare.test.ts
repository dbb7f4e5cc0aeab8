import assert from "node:assert/strict";
import { type IncomingMessage, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { Miniflare } from "miniflare";

/**
 * The compiled Worker running in workerd (through Miniflare), its scheduled() handler fired for the
 * mop-recent trigger, calling a backend on 127.0.0.1 that this test runs. Nothing leaves the machine.
 */
interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

const token = "miniflare-test-token-0123456789abcdef";
const received: Received[] = [];
let failNext = 0;

const backend = createServer((request, response) => {
  let body = "";
  request.setEncoding("utf8");
  request.on("data", (chunk: string) => (body += chunk));
  request.on("end", () => {
    received.push({ method: request.method ?? "", url: request.url ?? "", headers: request.headers, body });
    if (failNext > 0) {
      failNext--;
      response.writeHead(503, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ status: "error", error: "lock store unreachable" }));
      return;
    }

    response.writeHead(200, { "Content-Type": "application/json" });
    response.end(JSON.stringify({ status: "started", execution: "caj-backend-test-x1", runId: "run-1" }));
  });
});

let miniflare: Miniflare;

/**
 * Miniflare types getWorker() with @cloudflare/workers-types, which this package does not install just for
 * one method; this is the part of Fetcher the test uses.
 */
interface ScheduledFetcher {
  scheduled(options: { cron: string; scheduledTime: Date }): Promise<{ outcome: string; noRetry: boolean }>;
}

async function worker(): Promise<ScheduledFetcher> {
  return (await miniflare.getWorker()) as unknown as ScheduledFetcher;
}

before(async () => {
  await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
  // If workerd cannot start, the tests fail instead of keeping the process alive.
  backend.unref();
  const { port } = backend.address() as AddressInfo;

  miniflare = new Miniflare({
    host: "127.0.0.1",
    modules: true,
    scriptPath: fileURLToPath(new URL("../src/index.js", import.meta.url)),
    // tsc emits ES modules as .js (package.json "type": "module"); Miniflare's default rules read .js as CommonJS.
    modulesRules: [{ type: "ESModule", include: ["**/*.js"] }],
    compatibilityDate: "2026-04-20",
    bindings: {
      BACKEND_BASE: `http://127.0.0.1:${port}/api`,
      ERIFY_CRON_TOKEN: token,
      REQUEST_TIMEOUT_MS: "5000",
      MAX_ATTEMPTS: "3",
      RETRY_BASE_DELAY_MS: "10",
    },
  });
  await miniflare.ready;
});

after(async () => {
  await miniflare?.dispose();
  await new Promise<void>((resolve) => backend.close(() => resolve()));
});

test("workerd: the mop-recent trigger POSTs to the backend with token, JSON body and tracing headers", { timeout: 60_000 }, async () => {
  received.length = 0;
  failNext = 1; // one 503 first: the Worker must retry with the same correlation id.
  const scheduledTime = new Date("2026-03-04T23:33:00.000Z");

  const result = await (await worker()).scheduled({ cron: "33 23 * * *", scheduledTime });

  assert.equal(result.outcome, "ok");
  assert.equal(received.length, 2);
  for (const request of received) {
    assert.equal(request.method, "POST");
    assert.equal(request.url, "/api/cron/mop-recent?delta=25");
    assert.equal(request.headers.authorization, `Bearer ${token}`);
    assert.equal(request.headers["content-type"], "application/json");
    assert.equal(request.headers["x-scheduled-time"], "2026-03-04T23:33:00.000Z");
    assert.match(String(request.headers["x-correlation-id"]), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(JSON.parse(request.body), { source: "cf-worker" });
  }

  assert.equal(received[0]!.headers["x-correlation-id"], received[1]!.headers["x-correlation-id"]);
});

test("workerd: a trigger whose job keeps failing ends with outcome exception", { timeout: 60_000 }, async () => {
  received.length = 0;
  failNext = 3;

  const result = await (await worker()).scheduled({ cron: "6 2 * * *", scheduledTime: new Date("2026-03-05T02:06:00.000Z") });

  assert.equal(result.outcome, "exception");
  assert.deepEqual(received.map((request) => request.url), Array(3).fill("/api/cron/parties-import"));
});
