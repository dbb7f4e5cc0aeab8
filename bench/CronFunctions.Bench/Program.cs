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
// Its harness (Azurite, the fake backend, the app instances, the separate instance process the drill kills) is
// CronFunctions.Testing, shared with the tests. Settings for the hidden startup-probe come from environment variables,
// exactly as the app reads them (AzureWebJobsStorage, ERIFY_CRON_TOKEN, Cron__Local__BackendDirectory, ...); run and
// drill configure their app instances in memory.
var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
var command = args.FirstOrDefault();
try
{
    switch (command)
    {
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
                "       CronFunctions.Bench drill");
            return 2;
    }
}
catch (HarnessSetupException ex)
{
    await Console.Error.WriteLineAsync("bench: " + ex.Message);
    return 2;
}
