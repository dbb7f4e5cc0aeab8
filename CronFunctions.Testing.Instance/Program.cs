using System.Globalization;
using System.Runtime.InteropServices;
using Azure.Core.Pipeline;
using CronFunctions;
using CronFunctions.Jobs;
using CronFunctions.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

// One app instance as its own process (started by SeparateApp): <job> [query] [count]. Makes <count> (default 1)
// concurrent POSTs at once, prints each answer as "<status> <json>" on its own line of stdout, then keeps watching its
// runs until it is killed (SIGKILL: a crash) or stopped (SIGTERM: a graceful stop as the Functions host gives its
// worker — its hosted services stop, so its local runs are stopped and recorded, their locks freed). CRON_TEST_FAULT
// arms a fault on one of its storage requests (StorageFaults), e.g. killing it at a step of a run's life. Settings come from environment variables, exactly as the app reads them in Azure
// (AzureWebJobsStorage, ERIFY_CRON_TOKEN, Cron__Local__BackendDirectory, Cron__Lock__ContainerName, ...). The app's
// warnings go to stderr, so stdout carries the answers only.
if (args.Length is < 1 or > 3 || JobCatalog.Find(args[0]) is not { } job)
{
    await Console.Error.WriteLineAsync("usage: CronFunctions.Testing.Instance <job> [query] [count]");
    return 2;
}

var query = args.Length > 1 && args[1].Length > 0 ? args[1] : null;
var count = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1;
var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.TrySetResult();
});

var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
var faults = StorageFaults.FromEnvironment(configuration[StorageFaults.EnvironmentVariable]);
await using (var app = new TestApp(configuration, services: services =>
{
    TestApp.LogWarningsToStandardError(services);
    if (faults is not null)
    {
        services.AddKeyedSingleton<HttpPipelinePolicy>(CronFunctionsRegistration.StoragePolicyKey, faults);
    }
}))
{
    var authorization = "Bearer " + configuration["ERIFY_CRON_TOKEN"];
    var answers = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => Task.Run(() => app.PostAsync(job, query, authorization))));
    foreach (var answer in answers)
    {
        Console.WriteLine($"{answer.Status} {answer.Body.GetRawText()}");
    }

    await Console.Out.FlushAsync();
    await stop.Task;
}

return 0;
