import { type CronJob, jobUrl, jobsFor } from "./jobs.js";

/** What one trigger needs to call its jobs. Everything time- or network-related is injectable for tests. */
export interface CallSettings {
  /** Base URL of the cron endpoints, e.g. `https://<app>.azurewebsites.net/api`. */
  readonly backendBase: string;
  /** Bearer token (ERIFY_CRON_TOKEN). Sent in the Authorization header, never logged. */
  readonly token: string;
  /** Timeout of one HTTP attempt, in milliseconds. */
  readonly timeoutMs: number;
  /** Attempts per job, the first one included (1 = no retry). */
  readonly maxAttempts: number;
  /** Delay before the first retry; doubles at each further retry. */
  readonly baseDelayMs: number;
  /** Upper bound of any delay between attempts, including a server's Retry-After. */
  readonly maxDelayMs: number;
  readonly fetch: typeof fetch;
  readonly sleep: (ms: number) => Promise<void>;
  readonly randomUUID: () => string;
  /** Writes one log line; `error` for a failed call. */
  readonly log: (line: string, level: "info" | "error") => void;
  readonly now: () => number;
}

/** How one job call ended, after its retries. */
export interface CallResult {
  readonly job: string;
  readonly ok: boolean;
  /** HTTP status of the last attempt; absent when no response arrived (network error, timeout). */
  readonly httpStatus?: number;
  /** `status` of the JSON body (started, skipped, error), when the server sent one. */
  readonly status?: string;
  /** `reason` of the JSON body (already_running, not_due), when present. */
  readonly reason?: string;
  /** `error` of the JSON body, or what went wrong on our side (timeout, network error). */
  readonly error?: string;
  readonly correlationId: string;
  readonly attempts: number;
  readonly durationMs: number;
}

const REQUEST_BODY = JSON.stringify({ source: "cf-worker" });
const MAX_LOGGED_TEXT = 200;

/**
 * Calls every job scheduled on `cron`, all at once, and waits for all of them. Resolves with the results
 * when every call succeeded; otherwise throws an Error naming the failed jobs, so Cloudflare records the
 * invocation as failed. A cron expression with no job is a configuration mistake and throws too.
 */
export async function runScheduled(cron: string, scheduledTime: number, settings: CallSettings): Promise<CallResult[]> {
  const jobs = jobsFor(cron);
  if (jobs.length === 0) {
    throw new Error(`No job is scheduled on cron "${cron}": wrangler.toml and src/jobs.ts disagree.`);
  }

  const results = await Promise.all(jobs.map((job) => callJob(job, scheduledTime, settings)));
  const failed = results.filter((result) => !result.ok);
  if (failed.length > 0) {
    const details = failed.map((result) => `${result.job} (${result.httpStatus ?? result.error ?? "failed"})`);
    throw new Error(`Cron "${cron}": ${failed.length} of ${results.length} job call(s) failed: ${details.join(", ")}`);
  }

  return results;
}

/**
 * `POST {backendBase}/cron/{job}` with bounded retries. Retries network errors, timeouts, 5xx and 429
 * (after Retry-After, capped); never other 4xx, which a retry cannot fix. A retry is safe: the server
 * holds a lock per job and answers a duplicate with "skipped". The correlation id stays the same across
 * the retries of one call, so the server's run records tie them together. Never throws.
 */
export async function callJob(job: CronJob, scheduledTime: number, settings: CallSettings): Promise<CallResult> {
  const correlationId = settings.randomUUID();
  const started = settings.now();
  const url = jobUrl(settings.backendBase, job);
  const headers = {
    Authorization: `Bearer ${settings.token}`,
    "Content-Type": "application/json",
    "X-Correlation-ID": correlationId,
    "X-Scheduled-Time": new Date(scheduledTime).toISOString(),
  };

  let outcome: Attempt = { ok: false, retry: false, error: "not attempted" };
  let attempt = 0;
  while (attempt < settings.maxAttempts) {
    attempt++;
    outcome = await attemptOnce(url, headers, settings);
    if (outcome.ok || !outcome.retry || attempt >= settings.maxAttempts) {
      break;
    }

    const backoff = settings.baseDelayMs * 2 ** (attempt - 1);
    await settings.sleep(Math.min(settings.maxDelayMs, Math.max(backoff, outcome.retryAfterMs ?? 0)));
  }

  const result: CallResult = {
    job: job.name,
    ok: outcome.ok,
    httpStatus: outcome.httpStatus,
    status: outcome.body?.status,
    reason: outcome.body?.reason,
    error: outcome.body?.error ?? outcome.error,
    correlationId,
    attempts: attempt,
    durationMs: settings.now() - started,
  };
  settings.log(JSON.stringify({ message: "cron call", ...result }), result.ok ? "info" : "error");
  return result;
}

interface ResponseSummary {
  readonly status?: string;
  readonly reason?: string;
  readonly error?: string;
}

interface Attempt {
  readonly ok: boolean;
  readonly retry: boolean;
  readonly httpStatus?: number;
  readonly body?: ResponseSummary;
  readonly error?: string;
  readonly retryAfterMs?: number;
}

async function attemptOnce(url: string, headers: Record<string, string>, settings: CallSettings): Promise<Attempt> {
  try {
    // The timeout covers the whole exchange, body included.
    const response = await settings.fetch(url, {
      method: "POST",
      headers,
      body: REQUEST_BODY,
      signal: AbortSignal.timeout(settings.timeoutMs),
    });
    const body = summarize(await response.text());
    if (response.ok) {
      return { ok: true, retry: false, httpStatus: response.status, body };
    }

    const retryable = response.status >= 500 || response.status === 429;
    return {
      ok: false,
      retry: retryable,
      httpStatus: response.status,
      body,
      retryAfterMs: response.status === 429 ? retryAfterMs(response.headers.get("Retry-After"), settings.now()) : undefined,
    };
  } catch (error) {
    return { ok: false, retry: true, error: describe(error, settings.timeoutMs) };
  }
}

/** The keys callers parse (status, reason, error), truncated; never the whole body. */
function summarize(text: string): ResponseSummary | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null) {
      return undefined;
    }

    const record = parsed as Record<string, unknown>;
    return { status: field(record, "status"), reason: field(record, "reason"), error: field(record, "error") };
  } catch {
    return text.length > 0 ? { error: `non-JSON response: ${truncate(text)}` } : undefined;
  }
}

function field(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  return typeof value === "string" ? truncate(value) : undefined;
}

function truncate(text: string): string {
  return text.length > MAX_LOGGED_TEXT ? `${text.slice(0, MAX_LOGGED_TEXT)}...` : text;
}

/** Retry-After as seconds or an HTTP date, in milliseconds from now. */
function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) {
    return undefined;
  }

  const seconds = Number(header);
  if (Number.isFinite(seconds)) {
    return Math.max(0, seconds * 1000);
  }

  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return `timeout after ${timeoutMs} ms`;
  }

  return `network error: ${truncate(error instanceof Error ? error.message : String(error))}`;
}
