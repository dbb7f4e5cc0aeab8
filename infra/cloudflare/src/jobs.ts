/**
 * The cron endpoints of CronFunctions and the schedule each one runs on (shared/spec/jobs.md).
 * wrangler.toml declares one Cloudflare cron trigger per distinct schedule; a trigger calls only the jobs
 * whose schedule is exactly its cron expression.
 */
export interface CronJob {
  /** Route name: the job is called at `{BACKEND_BASE}/cron/{name}`. */
  readonly name: string;
  /** Cron expression (UTC), written exactly as in wrangler.toml. */
  readonly schedule: string;
  /** Query string to send, without the leading `?`. */
  readonly query?: string;
}

export const JOBS: readonly CronJob[] = [
  { name: "ee-recent", schedule: "*/5 * * * *" },
  { name: "parties-import", schedule: "6 2 * * *" },
  { name: "check-current", schedule: "23 23 * * *" },
  { name: "mop-recent", schedule: "33 23 * * *", query: "delta=25" },
  { name: "moderation-images", schedule: "* * * * *" },
  { name: "sopn-parse", schedule: "* * * * *" },
];

/** The distinct schedules, in first-seen order: what wrangler.toml's `crons` must list. */
export const SCHEDULES: readonly string[] = [...new Set(JOBS.map((job) => job.schedule))];

/** The jobs a trigger with cron expression `cron` runs (none for an unknown expression). */
export function jobsFor(cron: string): CronJob[] {
  const wanted = normalize(cron);
  return JOBS.filter((job) => normalize(job.schedule) === wanted);
}

/** Cloudflare passes the expression as configured; tolerate only whitespace differences. */
function normalize(cron: string): string {
  return cron.trim().split(/\s+/).join(" ");
}

/** The URL of a job's endpoint under `backendBase` (e.g. `https://app.azurewebsites.net/api`). */
export function jobUrl(backendBase: string, job: CronJob): string {
  const base = backendBase.replace(/\/+$/, "");
  return `${base}/cron/${job.name}${job.query ? `?${job.query}` : ""}`;
}
