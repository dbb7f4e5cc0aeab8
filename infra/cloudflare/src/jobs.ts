/**
 * The cron endpoints of CronFunctions (shared/spec/jobs.md), the one list of what every trigger calls.
 * No schedules here: the function app owns them and answers a call that is not due with `not_due`, so the
 * Worker calls every job on every (minutely) trigger and a missed slot is caught up at the next minute.
 */
export interface CronJob {
  /** Route name: the job is called at `{BACKEND_BASE}/cron/{name}`. */
  readonly name: string;
  /** Query string to send, without the leading `?`. */
  readonly query?: string;
}

export const JOBS: readonly CronJob[] = [
  { name: "ee-recent" },
  { name: "parties-import" },
  { name: "check-current" },
  { name: "mop-recent", query: "delta=25" },
  { name: "moderation-images" },
  { name: "sopn-parse" },
];

/** The URL of a job's endpoint under `backendBase` (e.g. `https://app.azurewebsites.net/api`). */
export function jobUrl(backendBase: string, job: CronJob): string {
  const base = backendBase.replace(/\/+$/, "");
  return `${base}/cron/${job.name}${job.query ? `?${job.query}` : ""}`;
}
