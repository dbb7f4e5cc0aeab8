using CronFunctions.Bench;
using CronFunctions.Bench.Infrastructure;
using CronFunctions.Jobs;
using Microsoft.Extensions.Configuration;

// CronFunctions.Bench: drives the real pipeline (function classes + Azurite) outside the Functions host.
//   run [options]       the benchmark: latency/throughput per call type, storage requests per call, contention,
//                       memory, start-up (tables on stdout; see docs/benchmarks.md). Starts its own Azurite.
//   history [options]   the run history's query cost: runs?job=X&limit=20 and runs/{id} with 100,000 runs stored,
//                       before (hourly append blobs) and after (the table): storage requests, bytes, latency.
//   drill               the fault drill: Azurite killed mid-burst, a job's process killed, an app instance killed;
//                       exits non-zero if a safety assertion fails. Starts its own Azurite.
//   hold <job> [query] [count]  <count> (default 1) concurrent calls as one separate app instance, print each answer
//                       on its own line, then keep watching the run until killed (the lock tests use it for
//                       cross-process races and kill it to play an app instance dying mid-run).
// Settings for hold (and the hidden startup-probe) come from environment variables, exactly as the app reads them
// (AzureWebJobsStorage, ERIFY_CRON_TOKEN, Cron__Local__PythonExecutable, Cron__Local__BackendDirectory,
// Cron__Lock__ContainerName, ...); run and drill configure their app instances in memory.
var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
var command = args.FirstOrDefault();
try
{
    switch (command)
    {
        case "hold" when args.Length >= 2:
            return await Hold(configuration, args[1], args.ElementAtOrDefault(2), int.Parse(args.ElementAtOrDefault(3) ?? "1", System.Globalization.CultureInfo.InvariantCulture));
        case "run":
            return await RunCommand.RunAsync(RunOptions.Parse(args[1..]));
        case "history":
            return await CronFunctions.Bench.History.HistoryCommand.RunAsync(CronFunctions.Bench.History.HistoryOptions.Parse(args[1..]));
        case "drill" when args.Length == 1:
            return await DrillCommand.RunAsync();
        case StartupCommand.ProbeCommand:
            return await StartupCommand.ProbeAsync(configuration);
        default:
            await Console.Error.WriteLineAsync(
                "usage: CronFunctions.Bench run [--calls N] [--started-calls N] [--memory-calls N] [--contention-calls N] [--no-startup] [--no-r2r]\n" +
                "       CronFunctions.Bench history [--runs N] [--limit N] [--repeat N] [--table-runs N]\n" +
                "       CronFunctions.Bench drill\n" +
                "       CronFunctions.Bench hold <job> [query] [count]");
            return 2;
    }
}
catch (BenchSetupException ex)
{
    await Console.Error.WriteLineAsync("bench: " + ex.Message);
    return 2;
}

static async Task<int> Hold(IConfiguration configuration, string jobName, string? query, int count)
{
    var job = JobCatalog.Find(jobName) ?? throw new ArgumentException($"Unknown job {jobName}.");
    await using var app = new AppInstance(configuration);
    var authorization = "Bearer " + configuration["ERIFY_CRON_TOKEN"];
    var answers = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => Task.Run(() => app.CallAsync(job, "POST", query, authorization))));
    foreach (var (status, body) in answers)
    {
        Console.WriteLine($"{status} {body}");
    }

    await Console.Out.FlushAsync();
    await app.WaitForRunsAsync();
    await Task.Delay(Timeout.Infinite);
    return 0;
}
