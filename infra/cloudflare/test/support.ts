import type { CallSettings } from "../src/caller.js";

/** A request the fake backend received. */
export interface Recorded {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  readonly body: string;
}

/** How the fake backend answers one request: a response, or a thrown error (network failure). */
export type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | Error | "hang";

/**
 * Settings with an in-memory backend: `replies(url, n)` picks the answer to the n-th request (1-based) to
 * that URL. Sleeps are recorded instead of waited; log lines are kept.
 */
export function fakeSettings(replies: (url: string, attempt: number) => Reply, overrides: Partial<CallSettings> = {}) {
  const requests: Recorded[] = [];
  const sleeps: number[] = [];
  const logs: string[] = [];
  const counts = new Map<string, number>();
  let uuid = 0;

  const fakeFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = String(input);
    const attempt = (counts.get(url) ?? 0) + 1;
    counts.set(url, attempt);
    requests.push({
      url,
      method: init?.method ?? "GET",
      headers: new Headers(init?.headers),
      body: String(init?.body ?? ""),
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
    fetch: fakeFetch as typeof fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    randomUUID: () => `00000000-0000-4000-8000-${String(++uuid).padStart(12, "0")}`,
    log: (line) => logs.push(line),
    now: () => Date.parse("2026-01-01T00:00:00Z"),
    ...overrides,
  };

  return { settings, requests, sleeps, logs };
}

export const started = { status: 200, body: { status: "started", execution: "caj-backend-x-abc", runId: "r1" } };
