using System.Diagnostics;
using CronFunctions.Bench.Infrastructure;
using CronFunctions.Jobs;

namespace CronFunctions.Bench;

/// <summary>
/// <c>run</c>: latency and throughput per call type and concurrency, storage requests per call type, contention for
/// one job, memory over many calls, and start-up time. Tables go to stdout (Markdown), progress to stderr. Exits 1
/// if contention ever started other than exactly one run, or a cell got answers it should not have.
/// </summary>
internal static class RunCommand
{
    private static readonly int[] Concurrencies = [1, 16, 64];
    private const int MemorySteps = 4;

    public static async Task<int> RunAsync(RunOptions options)
    {
        var total = Stopwatch.StartNew();
        var failures = new List<string>();
        Progress($"starting Azurite from {Repository.Root}/node_modules");
        await using var azurite = await AzuriteInstance.StartAsync().ConfigureAwait(false);
        using var backend = new FakeBackend(logRuns: false);
        var storage = new StorageCounter();
        var meters = new Meters(storage, azurite);
        var logs = new LogCounter();
        var longRuns = new List<int>();
        var output = new List<string>
        {
            "## `run` results",
            string.Empty,
            $"Started {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.",
            string.Empty,
        };
        output.AddRange(Machine.Facts());
        output.Add(string.Empty);

        var mainContainer = BenchApp.NewContainerName("bench-main");
        await using var main = BenchApp.Create(azurite.ConnectionString, backend, mainContainer, storage, logs);

        // A second instance on the same locks holds the long run the skipped calls find (so waiting for main's runs
        // never waits for it); its record names this host and pid, so main's liveness check sees it alive.
        await using var holder = BenchApp.Create(azurite.ConnectionString, backend, mainContainer, storage, logs);
        try
        {
            // 1. Storage requests per call type, one call at a time so every request belongs to the call measured.
            Progress("storage requests per call type");
            output.AddRange(await StorageBreakdownAsync(main, holder, storage, backend, longRuns, failures).ConfigureAwait(false));

            // The not-due job's last run "just started": one forced run that ends at once.
            backend.SetMode(JobCatalog.PartiesImport.Name, "exit");
            Expect(await main.TimedPostAsync(JobCatalog.PartiesImport, "?force=true").ConfigureAwait(false), "started", "not-due set-up", failures);
            await main.WaitForRunsAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);

            Func<int, Task<Answer>> refused = _ => main.TimedPostAsync(JobCatalog.EeRecent, authorization: BenchApp.BadAuthorization);
            Func<int, Task<Answer>> skipped = _ => main.TimedPostAsync(JobCatalog.SopnParse);
            Func<int, Task<Answer>> notDue = _ => main.TimedPostAsync(JobCatalog.PartiesImport);

            Progress("warm-up");
            foreach (var (call, kind) in new[] { (refused, "401"), (skipped, "skipped:already_running"), (notDue, "skipped:not_due") })
            {
                await RunCellAsync(call, kind, 500, 16, meters).ConfigureAwait(false);
            }

            // 2. Memory: a forced full GC before each reading.
            Progress($"memory over {options.MemoryCalls * MemorySteps:N0} skipped calls");
            output.AddRange(await MemoryAsync(skipped, options.MemoryCalls, meters).ConfigureAwait(false));

            // 3. Latency and throughput.
            var rows = new List<string>
            {
                "### Latency and throughput",
                string.Empty,
                "| call | callers | calls | p50 ms | p95 ms | p99 ms | max ms | calls/s | storage requests/call | CPU ms/call: app / Azurite | unexpected answers |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            };
            foreach (var (name, call, kind) in new[]
                     {
                         ("refused (bad token)", refused, "401"),
                         ("skipped (already running)", skipped, "skipped:already_running"),
                         ("not due", notDue, "skipped:not_due"),
                     })
            {
                foreach (var concurrency in Concurrencies)
                {
                    Progress($"{name} × {concurrency}");
                    await RunCellAsync(call, kind, WarmUpCalls(options.Calls, concurrency), concurrency, meters).ConfigureAwait(false);
                    var cell = await RunCellAsync(call, kind, options.Calls, concurrency, meters).ConfigureAwait(false);
                    rows.Add(cell.Row(name, concurrency));
                    if (cell.Unexpected > 0)
                    {
                        failures.Add($"{name} × {concurrency}: {cell.Unexpected} unexpected answers ({cell.UnexpectedKinds})");
                    }
                }
            }

            // Started calls: one lane per caller, each an app instance with its own lock container (a job runs once
            // at a time, so concurrent started calls need separate locks); a lane waits for its run to end and
            // release before its next call. Latency is the call's answer time only.
            Progress("started calls: preparing 64 lanes");
            var lanes = new List<TestApp>();
            try
            {
                for (var i = 0; i < Concurrencies.Max(); i++)
                {
                    lanes.Add(BenchApp.Create(azurite.ConnectionString, backend, BenchApp.NewContainerName($"bench-lane{i}"), storage, logs));
                }

                backend.SetMode(JobCatalog.EeRecent.Name, "exit");
                await Task.WhenAll(lanes.Select(async lane =>
                {
                    // First call of a lane creates its container and lock blob; a second warms the steady path.
                    for (var warm = 0; warm < 2; warm++)
                    {
                        await lane.TimedPostAsync(JobCatalog.EeRecent, "?force=true").ConfigureAwait(false);
                        await lane.WaitForRunsAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
                    }
                })).ConfigureAwait(false);

                foreach (var concurrency in Concurrencies)
                {
                    Progress($"started × {concurrency}");
                    async Task<Answer> StartOnLane(int worker)
                    {
                        var answer = await lanes[worker].TimedPostAsync(JobCatalog.EeRecent, "?force=true").ConfigureAwait(false);
                        await lanes[worker].WaitForRunsAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
                        return answer;
                    }

                    await RunCellAsync(StartOnLane, "started", WarmUpCalls(options.StartedCalls, concurrency), concurrency, meters).ConfigureAwait(false);
                    var cell = await RunCellAsync(
                        StartOnLane,
                        "started",
                        options.StartedCalls,
                        concurrency,
                        meters).ConfigureAwait(false);
                    rows.Add(cell.Row("started (trivial process, `force=true`)", concurrency));
                    if (cell.Unexpected > 0)
                    {
                        failures.Add($"started × {concurrency}: {cell.Unexpected} unexpected answers ({cell.UnexpectedKinds})");
                    }
                }
            }
            finally
            {
                foreach (var lane in lanes)
                {
                    await lane.DisposeAsync().ConfigureAwait(false);
                }
            }

            rows.Add(string.Empty);
            rows.Add($"Calls per cell: {options.Calls:N0} (refused, skipped, not due), {options.StartedCalls:N0} (started; spread over the lanes), " +
                     "each cell after an unmeasured warm-up at the same concurrency (a quarter of its calls, at least 4 per caller). " +
                     "Latency is one call through the function method, pipeline, lock and runner, to the written JSON answer. " +
                     "For started calls, calls/s includes each lane waiting for its run to end and release before its next call, " +
                     "and storage requests/call includes that release. " +
                     "CPU ms/call is the CPU time of the whole bench process (all app instances; not the fake jobs) and of Azurite during the cell, divided by its calls.");
            rows.Add(string.Empty);
            output.AddRange(rows);

            // 4. Contention.
            Progress("contention");
            output.AddRange(await ContentionAsync(azurite, storage, logs, options.ContentionCalls, failures).ConfigureAwait(false));

            // 5. Start-up.
            if (options.Startup)
            {
                Progress("start-up");
                output.AddRange(await StartupCommand.MeasureAsync(azurite, backend, storage, logs, options.R2R).ConfigureAwait(false));
            }
        }
        finally
        {
            foreach (var pid in longRuns)
            {
                ProcessTools.KillWithDescendants(pid);
            }

            await main.WaitForRunsAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            await holder.WaitForRunsAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }

        output.Add($"Warnings and errors the app logged during the run: {logs.Describe()}.");
        output.Add(string.Empty);
        output.Add($"Load average (1, 5, 15 min) at the end: {Machine.Load()}.");
        output.Add(string.Empty);
        output.Add(failures.Count == 0
            ? $"All checks passed. Total time {total.Elapsed.TotalSeconds:F0} s."
            : $"FAILED ({failures.Count}): {string.Join("; ", failures)}. Total time {total.Elapsed.TotalSeconds:F0} s.");
        foreach (var line in output)
        {
            Console.WriteLine(line);
        }

        return failures.Count == 0 ? 0 : 1;
    }

    private static async Task<List<string>> StorageBreakdownAsync(TestApp app, TestApp holder, StorageCounter storage, FakeBackend backend, List<int> longRuns, List<string> failures)
    {
        var job = JobCatalog.CheckCurrent;
        var rows = new List<string>
        {
            "### Storage requests per call type",
            string.Empty,
            "One call at a time on a quiet store, counted by a keyed `HttpPipelinePolicy` under `StoragePolicyKey` " +
            "(one count per storage operation; \"attempts\" adds the retries the SDK made, from `ProcessingContext.RetryNumber`).",
            string.Empty,
            "| call | answer | requests | attempts | operations in order (status) |",
            "|---|---|---:|---:|---|",
        };

        storage.KeepSequence = true;
        storage.TakeSequence();

        async Task<Answer> Measure(string name, Func<Task<Answer>> call, string expected)
        {
            storage.TakeSequence(); // forget what happened before (set-up calls)
            var before = storage.Snapshot();
            var answer = await call().ConfigureAwait(false);
            var delta = storage.Snapshot() - before;
            rows.Add($"| {name} | {answer.Kind} | {delta.Operations} | {delta.Attempts} | {string.Join(" → ", storage.TakeSequence())} |");
            Expect(answer, expected, name, failures);
            return answer;
        }

        async Task MeasureRelease(string name)
        {
            var before = storage.Snapshot();
            await app.WaitForRunsAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            var delta = storage.Snapshot() - before;
            rows.Add($"| {name} | (after the answer) | {delta.Operations} | {delta.Attempts} | {string.Join(" → ", storage.TakeSequence())} |");
        }

        // The run lasts a moment, so its end cannot mix its requests into the call's.
        backend.SetMode(job.Name, "sleep-detached 0.3");
        await Measure("started: first call ever (no container, no lock blob yet)", () => app.TimedPostAsync(job), "started").ConfigureAwait(false);
        await MeasureRelease("… its run's end (record the outcome, release)").ConfigureAwait(false);
        await Measure("started: `force=true`, lock blob exists", () => app.TimedPostAsync(job, "?force=true"), "started").ConfigureAwait(false);
        await MeasureRelease("… its run's end (record the outcome, release)").ConfigureAwait(false);
        await Measure("not due (last run just started)", () => app.TimedPostAsync(job), "skipped:not_due").ConfigureAwait(false);

        backend.SetMode(JobCatalog.SopnParse.Name, "sleep-detached 3600");
        var running = await holder.TimedPostAsync(JobCatalog.SopnParse, "?force=true").ConfigureAwait(false);
        Expect(running, "started", "long run for the skipped calls", failures);
        if (running.Pid is { } pid)
        {
            longRuns.Add(pid);
            ProcessTools.Own(pid);
        }

        await Measure("skipped: already running (local run, alive)", () => app.TimedPostAsync(JobCatalog.SopnParse), "skipped:already_running").ConfigureAwait(false);
        await Measure("refused: bad token", () => app.TimedPostAsync(JobCatalog.EeRecent, authorization: BenchApp.BadAuthorization), "401").ConfigureAwait(false);
        storage.KeepSequence = false;
        rows.Add(string.Empty);
        return rows;
    }

    private static async Task<List<string>> MemoryAsync(Func<int, Task<Answer>> skipped, int calls, Meters meters)
    {
        var readings = new List<(int Calls, long WorkingSet, long Heap)> { Reading(0) };
        for (var step = 1; step <= MemorySteps; step++)
        {
            await RunCellAsync(skipped, "skipped:already_running", calls, 16, meters).ConfigureAwait(false);
            readings.Add(Reading(calls * step));
        }

        var rows = new List<string>
        {
            "### Memory",
            string.Empty,
            $"Skipped calls (already running) at 16 concurrent callers, after the warm-up, read every {calls:N0} calls; " +
            "a forced, compacting full GC before each reading. The GC heap is what the app keeps; the working set also holds what the runtime " +
            "keeps for reuse once touched (JIT code, pool threads' stacks, GC segments, connection buffers).",
            string.Empty,
            "| after calls | working set MiB | GC heap MiB | growth per 1,000 calls since the previous reading |",
            "|---:|---:|---:|---|",
        };
        for (var i = 0; i < readings.Count; i++)
        {
            var (n, ws, heap) = readings[i];
            var growth = i == 0
                ? "–"
                : $"working set {Fmt.N((ws - readings[i - 1].WorkingSet) / 1024.0 / ((n - readings[i - 1].Calls) / 1000.0), "+0;-0")} KiB, " +
                  $"GC heap {Fmt.N((heap - readings[i - 1].Heap) / 1024.0 / ((n - readings[i - 1].Calls) / 1000.0), "+0.0;-0.0")} KiB";
            rows.Add($"| {n:N0} | {Fmt.MiB(ws)} | {Fmt.MiB(heap)} | {growth} |");
        }

        rows.Add(string.Empty);
        return rows;

        static (int, long, long) Reading(int calls)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            using var self = Process.GetCurrentProcess();
            self.Refresh();
            return (calls, self.WorkingSet64, GC.GetTotalMemory(forceFullCollection: false));
        }
    }

    private static async Task<List<string>> ContentionAsync(AzuriteInstance azurite, StorageCounter storage, LogCounter logs, int calls, List<string> failures)
    {
        using var backend = new FakeBackend(logRuns: true);
        var job = JobCatalog.CheckCurrent;
        var rows = new List<string>
        {
            "### Contention",
            string.Empty,
            $"{calls} calls for one job ({job.Name}) released at once (a gate), the fake job sleeps until killed. " +
            "Latency is from the gate's release to each answer. Runs started are counted from the answers and from the job's own log.",
            string.Empty,
            "| round | calls | runs started (answers / job log) | losers' answers | losers p50 ms | p95 ms | p99 ms | max ms | winner ms | storage requests (attempts) |",
            "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
        };
        var runs = new List<int>();
        var apps = new List<TestApp>();
        try
        {
            // Round 1: the first call ever for the job (fresh container), all on one app instance, no force:
            // a Cloudflare trigger delivered many times over to one instance.
            backend.Mode = "sleep-detached 3600";
            var one = BenchApp.Create(azurite.ConnectionString, backend, BenchApp.NewContainerName("bench-contend1"), storage, logs);
            apps.Add(one);
            rows.Add(await RoundAsync("1 instance, first call ever, no force", [one], null).ConfigureAwait(false));

            // Round 2: four instances sharing a lock blob whose last run has ended; operators' forced runs.
            var container = BenchApp.NewContainerName("bench-contend2");
            var four = Enumerable.Range(0, 4).Select(_ => BenchApp.Create(azurite.ConnectionString, backend, container, storage, logs)).ToList();
            apps.AddRange(four);
            backend.Mode = "exit";
            Expect(await four[0].TimedPostAsync(job).ConfigureAwait(false), "started", "contention round 2 set-up", failures);
            await four[0].WaitForRunsAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            backend.Mode = "sleep-detached 3600";
            rows.Add(await RoundAsync("4 instances, lock blob exists, `force=true`", four, "?force=true").ConfigureAwait(false));
        }
        finally
        {
            foreach (var pid in runs)
            {
                ProcessTools.KillWithDescendants(pid);
            }

            foreach (var app in apps)
            {
                await app.WaitForRunsAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
                await app.DisposeAsync().ConfigureAwait(false);
            }
        }

        rows.Add(string.Empty);
        return rows;

        async Task<string> RoundAsync(string name, IReadOnlyList<TestApp> instances, string? query)
        {
            var logBefore = backend.Runs().Count;
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var released = 0L;
            var tasks = Enumerable.Range(0, calls).Select(async i =>
            {
                await gate.Task.ConfigureAwait(false);
                var answer = await instances[i % instances.Count].TimedPostAsync(job, query).ConfigureAwait(false);
                return answer with { ElapsedTicks = Stopwatch.GetTimestamp() - Interlocked.Read(ref released) };
            }).ToArray();
            var before = storage.Snapshot();
            Interlocked.Exchange(ref released, Stopwatch.GetTimestamp());
            gate.SetResult();
            var answers = await Task.WhenAll(tasks).ConfigureAwait(false);
            var delta = storage.Snapshot() - before;

            var started = answers.Where(a => a.Kind == "started").ToList();
            runs.AddRange(started.Where(a => a.Pid is not null).Select(a => a.Pid!.Value));
            foreach (var pid in runs)
            {
                ProcessTools.Own(pid);
            }

            await Task.Delay(300).ConfigureAwait(false); // let a (wrongly) started second run write its log line
            var logged = backend.Runs().Count - logBefore;
            var losers = new Latencies(calls);
            foreach (var answer in answers.Where(a => a.Kind != "started"))
            {
                losers.Add(answer.ElapsedTicks);
            }

            var summary = losers.Summarize();
            var kinds = string.Join(", ", answers.Where(a => a.Kind != "started").GroupBy(a => a.Kind).Select(g => $"{g.Key} ×{g.Count()}"));
            if (started.Count != 1 || logged != 1)
            {
                failures.Add($"contention \"{name}\": {started.Count} runs started by the answers, {logged} by the job's log (must be exactly 1)");
            }

            var winner = started.Count == 1 ? Fmt.Ms(Latencies.ToMs(started[0].ElapsedTicks)) : "–";
            return $"| {name} | {calls} | {started.Count} / {logged} | {kinds} | {Fmt.Ms(summary.P50)} | {Fmt.Ms(summary.P95)} | {Fmt.Ms(summary.P99)} | {Fmt.Ms(summary.Max)} | {winner} | {delta.Operations} ({delta.Attempts}) |";
        }
    }

    /// <summary>Makes <paramref name="calls"/> calls from <paramref name="concurrency"/> callers (worker i passes i).</summary>
    internal static async Task<Cell> RunCellAsync(Func<int, Task<Answer>> call, string expectedKind, int calls, int concurrency, Meters meters)
    {
        var latencies = new Latencies(calls);
        var unexpected = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var remaining = calls;
        var before = meters.Storage.Snapshot();
        var cpuBefore = Cpu.Now(meters.Azurite);
        var pauseBefore = GC.GetTotalPauseDuration();
        var gen0Before = GC.CollectionCount(0);
        var gen2Before = GC.CollectionCount(2);
        var maxPending = 0L;
        var maxThreads = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Environment.GetEnvironmentVariable("BENCH_TRACE") == "1" ? Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                maxPending = Math.Max(maxPending, ThreadPool.PendingWorkItemCount);
                maxThreads = Math.Max(maxThreads, ThreadPool.ThreadCount);
                await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
            }
        }) : Task.CompletedTask;
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                var answer = await call(worker).ConfigureAwait(false);
                latencies.Add(answer.ElapsedTicks);
                if (answer.Kind != expectedKind)
                {
                    unexpected.AddOrUpdate(answer.Kind, 1, (_, n) => n + 1);
                }
            }
        }))).ConfigureAwait(false);
        wall.Stop();
        await sampling.CancelAsync().ConfigureAwait(false);
        await sampler.ConfigureAwait(false);
        if (Environment.GetEnvironmentVariable("BENCH_TRACE") == "1")
        {
            Progress($"  trace: {calls} calls × {concurrency}: pool threads max {maxThreads}, pending max {maxPending}, GC pause {(GC.GetTotalPauseDuration() - pauseBefore).TotalMilliseconds:F1} ms, gen0 {GC.CollectionCount(0) - gen0Before}, gen2 {GC.CollectionCount(2) - gen2Before}");
        }

        var cpuAfter = Cpu.Now(meters.Azurite);
        var delta = meters.Storage.Snapshot() - before;
        return new Cell(
            latencies.Summarize(),
            calls / wall.Elapsed.TotalSeconds,
            (double)delta.Operations / calls,
            (cpuAfter.App - cpuBefore.App) / calls,
            (cpuAfter.Azurite - cpuBefore.Azurite) / calls,
            unexpected.Values.Sum(),
            string.Join(", ", unexpected.Select(p => $"{p.Key} ×{p.Value}")));
    }

    /// <summary>Warm-up before a cell: connections, pool threads and JIT tiers at that concurrency.</summary>
    private static int WarmUpCalls(int calls, int concurrency) => Math.Max(calls / 4, concurrency * 4);

    private static void Expect(Answer answer, string kind, string what, List<string> failures)
    {
        if (answer.Kind != kind)
        {
            failures.Add($"{what}: expected {kind}, got {answer.Kind}");
        }
    }

    internal static void Progress(string message) =>
        Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
}

internal sealed record Cell(Summary Latency, double Throughput, double StoragePerCall, double AppCpuMs, double AzuriteCpuMs, int Unexpected, string UnexpectedKinds)
{
    public string Row(string name, int concurrency) =>
        $"| {name} | {concurrency} | {Latency.Count:N0} | {Fmt.Ms(Latency.P50)} | {Fmt.Ms(Latency.P95)} | {Fmt.Ms(Latency.P99)} | {Fmt.Ms(Latency.Max)} | {Fmt.N(Throughput)} | {Fmt.N(StoragePerCall, "0.00")} | {Fmt.N(AppCpuMs, "0.000")} / {Fmt.N(AzuriteCpuMs, "0.00")} | {Unexpected} |";
}

/// <summary>What a cell measures besides latency: storage requests, and CPU of the app process and of Azurite.</summary>
internal sealed record Meters(StorageCounter Storage, AzuriteInstance Azurite);

/// <summary>The <c>run</c> command's options.</summary>
internal sealed record RunOptions(int Calls = 2000, int StartedCalls = 384, int MemoryCalls = 10_000, int ContentionCalls = 200, bool Startup = true, bool R2R = true)
{
    public static RunOptions Parse(IReadOnlyList<string> args)
    {
        var options = new RunOptions();
        for (var i = 0; i < args.Count; i++)
        {
            options = args[i] switch
            {
                "--calls" => options with { Calls = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture) },
                "--started-calls" => options with { StartedCalls = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture) },
                "--memory-calls" => options with { MemoryCalls = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture) },
                "--contention-calls" => options with { ContentionCalls = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture) },
                "--no-startup" => options with { Startup = false },
                "--no-r2r" => options with { R2R = false },
                _ => throw new ArgumentException($"Unknown option {args[i]}."),
            };
        }

        return options;
    }
}
