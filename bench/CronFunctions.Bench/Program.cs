using CronFunctions.Bench;
using CronFunctions.Jobs;
using Microsoft.Extensions.Configuration;

// CronFunctions.Bench: drives the real pipeline (function classes + Azurite) outside the Functions host.
//   hold <job> [query]  one call as a separate app instance, print the JSON answer, then keep watching the run
//                       until killed (the lock tests kill it to play an app instance dying mid-run).
// Settings come from environment variables, exactly as the app reads them (AzureWebJobsStorage, ERIFY_CRON_TOKEN,
// Cron__Local__PythonExecutable, Cron__Local__BackendDirectory, Cron__Lock__ContainerName, ...).
var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
var command = args.FirstOrDefault();
switch (command)
{
    case "hold" when args.Length >= 2:
        return await Hold(configuration, args[1], args.ElementAtOrDefault(2));
    default:
        await Console.Error.WriteLineAsync("usage: CronFunctions.Bench hold <job> [query]");
        return 2;
}

static async Task<int> Hold(IConfiguration configuration, string jobName, string? query)
{
    var job = JobCatalog.Find(jobName) ?? throw new ArgumentException($"Unknown job {jobName}.");
    await using var app = new AppInstance(configuration);
    var (status, body) = await app.CallAsync(job, "POST", query, "Bearer " + configuration["ERIFY_CRON_TOKEN"]);
    Console.WriteLine($"{status} {body}");
    await Console.Out.FlushAsync();
    await app.WaitForRunsAsync();
    await Task.Delay(Timeout.Infinite);
    return 0;
}
