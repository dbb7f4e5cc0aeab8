import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { JOBS, SCHEDULES, jobUrl, jobsFor } from "../src/jobs.js";

test("each trigger runs exactly the jobs of its schedule", () => {
  const names = (cron: string) => jobsFor(cron).map((job) => job.name);

  assert.deepEqual(names("*/5 * * * *"), ["ee-recent"]);
  assert.deepEqual(names("6 2 * * *"), ["parties-import"]);
  assert.deepEqual(names("23 23 * * *"), ["check-current"]);
  assert.deepEqual(names("33 23 * * *"), ["mop-recent"]);
  assert.deepEqual(names("* * * * *"), ["moderation-images", "sopn-parse"]);
});

test("an unknown cron expression runs nothing", () => {
  assert.deepEqual(jobsFor("0 0 * * *"), []);
  assert.deepEqual(jobsFor(""), []);
});

test("whitespace differences in the expression do not matter", () => {
  assert.deepEqual(
    jobsFor(" 33  23 * *\t* ").map((job) => job.name),
    ["mop-recent"],
  );
});

test("every job of the spec is scheduled exactly once", () => {
  assert.deepEqual(
    JOBS.map((job) => job.name).sort(),
    ["check-current", "ee-recent", "moderation-images", "mop-recent", "parties-import", "sopn-parse"],
  );
});

test("wrangler.toml declares one trigger per schedule, no more, no less", () => {
  const toml = readFileSync(new URL("../../wrangler.toml", import.meta.url), "utf8");
  const block = /^crons\s*=\s*\[([\s\S]*?)\]/m.exec(toml);
  assert.ok(block, "wrangler.toml has no [triggers] crons list");
  const crons = [...(block[1] ?? "").matchAll(/"([^"]+)"/g)].map((match) => match[1]);

  assert.deepEqual([...crons].sort(), [...SCHEDULES].sort());
});

test("job URLs: POST target under the base, mop-recent with delta=25", () => {
  const base = "https://app.example/api/";
  const url = (name: string) => jobUrl(base, JOBS.find((job) => job.name === name)!);

  assert.equal(url("ee-recent"), "https://app.example/api/cron/ee-recent");
  assert.equal(url("mop-recent"), "https://app.example/api/cron/mop-recent?delta=25");
});
