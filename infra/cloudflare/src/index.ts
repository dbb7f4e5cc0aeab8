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
  /** Longest wait between attempts in milliseconds, Retry-After included (default 10000). */
  readonly RETRY_MAX_DELAY_MS?: string;
}

/** The parts of Cloudflare's ScheduledController this Worker uses. */
export interface ScheduledController {
  readonly cron: string;
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

  return {
    backendBase: env.BACKEND_BASE,
    token: env.ERIFY_CRON_TOKEN,
    timeoutMs: positiveInteger(env.REQUEST_TIMEOUT_MS, 30_000, "REQUEST_TIMEOUT_MS"),
    maxAttempts: positiveInteger(env.MAX_ATTEMPTS, 3, "MAX_ATTEMPTS"),
    baseDelayMs: positiveInteger(env.RETRY_BASE_DELAY_MS, 1_000, "RETRY_BASE_DELAY_MS"),
    maxDelayMs: positiveInteger(env.RETRY_MAX_DELAY_MS, 10_000, "RETRY_MAX_DELAY_MS"),
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
  /** One cron trigger: call the jobs on this schedule; throw if any failed, so Cloudflare shows the failure. */
  async scheduled(controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
    await runScheduled(controller.cron, controller.scheduledTime, settingsFrom(env));
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
