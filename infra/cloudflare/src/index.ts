import { type CallSettings, runScheduled } from "./caller.js";

/** Bindings of the Worker (wrangler.toml [vars] and the ERIFY_CRON_TOKEN secret). */
export interface Env {
  /** Base URL of the cron endpoints, e.g. `https://<app>.azurewebsites.net/api` (azd output AZURE_FUNCTION_URL). */
  readonly BACKEND_BASE: string;
  /** Bearer token; set with `wrangler secret put ERIFY_CRON_TOKEN`. */
  readonly ERIFY_CRON_TOKEN: string;
  /** Timeout of one HTTP attempt in milliseconds (default 30000). */
  readonly REQUEST_TIMEOUT_MS?: string;
  /** Attempts per job call, the first included (default 3). */
  readonly MAX_ATTEMPTS?: string;
  /** Delay before the first retry in milliseconds, doubled per retry (default 1000). */
  readonly RETRY_BASE_DELAY_MS?: string;
  /** Longest doubling delay between attempts in milliseconds (default 10000); a server's Retry-After is not capped by it. */
  readonly RETRY_MAX_DELAY_MS?: string;
  /**
   * Time one trigger may take in milliseconds (default 50000, below 60000 so it ends before the next minute's
   * trigger, and at least REQUEST_TIMEOUT_MS). No retry starts unless its wait and a whole attempt fit in it.
   */
  readonly TRIGGER_BUDGET_MS?: string;
}

/** The parts of Cloudflare's ScheduledController this Worker uses. */
export interface ScheduledController {
  /** The minute the trigger is for (epoch milliseconds), sent as X-Scheduled-Time. */
  readonly scheduledTime: number;
}

/** The parts of Cloudflare's ExecutionContext this Worker uses (none; declared for the handler's shape). */
export interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

/** Reads the Worker's settings from its bindings; throws (without echoing values) when one is missing. */
export function settingsFrom(env: Env, overrides: Partial<CallSettings> = {}): CallSettings {
  if (!env.BACKEND_BASE) {
    throw new Error("BACKEND_BASE is not set (wrangler.toml [vars]).");
  }

  if (!env.ERIFY_CRON_TOKEN) {
    throw new Error("ERIFY_CRON_TOKEN is not set (wrangler secret put ERIFY_CRON_TOKEN).");
  }

  const timeoutMs = positiveInteger(env.REQUEST_TIMEOUT_MS, 30_000, "REQUEST_TIMEOUT_MS");
  const budgetMs = positiveInteger(env.TRIGGER_BUDGET_MS, 50_000, "TRIGGER_BUDGET_MS");
  if (budgetMs >= 60_000) {
    throw new Error(`TRIGGER_BUDGET_MS must be under 60000, so a trigger ends before the next minute's, not ${budgetMs}.`);
  }

  if (timeoutMs > budgetMs) {
    throw new Error(`REQUEST_TIMEOUT_MS (${timeoutMs}) must not exceed TRIGGER_BUDGET_MS (${budgetMs}).`);
  }

  return {
    backendBase: env.BACKEND_BASE,
    token: env.ERIFY_CRON_TOKEN,
    timeoutMs,
    maxAttempts: positiveInteger(env.MAX_ATTEMPTS, 3, "MAX_ATTEMPTS"),
    baseDelayMs: positiveInteger(env.RETRY_BASE_DELAY_MS, 1_000, "RETRY_BASE_DELAY_MS"),
    maxDelayMs: positiveInteger(env.RETRY_MAX_DELAY_MS, 10_000, "RETRY_MAX_DELAY_MS"),
    budgetMs,
    fetch: (input, init) => fetch(input, init),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    randomUUID: () => crypto.randomUUID(),
    log: (line, level) => (level === "error" ? console.error(line) : console.log(line)),
    now: () => Date.now(),
    ...overrides,
  };
}

function positiveInteger(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === "") {
    return fallback;
  }

  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) {
    throw new Error(`${name} must be a positive whole number, not "${value}".`);
  }

  return parsed;
}

export default {
  /**
   * Every trigger, whatever its cron expression: call all the jobs (the function app decides which are due);
   * throw if any call failed, so Cloudflare shows the failure.
   */
  async scheduled(controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
    await runScheduled(controller.scheduledTime, settingsFrom(env));
  },

  /** The Worker serves nothing over HTTP. */
  async fetch(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (request.method === "GET" && pathname === "/health") {
      return new Response("ok\n", { headers: { "Content-Type": "text/plain" } });
    }

    return new Response("Not Found\n", { status: 404, headers: { "Content-Type": "text/plain" } });
  },
};
