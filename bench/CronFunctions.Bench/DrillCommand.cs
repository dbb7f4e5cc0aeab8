using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using CronFunctions.Bench.Infrastructure;
using CronFunctions.Jobs;
using CronFunctions.Locking;

namespace CronFunctions.Bench;

/// <summary>
/// <c>drill</c>: the fault drill. Three faults against the real pipeline, each checked against the lock's promises:
/// Azurite killed during a burst and brought back; a job's process killed mid-run; an app instance killed mid-run.
/// Prints a summary (Markdown) and exits 1 if any safety assertion fails.
/// </summary>
internal static class DrillCommand
{
    private static readonly TimeSpan BeforeKill = TimeSpan.FromSeconds(6.5);
    private static readonly TimeSpan Down = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan AfterRestart = TimeSpan.FromSeconds(12);
    private const int Callers = 16;
    private static readonly TimeSpan OwnerLease = new LockOptions().LeaseDuration; // the production default
    private static readonly TimeSpan StorageDown = TimeSpan.FromSeconds(30);
    private static readonly JobDefinition OwnerJob = JobCatalog.CheckCurrent;

    public static async Task<int> RunAsync()
    {
        var total = Stopwatch.StartNew();
        var checks = new List<Check>();
        RunCommand.Progress($"starting Azurite from {Repository.Root}/node_modules");
        await using var azurite = await AzuriteInstance.StartAsync().ConfigureAwait(false);
        var output = new List<string>
        {
            "## `drill` results",
            string.Empty,
            $"Started {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.",
            string.Empty,
        };
        output.AddRange(Machine.Facts());
        output.Add(string.Empty);

        output.AddRange(await StorageOutageAsync(azurite, checks).ConfigureAwait(false));
        output.AddRange(await JobProcessKilledAsync(azurite, checks).ConfigureAwait(false));
        output.AddRange(await OwnerLostAsync(azurite, checks).ConfigureAwait(false));

        output.Add("### Summary");
        output.Add(string.Empty);
        output.Add("| # | assertion | result | detail |");
        output.Add("|---:|---|---|---|");
        for (var i = 0; i < checks.Count; i++)
        {
            output.Add($"| {i + 1} | {checks[i].Assertion} | {(checks[i].Passed ? "pass" : "**FAIL**")} | {checks[i].Detail} |");
        }

        var failed = checks.Count(c => !c.Passed);
        output.Add(string.Empty);
        output.Add($"Load average (1, 5, 15 min) at the end: {Machine.Load()}.");
        output.Add(string.Empty);
        output.Add(failed == 0
            ? $"All {checks.Count} safety assertions passed. Total time {total.Elapsed.TotalSeconds:F0} s."
            : $"FAILED: {failed} of {checks.Count} safety assertions. Total time {total.Elapsed.TotalSeconds:F0} s.");
        foreach (var line in output)
        {
            Console.WriteLine(line);
        }

        return failed == 0 ? 0 : 1;
    }

    /// <summary>1. Azurite killed (SIGKILL) during a burst of concurrent calls to every job, then started again.</summary>
    private static async Task<List<string>> StorageOutageAsync(AzuriteInstance azurite, List<Check> checks)
    {
        RunCommand.Progress("drill 1: Azurite killed during a burst");
        using var backend = new FakeBackend(logRuns: true);
        var storage = new StorageCounter();
        var logs = new LogCounter();
        var container = BenchApp.NewContainerName("drill-outage");
        var apps = new[]
        {
            BenchApp.Create(azurite.ConnectionString, backend, container, storage, logs),
            BenchApp.Create(azurite.ConnectionString, backend, container, storage, logs),
        };
        var jobs = JobCatalog.All;
        var longJobs = new[] { JobCatalog.PartiesImport, JobCatalog.CheckCurrent };
        var calls = new ConcurrentBag<Call>();
        var clock = Stopwatch.StartNew();
        long killedAt = 0, restartBegan = 0, backAt = 0;
        var savedBeforeKill = false;
        try
        {
            // Two runs that straddle the outage: started well before the kill (so Azurite has saved their leases) and
            // still going when it comes back. Every later run of every job is short.
            backend.Mode = "sleep-detached 0.2";
            foreach (var job in longJobs)
            {
                backend.SetMode(job.Name, "sleep-detached 16");
                var answer = await apps[0].TimedPostAsync(job, "?force=true").ConfigureAwait(false);
                calls.Add(new Call(job.Name, 0, clock.ElapsedTicks, answer));
                backend.SetMode(job.Name, "sleep-detached 0.2");
            }

            using var stop = new CancellationTokenSource();
            var callers = Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
            {
                var random = new Random(caller);
                while (!stop.IsCancellationRequested)
                {
                    var job = jobs[random.Next(jobs.Count)];
                    var began = clock.ElapsedTicks;
                    var answer = await apps[caller % apps.Length].TimedPostAsync(job, "?force=true").ConfigureAwait(false);
                    calls.Add(new Call(job.Name, began, clock.ElapsedTicks, answer));
                    await Task.Delay(random.Next(5, 25), CancellationToken.None).ConfigureAwait(false);
                }
            })).ToArray();

            await Task.Delay(BeforeKill).ConfigureAwait(false);
            savedBeforeKill = await azurite.TryWaitForSaveAsync(DateTime.UtcNow, TimeSpan.FromSeconds(6)).ConfigureAwait(false);
            await azurite.StopAsync().ConfigureAwait(false);
            killedAt = clock.ElapsedTicks;
            RunCommand.Progress("drill 1: Azurite killed");
            await Task.Delay(Down).ConfigureAwait(false);
            restartBegan = clock.ElapsedTicks;
            await azurite.StartAgainAsync().ConfigureAwait(false);
            backAt = clock.ElapsedTicks;
            RunCommand.Progress("drill 1: Azurite back");
            await Task.Delay(AfterRestart).ConfigureAwait(false);
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(callers).ConfigureAwait(false);
            foreach (var app in apps)
            {
                await app.WaitForRunsAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var app in apps)
            {
                await app.DisposeAsync().ConfigureAwait(false);
            }
        }

        // Outcomes by phase: a call belongs to the phase it began in; those in flight at the kill have their own row.
        string PhaseOf(Call c) =>
            c.Began < killedAt && c.Ended < killedAt ? "1. before the kill"
            : c.Began < killedAt ? "2. in flight at the kill"
            : c.Began < restartBegan ? "3. began while Azurite was down"
            : c.Began < backAt ? "4. began while Azurite was starting again"
            : "5. after Azurite was back";
        var all = calls.ToList();
        var rows = new List<string>
        {
            "### 1. Azurite killed during a burst",
            string.Empty,
            $"{Callers} callers on 2 app instances sharing one lock container, each calling a random one of the 6 jobs with `force=true` " +
            "(so every free lock is taken) every 5–25 ms. Runs last 0.2 s, except two 16 s runs started first that straddle the outage. " +
            $"Azurite is SIGKILLed {BeforeKill.TotalSeconds} s in, right after its next database save " +
            $"({(savedBeforeKill ? "it saved" : "no save seen within 6 s; killed anyway")}), left down {Down.TotalSeconds} s, " +
            $"started again on the same port and data directory, and the burst goes on {AfterRestart.TotalSeconds} s with the same app instances.",
            string.Empty,
            "| phase | calls | started | skipped (already running) | skipped (not due) | 503 | other | p50 ms | max ms |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        };
        foreach (var phase in all.GroupBy(PhaseOf).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var latencies = new Latencies(phase.Count());
            foreach (var call in phase)
            {
                latencies.Add(call.Answer.ElapsedTicks);
            }

            var s = latencies.Summarize();
            int Count(string kind) => phase.Count(c => c.Answer.Kind == kind);
            var other = phase.Count(c => c.Answer.Kind is not ("started" or "skipped:already_running" or "skipped:not_due" or "503"));
            rows.Add($"| {phase.Key} | {phase.Count()} | {Count("started")} | {Count("skipped:already_running")} | {Count("skipped:not_due")} | {Count("503")} | {other} | {Fmt.Ms(s.P50)} | {Fmt.Ms(s.Max)} |");
        }

        rows.Add(string.Empty);

        // Safety: never two overlapping runs of a job; every run was announced by a started answer (so no 503 or
        // other answer started one); nothing began while the store was down; every job starts again after.
        var runs = backend.Runs();
        var startedIds = all.Where(c => c.Answer.Kind == "started").Select(c => c.Answer.RunId!).ToHashSet(StringComparer.Ordinal);
        var overlaps = runs.GroupBy(r => r.Job).ToDictionary(g => g.Key, g => MaxOverlap(g.Select(r => (r.StartNs, r.EndNs ?? long.MaxValue))), StringComparer.Ordinal);
        checks.Add(new Check(
            "storage outage: never two overlapping runs of one job",
            overlaps.Values.DefaultIfEmpty(0).Max() <= 1,
            $"{runs.Count} runs in the jobs' log; max overlap per job: {string.Join(", ", overlaps.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}"))}"));
        var unannounced = runs.Where(r => !startedIds.Contains(r.RunId)).ToList();
        var withoutRun = startedIds.Where(id => runs.All(r => r.RunId != id)).ToList();
        var answered503 = all.Count(c => c.Answer.Status == 503);
        checks.Add(new Check(
            "storage outage: every 503 (and every other non-started answer) started nothing",
            unannounced.Count == 0,
            $"{answered503} answers were 503; runs in the log not announced by a started answer: {unannounced.Count}; started answers with no run in the log: {withoutRun.Count}"));
        // A call that began while Azurite was down may still start a run if an SDK retry reaches it once it is back;
        // a run started by a call that both began and ended while no Azurite process existed would have had no lock.
        var startedDead = all.Count(c => c.Answer.Kind == "started" && c.Began >= killedAt && c.Ended < restartBegan);
        var startedLater = all.Where(c => c.Answer.Kind == "started" && c.Began >= killedAt && c.Began < restartBegan).ToList();
        checks.Add(new Check(
            "storage outage: no run started while no Azurite process existed",
            startedDead == 0,
            $"{startedDead} started answers both began and ended while Azurite was down; {startedLater.Count} that began while it was down answered only after it was started again " +
            (startedLater.Count > 0 ? $"(at {string.Join(", ", startedLater.Select(c => Fmt.N(Latencies.ToMs(c.Ended - restartBegan))))} ms after the restart began: their storage retries reached it)" : string.Empty)));

        var after = all.Where(c => c.Began >= backAt).ToList();
        var jobsBack = jobs.Where(j => after.Any(c => c.Job == j.Name && c.Answer.Kind == "started")).Select(j => j.Name).ToHashSet(StringComparer.Ordinal);
        var firstStart = after.Where(c => c.Answer.Kind == "started").Select(c => c.Ended).DefaultIfEmpty(long.MaxValue).Min();
        var stuck = new List<string>();
        foreach (var job in jobs.Where(j => !jobsBack.Contains(j.Name)))
        {
            stuck.Add(await DescribeLockAsync(azurite.ConnectionString, container, job.Name, logs).ConfigureAwait(false));
        }

        checks.Add(new Check(
            "storage outage: the same app instances work again once Azurite is back (every job starts again)",
            stuck.Count == 0,
            (firstStart == long.MaxValue ? "no start after the restart" : $"first start {Fmt.N(Latencies.ToMs(firstStart - backAt))} ms after Azurite listened again") +
            $"; jobs started again: {jobsBack.Count}/6" + (stuck.Count > 0 ? "; not restarted: " + string.Join("; ", stuck) : string.Empty)));

        rows.Add($"Runs: {runs.Count} in the jobs' log. The app's warnings and errors: {logs.Describe()}.");
        rows.Add(string.Empty);
        return rows;
    }

    /// <summary>2. The job's own process (<c>sh manage.py</c>) SIGKILLed mid-run.</summary>
    private static async Task<List<string>> JobProcessKilledAsync(AzuriteInstance azurite, List<Check> checks)
    {
        RunCommand.Progress("drill 2: the job's process killed mid-run");
        using var backend = new FakeBackend(logRuns: true);
        var storage = new StorageCounter();
        var logs = new LogCounter();
        var container = BenchApp.NewContainerName("drill-runner");
        await using var app = BenchApp.Create(azurite.ConnectionString, backend, container, storage, logs);
        var blobs = new BlobContainerClient(azurite.ConnectionString, container);
        var kills = new ConcurrentDictionary<int, long>(); // pid → when it was killed (ns, the log's clock)
        var rows = new List<string>
        {
            "### 2. The job's process killed mid-run",
            string.Empty,
            "A forced run of a job that sleeps, SIGKILL of its `sh manage.py` process 0.5 s in, then the lock blob is polled every 5 ms " +
            "(a separate client) until its lease is free; then 20 concurrent calls.",
            string.Empty,
            "| case | kill → lock free (by the app's own release) | record written at release | then 20 concurrent calls |",
            "|---|---:|---|---|",
        };

        // a) What the brief describes: the job's process is the only holder of its output pipes.
        {
            var job = JobCatalog.SopnParse;
            backend.SetMode(job.Name, "sleep-detached 3600");
            var (freeMs, record, after, children) = await KillMidRunAsync(app, blobs, job, TimeSpan.FromSeconds(10), kills).ConfigureAwait(false);
            rows.Add($"| a) only the job's process holds its stdout/stderr | {(freeMs is { } ms ? Fmt.N(ms) + " ms" : "not within 10 s")} | {record} | {after.Describe} |");
            checks.Add(new Check("job process killed: the app sees the exit and releases the lock", freeMs is < 2000, freeMs is { } f ? $"{Fmt.N(f)} ms after the kill" : "still held 10 s after the kill"));
            checks.Add(new Check("job process killed: the next calls start exactly one new run", after.Started == 1, after.Describe));
            await CleanUpAsync(app, after, children, kills).ConfigureAwait(false);
        }

        // b) A child of the job inherited the pipes (a subprocess of a real job would): the runner waits for EOF.
        {
            var job = JobCatalog.EeRecent;
            backend.SetMode(job.Name, "sleep 5");
            var (freeMs, record, after, children) = await KillMidRunAsync(app, blobs, job, TimeSpan.FromSeconds(10), kills).ConfigureAwait(false);
            rows.Add($"| b) a child of the job (sleep 5) inherited its stdout/stderr | {(freeMs is { } ms ? Fmt.N(ms) + " ms" : "not within 10 s")} | {record} | {after.Describe} |");
            checks.Add(new Check("job process killed (child holds the pipes): the next calls start exactly one new run", after.Started == 1, after.Describe));
            await CleanUpAsync(app, after, children, kills).ConfigureAwait(false);
        }

        // c) Same as b), but calls come at once: until the owner has seen the exit and released (milliseconds), they are
        // skipped as already running; then a burst starts exactly one run.
        {
            var job = JobCatalog.MopRecent;
            backend.SetMode(job.Name, "sleep 5");
            var first = await app.TimedPostAsync(job, "?force=true").ConfigureAwait(false);
            await Task.Delay(500).ConfigureAwait(false);
            var children = ProcessTools.Descendants(first.Pid!.Value);
            var killed = Stopwatch.StartNew();
            Kill(first.Pid.Value, kills);
            var bursts = new List<Burst>();
            do
            {
                bursts.Add(await ConcurrentCallsAsync(app, job, 20).ConfigureAwait(false));
            }
            while (bursts[^1].Started == 0 && killed.Elapsed < TimeSpan.FromSeconds(5));

            var startedAfter = killed.Elapsed.TotalMilliseconds;
            var all = new Burst([.. bursts.SelectMany(b => b.Answers)]);
            var childAlive = children.Any(ProcessTools.IsAlive);
            rows.Add($"| c) as b), bursts of 20 calls from the moment of the kill | – ({bursts.Count} bursts; the new run answered {Fmt.N(startedAfter)} ms after the kill; the old run's child still running: {(childAlive ? "yes" : "no")}) | – | {all.Describe} |");
            checks.Add(new Check("job process killed, calls at once: exactly one new run, within 2 s of the kill", all.Started == 1 && startedAfter < 2000, $"{all.Describe}, {Fmt.N(startedAfter)} ms"));
            await CleanUpAsync(app, all, children, kills).ConfigureAwait(false);
        }

        var runs = backend.Runs();
        var overlaps = runs.GroupBy(r => r.Job).Select(g => MaxOverlap(g.Select(r => (r.StartNs, r.EndNs ?? kills.GetValueOrDefault(r.Pid, long.MaxValue))))).DefaultIfEmpty(0).Max();
        checks.Add(new Check("job process killed: never two overlapping runs of one job", overlaps <= 1, $"{runs.Count} runs in the jobs' log (a killed run ends at its kill); max overlap per job {overlaps}"));
        rows.Add(string.Empty);
        rows.Add($"The app's warnings and errors: {logs.Describe()}.");
        rows.Add(string.Empty);
        return rows;
    }

    /// <summary>
    /// 3. The app instance that owns a run goes away — killed (SIGKILL), stopped by its host (SIGTERM), or cut off by a
    /// 30 s storage outage — with the production lease (50 s): what becomes of its run, and when the job can run again.
    /// </summary>
    private static async Task<List<string>> OwnerLostAsync(AzuriteInstance azurite, List<Check> checks)
    {
        var rows = new List<string>
        {
            "### 3. The run's owner lost: killed, stopped, or cut off from storage",
            string.Empty,
            $"A separate app instance process starts a run that would last an hour (`{OwnerJob.Name}`), with the production lease " +
            $"({OwnerLease.TotalSeconds:F0} s). Then its owner is SIGKILLed, or stopped with SIGTERM (as the host stops a worker), or Azurite is " +
            $"killed for {StorageDown.TotalSeconds:F0} s while the run goes on. Another instance calls the job (`force=true`) every 0.5 s until it " +
            "starts a run. Times are from the fault (for the outage: from Azurite listening again).",
            string.Empty,
            "| fault | the old run | answers meanwhile | next run starts after | max runs at once |",
            "|---|---|---|---:|---:|",
        };

        foreach (var fault in new[] { "killed (SIGKILL)", "stopped (SIGTERM)", $"storage down {StorageDown.TotalSeconds:F0} s" })
        {
            RunCommand.Progress($"drill 3: owner {fault}");
            using var backend = new FakeBackend(logRuns: true);
            backend.SetMode(OwnerJob.Name, "sleep 3600");
            var container = BenchApp.NewContainerName("drill-owner");
            var settings = BenchApp.Settings(azurite.ConnectionString, backend.Directory, container);
            settings["Cron:Lock:LeaseDuration"] = OwnerLease.ToString();
            var logs = new LogCounter();
            await using var owner = await SeparateApp.CallAsync(settings, OwnerJob.Name, "?force=true").ConfigureAwait(false);
            var pid = owner.Body.GetProperty("pid").GetInt32();
            ProcessTools.Own(pid);
            await ProcessTools.WaitForDescendantsAsync(pid, TimeSpan.FromSeconds(10)).ConfigureAwait(false);

            var deaths = new Dictionary<int, long>(); // pid → when it was seen dead (ns, the log's clock): SIGKILLed runs log no end
            var outage = fault.StartsWith("storage", StringComparison.Ordinal);
            if (outage)
            {
                // Azurite writes its blob database every 5 s; killed between two saves, it would forget the run's lease and
                // record, which Azure Storage never does to an acknowledged write. So the outage begins right after a save.
                await azurite.WaitForSaveAsync(DateTime.UtcNow).ConfigureAwait(false);
            }

            var faultAt = Stopwatch.StartNew();
            string oldRun;
            if (outage)
            {
                await azurite.StopAsync().ConfigureAwait(false);
                await Task.Delay(StorageDown).ConfigureAwait(false);
                await azurite.StartAgainAsync().ConfigureAwait(false);
                faultAt.Restart();
                oldRun = ProcessTools.IsAlive(pid) ? $"kept running through the outage (its lifeline's budget is {new LockOptions().LifelineBudget.TotalSeconds:F1} s from the last renewal)" : "stopped by its lifeline";
            }
            else
            {
                await (fault.StartsWith("killed", StringComparison.Ordinal) ? owner.CrashAsync() : owner.StopAsync()).ConfigureAwait(false);
                var dead = Stopwatch.StartNew();
                while (ProcessTools.IsAlive(pid) && dead.Elapsed < TimeSpan.FromSeconds(30))
                {
                    await Task.Delay(20).ConfigureAwait(false);
                }

                if (!ProcessTools.IsAlive(pid))
                {
                    deaths[pid] = NowNs();
                }

                oldRun = ProcessTools.IsAlive(pid) ? "**still alive 30 s later**" : $"died {Fmt.N(faultAt.Elapsed.TotalMilliseconds)} ms after";
                checks.Add(new Check($"owner {fault}: its run dies within 15 s", !ProcessTools.IsAlive(pid) && faultAt.Elapsed < TimeSpan.FromSeconds(15), oldRun));
            }

            await using var other = BenchApp.Create(azurite.ConnectionString, backend, container, new StorageCounter(), logs);
            var answers = new List<Answer>();
            TimeSpan? startedAfter = null;
            while (faultAt.Elapsed < TimeSpan.FromSeconds(150))
            {
                if (!deaths.ContainsKey(pid) && !ProcessTools.IsAlive(pid))
                {
                    deaths[pid] = NowNs(); // its lifeline stopped it (an upper bound: seen at this poll)
                }

                var answer = await other.TimedPostAsync(OwnerJob, "?force=true").ConfigureAwait(false);
                answers.Add(answer);
                if (answer.Kind == "started")
                {
                    startedAfter = faultAt.Elapsed;
                    break;
                }

                if (outage && answers.Count == 20 && ProcessTools.IsAlive(pid))
                {
                    // The run survived the outage and its owner still holds it: end it, as a run ends, and time the next.
                    ProcessTools.KillWithDescendants(pid);
                    deaths[pid] = NowNs();
                    oldRun += "; then ended (killed) 10 s after storage was back";
                    faultAt.Restart();
                }

                await Task.Delay(500).ConfigureAwait(false);
            }

            var runs = backend.Runs();
            var overlap = MaxOverlap(runs.Select(r => (r.StartNs, r.EndNs ?? deaths.GetValueOrDefault(r.Pid, NowNs()))));
            foreach (var started in answers.Where(a => a.Pid is not null))
            {
                ProcessTools.KillWithDescendants(started.Pid!.Value);
            }

            await other.WaitForRunsAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            var meanwhile = string.Join(", ", answers.GroupBy(a => a.Kind).Select(g => $"{g.Key} ×{g.Count()}"));
            rows.Add($"| owner {fault} | {oldRun} | {meanwhile} | {(startedAfter is { } after ? $"{after.TotalSeconds:F1} s" : "**not within 150 s**")} | {overlap} |");
            checks.Add(new Check($"owner {fault}: the next run starts within 60 s, never beside the old one", startedAfter is { } t && t < TimeSpan.FromSeconds(60) && overlap <= 1,
                $"{(startedAfter is { } s2 ? $"{s2.TotalSeconds:F1} s" : "no start")}, max runs at once {overlap}"));
        }

        rows.Add(string.Empty);
        return rows;
    }

    private static async Task<(double? FreeMs, string Record, Burst After, IReadOnlyList<int> Children)> KillMidRunAsync(
        TestApp app, BlobContainerClient blobs, JobDefinition job, TimeSpan limit, ConcurrentDictionary<int, long> kills)
    {
        var first = await app.TimedPostAsync(job, "?force=true").ConfigureAwait(false);
        if (first.Pid is not { } pid)
        {
            return (null, "–", new Burst([first]), []);
        }

        await Task.Delay(500).ConfigureAwait(false);
        var children = ProcessTools.Descendants(pid);
        var blob = blobs.GetBlobClient(job.Name);
        var killed = Stopwatch.StartNew();
        Kill(pid, kills);
        double? freeMs = null;
        BlobProperties properties;
        do
        {
            properties = (await blob.GetPropertiesAsync().ConfigureAwait(false)).Value;
            if (properties.LeaseState == LeaseState.Available)
            {
                freeMs = killed.Elapsed.TotalMilliseconds;
                break;
            }

            await Task.Delay(5).ConfigureAwait(false);
        }
        while (killed.Elapsed < limit);

        var record = $"state {Meta(properties, "state", "?")}, outcome {Meta(properties, "outcome", "–")}, exit code {Meta(properties, "exitcode", "–")}";
        var after = await ConcurrentCallsAsync(app, job, 20).ConfigureAwait(false);
        return (freeMs, record, after, children);
    }

    private static async Task<Burst> ConcurrentCallsAsync(TestApp app, JobDefinition job, int calls)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, calls).Select(async _ =>
        {
            await gate.Task.ConfigureAwait(false);
            return await app.TimedPostAsync(job, "?force=true").ConfigureAwait(false);
        }).ToArray();
        gate.SetResult();
        return new Burst(await Task.WhenAll(tasks).ConfigureAwait(false));
    }

    /// <summary>Kills the runs a burst started (and leftovers of an earlier run), then waits for the app to release.</summary>
    private static async Task CleanUpAsync(TestApp app, Burst burst, IReadOnlyList<int> leftovers, ConcurrentDictionary<int, long> kills)
    {
        foreach (var pid in burst.Answers.Where(a => a.Pid is not null).Select(a => a.Pid!.Value))
        {
            var descendants = ProcessTools.Descendants(pid);
            Kill(pid, kills);
            foreach (var child in descendants)
            {
                ProcessTools.Kill(child);
            }
        }

        foreach (var pid in leftovers)
        {
            ProcessTools.Kill(pid);
        }

        await app.WaitForRunsAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
    }

    /// <summary>Why a job's lock still refuses runs: its lease and record, and whether the app logged the handle as unrecorded.</summary>
    private static async Task<string> DescribeLockAsync(string connectionString, string container, string job, LogCounter logs)
    {
        var blob = new BlobContainerClient(connectionString, container).GetBlobClient(job);
        var properties = (await blob.GetPropertiesAsync().ConfigureAwait(false)).Value;
        var runId = Meta(properties, "runid", "?");
        return $"{job} (lease {properties.LeaseState}, record {Meta(properties, "state", "none")} for run {runId}" +
               $"{(logs.Saw("RunHandleNotRecorded", runId) ? ", whose handle the app could not record" : string.Empty)}, deadline {Meta(properties, "deadline", "?")})";
    }

    /// <summary>The most runs going at once, from (start, end) spans on one clock.</summary>
    private static int MaxOverlap(IEnumerable<(long Start, long End)> spans)
    {
        var events = spans.SelectMany(s => new[] { (At: s.Start, Delta: 1), (At: s.End, Delta: -1) })
            .OrderBy(e => e.At).ThenBy(e => e.Delta); // an end at the same instant as a start counts first
        int current = 0, max = 0;
        foreach (var (_, delta) in events)
        {
            current += delta;
            max = Math.Max(max, current);
        }

        return max;
    }

    private static string Meta(BlobProperties properties, string key, string fallback) =>
        properties.Metadata.TryGetValue(key, out var value) ? value : fallback;

    private static void Kill(int pid, ConcurrentDictionary<int, long> kills)
    {
        kills[pid] = NowNs();
        ProcessTools.Kill(pid);
    }

    private static long NowNs() => (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;

    private sealed record Call(string Job, long Began, long Ended, Answer Answer);

    private sealed record Check(string Assertion, bool Passed, string Detail);

    private sealed record Burst(IReadOnlyList<Answer> Answers)
    {
        public int Started => Answers.Count(a => a.Kind == "started");

        public string Describe => string.Join(", ", Answers.GroupBy(a => a.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} ×{g.Count()}"));
    }
}
