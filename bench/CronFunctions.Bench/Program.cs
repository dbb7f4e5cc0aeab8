using CronFunctions.Bench;
using CronFunctions.Jobs;
using Microsoft.Extensions.Configuration;

// CronFunctions.Bench: drives the real pipeline (function classes + Azurite) outside the Functions host.
//   hold <job> [query] [count]  <count> (default 1) concurrent calls as one separate app instance, print each answer
//                       on its own line, then keep watching the run until killed (the lock tests use it for
//                       cross-process races and kill it to play an app instance dying mid-run).
// Settings come from environment variables, exactly as the app reads them (AzureWebJobsStorage, ERIFY_CRON_TOKEN,
// Cron__Local__PythonExecutable, Cron__Local__BackendDirectory, Cron__Lock__ContainerName, ...).
var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
var command = args.FirstOrDefault();
switch (command)
{
    case "hold" when args.Length >= 2:
        return await Hold(configuration, args[1], args.ElementAtOrDefault(2), int.Parse(args.ElementAtOrDefault(3) ?? "1", System.Globalization.CultureInfo.InvariantCulture));
    default:
        await Console.Error.WriteLineAsync("usage: CronFunctions.Bench hold <job> [query] [count]");
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
