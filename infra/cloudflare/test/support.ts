import type { CallSettings } from "../src/caller.js";

/** A request the fake backend received. */
export interface Recorded {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  readonly body: string;
  /** Simulated time the request was sent. */
  readonly at: number;
}

/**
 * How the fake backend answers one request: a response (after `takesMs` of simulated time), a thrown error
 * (network failure), or never.
 */
export type Reply = Answer | Error | "hang";

/** An HTTP answer of the fake backend. */
export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  takesMs?: number;
}

/** The simulated clock's start. */
export const T0 = Date.parse("2026-01-01T00:00:00Z");

/**
 * Settings with an in-memory backend: `replies(url, n)` picks the answer to the n-th request (1-based) to
 * that URL. Time is simulated: `now()` starts at T0 and moves only by sleeps (recorded, not waited) and by a
 * reply's `takesMs`. Each request records when it was sent. Log lines are kept. One clock serves all calls,
 * so the simulated waits of concurrent calls add up: time budgets are tested one call at a time.
 */
export function fakeSettings(replies: (url: string, attempt: number) => Reply, overrides: Partial<CallSettings> = {}) {
  const requests: Recorded[] = [];
  const sleeps: number[] = [];
  const logs: string[] = [];
  const counts = new Map<string, number>();
  let uuid = 0;
  let clock = T0;

  const fakeFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = String(input);
    const attempt = (counts.get(url) ?? 0) + 1;
    counts.set(url, attempt);
    requests.push({
      url,
      method: init?.method ?? "GET",
      headers: new Headers(init?.headers),
      body: String(init?.body ?? ""),
      at: clock,
    });

    const reply = replies(url, attempt);
    if (reply === "hang") {
      // Never answers; only the caller's timeout signal ends it. AbortSignal.timeout's timer does not keep
      // Node's event loop alive, so a ref'd timer stands in for the open connection a real hang would hold.
      return new Promise<Response>((_, reject) => {
        const connection = setTimeout(() => reject(new Error("fake backend: the caller never timed out")), 10_000);
        init?.signal?.addEventListener("abort", () => {
          clearTimeout(connection);
          reject(init.signal?.reason);
        });
      });
    }

    if (reply instanceof Error) {
      throw reply;
    }

    clock += reply.takesMs ?? 0;
    return new Response(reply.body === undefined ? null : JSON.stringify(reply.body), {
      status: reply.status,
      headers: { "Content-Type": "application/json", ...reply.headers },
    });
  };

  const settings: CallSettings = {
    backendBase: "https://backend.example/api",
    token: "s3cr3t-token-value-that-must-never-be-logged",
    timeoutMs: 1_000,
    maxAttempts: 3,
    baseDelayMs: 100,
    maxDelayMs: 2_000,
    budgetMs: 50_000,
    fetch: fakeFetch as typeof fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    randomUUID: () => `00000000-0000-4000-8000-${String(++uuid).padStart(12, "0")}`,
    log: (line) => logs.push(line),
    now: () => clock,
    ...overrides,
  };

  return { settings, requests, sleeps, logs };
}

export const started = { status: 200, body: { status: "started", execution: "caj-backend-x-abc", runId: "r1" } };
