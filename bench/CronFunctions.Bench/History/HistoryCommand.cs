using System.Diagnostics;
using System.Globalization;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using CronFunctions.Bench.Infrastructure;
using CronFunctions.Functions;
using CronFunctions.History;
using CronFunctions.Jobs;
using CronFunctions.Runs;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CronFunctions.Bench.History;

/// <summary>
/// <c>history</c>: what <c>GET /api/cron/runs?job=X&amp;limit=20</c> (and <c>/runs/{id}</c>) costs with N runs stored,
/// before (hourly append blobs, read the old way) and after (the table), on one Azurite: storage requests and bytes
/// per call (counted by an <see cref="HttpPipelinePolicy"/> on the clients) and latency. The N runs are spread over
/// 14 days, across the six jobs in proportion to their schedules (so a daily job has few runs among many).
/// </summary>
internal static class HistoryCommand
{
    private const string Token = "bench-history-token-0123456789";

    public static async Task<int> RunAsync(HistoryOptions options)
    {
        Progress($"starting Azurite from {Repository.Root}/node_modules");
        // In memory: Azurite's table store saves its whole database file every few seconds, which with 100,000 rows
        // would make seeding take most of an hour; both histories are read from the same (in-memory) emulator.
        await using var azurite = await AzuriteInstance.StartAsync(inMemory: true).ConfigureAwait(false);
        var meter = new RequestMeter();
        var now = DateTimeOffset.UtcNow;
        var runs = Generate(options.Runs, now);
        var frequent = JobCatalog.SopnParse.Name;
        var rare = JobCatalog.PartiesImport.Name;
        var output = new List<string>
        {
            "## `history` results",
            string.Empty,
            $"Started {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC. {options.Runs:N0} runs stored over 14 days " +
            $"({string.Join(", ", runs.GroupBy(r => r.Job).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} {g.Count():N0}"))}); " +
            $"each query repeated {options.Repeat} times after one warm-up." +
            (options.TableRuns is { } m && m < options.Runs ? $" The table holds an even sample of {m:N0} of these runs (--table-runs)." : string.Empty),
            string.Empty,
        };
        output.AddRange(Machine.Facts());
        output.Add("- this command's Azurite keeps everything in memory (`--inMemoryPersistence`)");
        output.Add(string.Empty);

        // Before: hourly append blobs, two lines per run (start, end), read the old way.
        Progress($"before: writing {options.Runs:N0} runs as hourly append blobs");
        var blobOptions = new BlobClientOptions();
        blobOptions.AddPolicy(meter, HttpPipelinePosition.PerCall);
        var blobs = new BlobHistoryBaseline(new BlobServiceClient(azurite.ConnectionString, blobOptions).GetBlobContainerClient("cron-runs"));
        var writeClock = Stopwatch.StartNew();
        await blobs.WriteAsync(runs.SelectMany(r => new[] { StartOf(r), EndOf(r) }), CancellationToken.None).ConfigureAwait(false);
        Progress($"  written in {writeClock.Elapsed.TotalSeconds:F0} s");

        // After: the table, one merged row per run plus its id index row (seeded in batches; how rows get there is
        // not what is measured).
        // Azurite's table store gets slower with every row it holds (its inserts scan the table), so on a small or busy
        // machine --table-runs stores an even sample of the runs instead: the query's cost on the table does not depend
        // on how many rows other partitions, or older rows of the same partition, hold.
        var tableRuns = options.TableRuns is { } sample && sample < runs.Count
            ? runs.Where((_, i) => i % (runs.Count / sample) == 0).Take(sample).ToList()
            : runs;
        Progress($"after: writing {tableRuns.Count:N0} runs as table rows");
        writeClock.Restart();
        var tableName = "cronruns";
        await SeedTableAsync(new TableClient(azurite.ConnectionString, tableName), tableRuns).ConfigureAwait(false);
        Progress($"  written in {writeClock.Elapsed.TotalSeconds:F0} s");

        await using var app = NewApp(azurite.ConnectionString, tableName, meter);
        output.Add("| query | history | storage requests / call | bytes read / call | p50 ms | p95 ms | rows returned |");
        output.Add("|---|---|---:|---:|---:|---:|---:|");
        foreach (var job in new[] { frequent, rare })
        {
            var query = $"runs?job={job}&limit={options.Limit}";
            Progress($"{query}: before");
            output.Add(Row(query, "before: hourly blobs", await MeasureAsync(meter, options.Repeat,
                async () => (await blobs.ListAsync(job, options.Limit, CancellationToken.None).ConfigureAwait(false)).Count).ConfigureAwait(false)));
            Progress($"{query}: after");
            output.Add(Row(query, "after: table (through the function)", await MeasureAsync(meter, options.Repeat,
                () => CallRunsAsync(app, $"?job={job}&limit={options.Limit}")).ConfigureAwait(false)));
        }

        var someId = tableRuns.Where(r => r.Job == rare).ElementAt(tableRuns.Count(r => r.Job == rare) / 2).Id;
        Progress("runs/{id}: before and after");
        output.Add(Row("runs/{id}", "before: hourly blobs", await MeasureAsync(meter, options.Repeat,
            async () => await blobs.GetAsync(someId, CancellationToken.None).ConfigureAwait(false) is null ? 0 : 1).ConfigureAwait(false)));
        output.Add(Row("runs/{id}", "after: table (through the function)", await MeasureAsync(meter, options.Repeat,
            () => CallRunByIdAsync(app, someId)).ConfigureAwait(false)));

        output.Add(string.Empty);
        output.Add("Before, a list downloads whole hour blobs newest first until it has `limit` records of the job: one blob for " +
            "a job that runs every minute, every blob kept for a daily job. After, a list is one query on the job's " +
            "partition returning `limit` rows; a run by id is two point reads (the id index row, then the run row).");
        foreach (var line in output)
        {
            Console.WriteLine(line);
        }

        return 0;
    }

    private static ServiceProvider NewApp(string connectionString, string tableName, RequestMeter meter)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = connectionString,
            ["ERIFY_CRON_TOKEN"] = Token,
            ["Cron:Runs:TableName"] = tableName,
            ["Cron:RateLimit:PermitsPerMinute"] = "100000",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
        services.AddKeyedSingleton<HttpPipelinePolicy>(CronFunctionsRegistration.StoragePolicyKey, meter);
        services.AddCronFunctions(configuration);
        return services.BuildServiceProvider(); // no hosted service started: nothing but the calls measured touches storage
    }

    private static async Task<int> CallRunsAsync(IServiceProvider app, string query)
    {
        var context = NewContext(app, "/api/cron/runs", query);
        var body = await FunctionInvoker.InvokeAsync(typeof(RunsEndpoints), context, nameof(RunsEndpoints.Runs), [], CancellationToken.None).ConfigureAwait(false);
        using var json = System.Text.Json.JsonDocument.Parse(body);
        return context.Response.StatusCode == 200 ? json.RootElement.GetProperty("count").GetInt32() : throw new InvalidOperationException($"runs answered {context.Response.StatusCode}");
    }

    private static async Task<int> CallRunByIdAsync(IServiceProvider app, string id)
    {
        var context = NewContext(app, "/api/cron/runs/" + id, null);
        await FunctionInvoker.InvokeAsync(typeof(RunsEndpoints), context, nameof(RunsEndpoints.RunById), [id], CancellationToken.None).ConfigureAwait(false);
        return context.Response.StatusCode == 200 ? 1 : throw new InvalidOperationException($"runs/{id} answered {context.Response.StatusCode}");
    }

    private static DefaultHttpContext NewContext(IServiceProvider app, string path, string? query)
    {
        var context = new DefaultHttpContext { RequestServices = app };
        context.Request.Method = "GET";
        context.Request.Path = path;
        if (query is not null)
        {
            context.Request.QueryString = new QueryString(query);
        }

        context.Request.Headers.Authorization = "Bearer " + Token;
        return context;
    }

    private static async Task<Measurement> MeasureAsync(RequestMeter meter, int repeat, Func<Task<int>> call)
    {
        await call().ConfigureAwait(false); // warm-up
        var latencies = new Latencies(repeat);
        var (requests, bytes) = meter.Snapshot();
        var rows = 0;
        for (var i = 0; i < repeat; i++)
        {
            var start = Stopwatch.GetTimestamp();
            rows = await call().ConfigureAwait(false);
            latencies.Add(Stopwatch.GetTimestamp() - start);
        }

        var (requestsAfter, bytesAfter) = meter.Snapshot();
        return new Measurement((double)(requestsAfter - requests) / repeat, (double)(bytesAfter - bytes) / repeat, latencies.Summarize(), rows);
    }

    private static string Row(string query, string history, Measurement m) => string.Create(CultureInfo.InvariantCulture,
        $"| `{query}` | {history} | {m.Requests:0.#} | {Bytes(m.Bytes)} | {m.Latency.P50:0.0} | {m.Latency.P95:0.0} | {m.Rows} |");

    private static string Bytes(double bytes) => bytes switch
    {
        >= 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024 * 1024):0.0} MiB"),
        >= 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024:0.0} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes:0} B"),
    };

    /// <summary>N finished runs over the last 14 days, each job's share in proportion to how often it runs.</summary>
    private static List<RunRecord> Generate(int count, DateTimeOffset now)
    {
        var weights = JobCatalog.All.Select(j => (Job: j, PerDay: j.Schedule switch
        {
            "* * * * *" => 1440.0,
            "*/5 * * * *" => 288.0,
            _ => 1.0,
        })).ToList();
        var total = weights.Sum(w => w.PerDay);
        var random = new Random(42);
        var start = now - TimeSpan.FromDays(14) + TimeSpan.FromHours(1);
        var step = (now - TimeSpan.FromMinutes(5) - start) / count;
        var runs = new List<RunRecord>(count);
        for (var i = 0; i < count; i++)
        {
            var pick = random.NextDouble() * total;
            var job = weights.First(w => (pick -= w.PerDay) < 0 || w == weights[^1]).Job;
            var time = start + (step * i);
            var id = RunIds.New(time);
            var seconds = Math.Round(5 + (random.NextDouble() * 120), 3);
            runs.Add(new RunRecord
            {
                Id = id,
                Job = job.Name,
                Decision = RunRecord.Started,
                RunId = id,
                Time = time,
                HttpStatus = 200,
                Runner = "local",
                Handle = "bench-host:" + (10_000 + i).ToString(CultureInfo.InvariantCulture),
                Pid = 10_000 + i,
                Force = false,
                Arguments = job.Arguments,
                Source = "cf-worker",
                CfWorker = "example.org",
                CorrelationId = "corr-" + i.ToString("x8", CultureInfo.InvariantCulture),
                Client = "203.0.113.7",
                ScheduledTime = time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm':00.000Z'", CultureInfo.InvariantCulture),
                Ended = time.AddSeconds(seconds),
                Outcome = random.Next(20) == 0 ? "Failed" : "Succeeded",
                ExitCode = 0,
                DurationSeconds = seconds,
                LastLines = ["Processing queued items", $"Processed {random.Next(200)} items", "done"],
            });
        }

        return runs;
    }

    private static RunRecord StartOf(RunRecord run) => run with { Ended = null, Outcome = null, ExitCode = null, DurationSeconds = null, LastLines = null };

    private static RunRecord EndOf(RunRecord run) => RunRecord.EndOf(run.Id, run.Job, run.Ended!.Value, run.Outcome!) with
    {
        ExitCode = run.ExitCode,
        DurationSeconds = run.DurationSeconds,
        LastLines = run.LastLines,
    };

    private static async Task SeedTableAsync(TableClient table, List<RunRecord> runs)
    {
        // One upsert per row, several at a time: Azurite handles single-entity writes far faster than batches.
        await table.CreateIfNotExistsAsync().ConfigureAwait(false);
        var rows = runs.Select(RunRows.RunRow).Concat(runs.Select(r => RunRows.IndexRow(r)!)).ToList();
        var done = 0;
        await Parallel.ForEachAsync(rows, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (row, ct) =>
        {
            await table.UpsertEntityAsync(row, TableUpdateMode.Replace, ct).ConfigureAwait(false);
            if (Interlocked.Increment(ref done) % 20_000 == 0)
            {
                Progress($"  {done:N0} of {rows.Count:N0} rows");
            }
        }).ConfigureAwait(false);
    }

    private static void Progress(string message) => Console.Error.WriteLine($"[history {DateTime.UtcNow:HH:mm:ss}] {message}");

    private sealed record Measurement(double Requests, double Bytes, Summary Latency, int Rows);

    /// <summary>Counts storage requests and the bytes of their answers.</summary>
    private sealed class RequestMeter : HttpPipelinePolicy
    {
        private long _requests;
        private long _bytes;

        public (long Requests, long Bytes) Snapshot() => (Interlocked.Read(ref _requests), Interlocked.Read(ref _bytes));

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Interlocked.Increment(ref _requests);
            await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
            Count(message);
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Interlocked.Increment(ref _requests);
            ProcessNext(message, pipeline);
            Count(message);
        }

        private void Count(HttpMessage message)
        {
            if (!message.HasResponse)
            {
                return;
            }

            // Buffered answers (downloads, queries) are in memory by now; table answers come chunked, without a length.
            var length = message.Response.ContentStream is MemoryStream buffered ? buffered.Length : message.Response.Headers.ContentLength ?? 0;
            Interlocked.Add(ref _bytes, length);
        }
    }
}

/// <summary>
/// Options of <c>history</c>: <c>--runs N</c> (100000), <c>--limit N</c> (20), <c>--repeat N</c> (20), and
/// <c>--table-runs N</c> (default: all) to store only an even sample of N runs in the table.
/// </summary>
internal sealed record HistoryOptions(int Runs, int Limit, int Repeat, int? TableRuns = null)
{
    public static HistoryOptions Parse(string[] args)
    {
        var options = new HistoryOptions(100_000, 20, 20);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            options = args[i] switch
            {
                "--runs" => options with { Runs = value },
                "--limit" => options with { Limit = value },
                "--repeat" => options with { Repeat = value },
                "--table-runs" => options with { TableRuns = value },
                _ => throw new HarnessSetupException($"Unknown option {args[i]}: use --runs, --limit, --repeat, --table-runs."),
            };
        }

        return options;
    }
}
