using System.Globalization;
using CronFunctions.Jobs;
using CronFunctions.Testing;
using Microsoft.Extensions.Configuration;

// One app instance as its own process (started by SeparateApp): <job> [query] [count]. Makes <count> (default 1)
// concurrent POSTs at once, prints each answer as "<status> <json>" on its own line of stdout, then keeps watching its
// runs until it is killed. Settings come from environment variables, exactly as the app reads them in Azure
// (AzureWebJobsStorage, ERIFY_CRON_TOKEN, Cron__Local__BackendDirectory, Cron__Lock__ContainerName, ...). The app's
// warnings go to stderr, so stdout carries the answers only.
if (args.Length is < 1 or > 3 || JobCatalog.Find(args[0]) is not { } job)
{
    await Console.Error.WriteLineAsync("usage: CronFunctions.Testing.Instance <job> [query] [count]");
    return 2;
}

var query = args.Length > 1 && args[1].Length > 0 ? args[1] : null;
var count = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1;
var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
var app = new TestApp(configuration, services: TestApp.LogWarningsToStandardError);
var authorization = "Bearer " + configuration["ERIFY_CRON_TOKEN"];
var answers = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => Task.Run(() => app.PostAsync(job, query, authorization))));
foreach (var answer in answers)
{
    Console.WriteLine($"{answer.Status} {answer.Body.GetRawText()}");
}

await Console.Out.FlushAsync();
await app.WaitForRunsAsync(Timeout.InfiniteTimeSpan);
await Task.Delay(Timeout.Infinite);
return 0;
