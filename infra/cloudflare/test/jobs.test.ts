import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { settingsFrom } from "../src/index.js";
import { JOBS, jobUrl } from "../src/jobs.js";

const toml = readFileSync(new URL("../../wrangler.toml", import.meta.url), "utf8");

test("the job list holds every job of the spec exactly once", () => {
  assert.deepEqual(
    JOBS.map((job) => job.name).sort(),
    ["check-current", "ee-recent", "moderation-images", "mop-recent", "parties-import", "sopn-parse"],
  );
});

test("wrangler.toml declares one trigger, every minute", () => {
  const block = /^crons\s*=\s*\[([\s\S]*?)\]/m.exec(toml);
  assert.ok(block, "wrangler.toml has no [triggers] crons list");
  const crons = [...(block[1] ?? "").matchAll(/"([^"]+)"/g)].map((match) => match[1]);

  assert.deepEqual(crons, ["* * * * *"]);
});

test("wrangler.toml's [vars] are settings the Worker accepts, with a budget under a minute", () => {
  const section = /^\[vars\]\n([\s\S]*?)(?=^\[|$(?![\s\S]))/m.exec(toml);
  assert.ok(section, "wrangler.toml has no [vars] section");
  const vars = Object.fromEntries(
    [...(section[1] ?? "").matchAll(/^([A-Z_]+)\s*=\s*"([^"]*)"/gm)].map((match) => [match[1], match[2]]),
  );

  const settings = settingsFrom({ ...vars, BACKEND_BASE: vars.BACKEND_BASE ?? "", ERIFY_CRON_TOKEN: "from a secret" });

  assert.equal(vars.TRIGGER_BUDGET_MS, "50000");
  assert.equal(settings.budgetMs, 50_000);
  assert.equal(settings.timeoutMs, 30_000);
  assert.equal(vars.ERIFY_CRON_TOKEN, undefined, "the token is a secret, never a var");
});

test("job URLs: POST target under the base, mop-recent with delta=25", () => {
  const base = "https://app.example/api/";
  const url = (name: string) => jobUrl(base, JOBS.find((job) => job.name === name)!);

  assert.equal(url("ee-recent"), "https://app.example/api/cron/ee-recent");
  assert.equal(url("mop-recent"), "https://app.example/api/cron/mop-recent?delta=25");
});
