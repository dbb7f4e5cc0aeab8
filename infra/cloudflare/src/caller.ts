import { type CronJob, JOBS, jobUrl } from "./jobs.js";

/** What one trigger needs to call the jobs. Everything time- or network-related is injectable for tests. */
export interface CallSettings {
  /** Base URL of the cron endpoints, e.g. `https://<app>.azurewebsites.net/api`. */
  readonly backendBase: string;
  /** Bearer token (ERIFY_CRON_TOKEN). Sent in the Authorization header, never logged. */
  readonly token: string;
  /** Timeout of one HTTP attempt, in milliseconds. */
  readonly timeoutMs: number;
  /** Attempts per job, the first one included (1 = no retry). */
  readonly maxAttempts: number;
  /** Delay before the first retry when the server names none; doubles at each further retry. */
  readonly baseDelayMs: number;
  /** Upper bound of that doubling delay. A server's Retry-After is bounded by the budget instead. */
  readonly maxDelayMs: number;
  /**
   * Time one trigger may take, from its start: no retry starts unless its wait and a whole attempt fit in what
   * is left, so the trigger ends before the next minute's.
   */
  readonly budgetMs: number;
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
  /**
   * What the server decided, in one word: the body's `reason` (not_due, already_running), else its `status`
   * (started, error), else `error` for an answer without either, or `no answer` (network error, timeout).
   */
  readonly answer: string;
  /** HTTP status of the last attempt; absent when no response arrived (network error, timeout). */
  readonly httpStatus?: number;
  /** `status` of the JSON body (started, skipped, error), when the server sent one. */
  readonly status?: string;
  /** `reason` of the JSON body (already_running, not_due), when present. */
  readonly reason?: string;
  /** `error` of the JSON body, or what went wrong on our side (timeout, network error). */
  readonly error?: string;
  /** Why a retryable failure was not retried further: attempts used up, or the trigger's budget. */
  readonly gaveUp?: string;
  readonly correlationId: string;
  readonly attempts: number;
  readonly durationMs: number;
}

/** After a failed attempt that may be retried: wait this long and try again, or stop and say why. */
export type RetryPlan = { readonly waitMs: number } | { readonly gaveUp: string };

const REQUEST_BODY = JSON.stringify({ source: "cf-worker" });
const MAX_LOGGED_TEXT = 200;

/**
 * One trigger: calls every job at once and waits for all of them; the function app decides for each whether it
 * is due. The trigger's budget starts now. Resolves with the results when every call succeeded; otherwise, once
 * all calls have finished, throws an Error naming the failed jobs, so Cloudflare records the invocation as failed.
 */
export async function runScheduled(scheduledTime: number, settings: CallSettings): Promise<CallResult[]> {
  const deadline = settings.now() + settings.budgetMs;
  const results = await Promise.all(JOBS.map((job) => callJob(job, scheduledTime, deadline, settings)));
  const failed = results.filter((result) => !result.ok);
  if (failed.length > 0) {
    const details = failed.map(
      (result) => `${result.job} (${result.httpStatus ?? result.error ?? "failed"}${result.gaveUp ? `; gave up: ${result.gaveUp}` : ""})`,
    );
    throw new Error(
      `Trigger of ${new Date(scheduledTime).toISOString()}: ${failed.length} of ${results.length} job call(s) failed: ${details.join(", ")}`,
    );
  }

  return results;
}

/**
 * `POST {backendBase}/cron/{job}` with bounded retries, all before `deadline`. Retries network errors, timeouts,
 * 5xx and 429, never other 4xx, which a retry cannot fix. A 503 or 429 with `Retry-After` is retried after that
 * long instead of the doubling delay. A retry is safe: the server holds a lock per job and answers a duplicate
 * with "skipped". The correlation id stays the same across the retries of one call, so the server's run records
 * tie them together. Never throws.
 */
export async function callJob(job: CronJob, scheduledTime: number, deadline: number, settings: CallSettings): Promise<CallResult> {
  const correlationId = settings.randomUUID();
  const started = settings.now();
  const url = jobUrl(settings.backendBase, job);
  const headers = {
    Authorization: `Bearer ${settings.token}`,
    "Content-Type": "application/json",
    "X-Correlation-ID": correlationId,
    "X-Scheduled-Time": new Date(scheduledTime).toISOString(),
  };

  let outcome: Attempt;
  let gaveUp: string | undefined;
  let attempt = 0;
  while (true) {
    attempt++;
    // Every attempt ends by the deadline, whatever the settings.
    const timeoutMs = Math.max(1, Math.min(settings.timeoutMs, deadline - settings.now()));
    outcome = await attemptOnce(url, headers, timeoutMs, settings);
    if (outcome.ok || !outcome.retry) {
      break;
    }

    const plan = retryPlan(attempt, outcome.retryAfterMs, deadline - settings.now(), settings);
    if ("gaveUp" in plan) {
      gaveUp = plan.gaveUp;
      break;
    }

    await settings.sleep(plan.waitMs);
  }

  const result: CallResult = {
    job: job.name,
    ok: outcome.ok,
    answer: answerOf(outcome),
    httpStatus: outcome.httpStatus,
    status: outcome.body?.status,
    reason: outcome.body?.reason,
    error: outcome.body?.error ?? outcome.error,
    gaveUp,
    correlationId,
    attempts: attempt,
    durationMs: settings.now() - started,
  };
  const line = { message: "cron call", ...result, scheduledTime: headers["X-Scheduled-Time"] };
  settings.log(JSON.stringify(line), result.ok ? "info" : "error");
  return result;
}

/**
 * The retry decision after failed attempt number `attempt` (1-based), `msLeft` before the trigger's deadline.
 * The wait is the server's Retry-After when it sent one (503, 429), else the doubling delay. A retry starts only
 * if its wait plus a whole attempt (the request timeout) fits in what is left: it must be able to finish.
 */
export function retryPlan(
  attempt: number,
  retryAfterMs: number | undefined,
  msLeft: number,
  settings: Pick<CallSettings, "maxAttempts" | "baseDelayMs" | "maxDelayMs" | "timeoutMs">,
): RetryPlan {
  if (attempt >= settings.maxAttempts) {
    return { gaveUp: `all ${settings.maxAttempts} attempts used` };
  }

  const waitMs = retryAfterMs ?? Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** (attempt - 1));
  if (waitMs + settings.timeoutMs > msLeft) {
    const wait = retryAfterMs === undefined ? `a retry in ${seconds(waitMs)}` : `Retry-After ${seconds(waitMs)}`;
    return {
      gaveUp: `${wait} plus the ${seconds(settings.timeoutMs)} request timeout does not fit in the ${seconds(Math.max(0, msLeft))} left of the trigger's budget`,
    };
  }

  return { waitMs };
}

/**
 * Retry-After as delay-seconds or an HTTP date (RFC 9110 §10.2.3), in milliseconds from `now`; undefined when
 * absent or malformed, so the caller falls back to its own delay.
 */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  const value = header?.trim();
  if (!value) {
    return undefined;
  }

  if (/^\d+$/.test(value)) {
    return Number(value) * 1000;
  }

  // All three HTTP date forms start with the day's name; Date.parse alone would take "1" or "-5" as a year.
  if (!/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)/i.test(value)) {
    return undefined;
  }

  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
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

async function attemptOnce(url: string, headers: Record<string, string>, timeoutMs: number, settings: CallSettings): Promise<Attempt> {
  try {
    // The timeout covers the whole exchange, body included.
    const response = await settings.fetch(url, {
      method: "POST",
      headers,
      body: REQUEST_BODY,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = summarize(await response.text());
    if (response.ok) {
      return { ok: true, retry: false, httpStatus: response.status, body };
    }

    const honoursRetryAfter = response.status === 503 || response.status === 429;
    return {
      ok: false,
      retry: response.status >= 500 || response.status === 429,
      httpStatus: response.status,
      body,
      retryAfterMs: honoursRetryAfter ? parseRetryAfter(response.headers.get("Retry-After"), settings.now()) : undefined,
    };
  } catch (error) {
    return { ok: false, retry: true, error: describe(error, timeoutMs) };
  }
}

/** The server's decision in one word (see CallResult.answer). */
function answerOf(outcome: Attempt): string {
  const said = outcome.body?.reason ?? outcome.body?.status;
  if (said !== undefined) {
    return said;
  }

  if (outcome.httpStatus === undefined) {
    return "no answer";
  }

  return outcome.ok ? "ok" : "error";
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

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return `timeout after ${timeoutMs} ms`;
  }

  return `network error: ${truncate(error instanceof Error ? error.message : String(error))}`;
}
