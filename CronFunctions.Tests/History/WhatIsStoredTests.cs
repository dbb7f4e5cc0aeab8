using Azure.Core.Pipeline;
using CronFunctions.History;
using CronFunctions.Jobs;
using CronFunctions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CronFunctions.Tests.History;

/// <summary>
/// Through the real pipeline, counting the table requests: the history holds decisions about authenticated calls
/// only. Refused calls, not-due and already-running answers cost it no request; the job's last check is still known.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class WhatIsStoredTests(AzuriteFixture azurite) : IDisposable
{
    private readonly FakeBackend _backend = new("sleep 2");

    public void Dispose() => _backend.Dispose();

    [Fact]
    public async Task RefusedNotDueAndAlreadyRunningCalls_WriteNothingToTheHistory()
    {
        var requests = new StorageRequests(azurite.Instance.TablePort);
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName(),
            new Dictionary<string, string?> { ["Cron:RateLimit:PermitsPerMinute"] = "100000" },
            services: s => s.AddKeyedSingleton<HttpPipelinePolicy>(CronFunctionsRegistration.StoragePolicyKey, requests));

        var refused = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => app.PostAsync(JobCatalog.PartiesImport, authorization: "Bearer forged")));
        Assert.All(refused, r => Assert.Contains(r.Status, new[] { 401, 429 })); // 429 once the refusal budget is spent
        Assert.Empty(requests.Tables);
        Assert.Empty(requests.All); // not even the lock store: a refusal touches no storage at all

        var started = await app.PostAsync(JobCatalog.PartiesImport);
        Assert.Equal("started", started.Str("status"));
        Assert.Contains(requests.Tables, r => r.Method == "PATCH" && r.Uri.AbsolutePath.Contains("parties-import", StringComparison.Ordinal));

        requests.Clear();
        var busy = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => app.PostAsync(JobCatalog.PartiesImport, "?force=true")));
        Assert.All(busy, r => Assert.Equal("already_running", r.Str("reason")));
        Assert.Empty(requests.Tables);

        await app.WaitForRunsAsync(); // the run's end is written
        requests.Clear();
        var notDue = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => app.PostAsync(JobCatalog.PartiesImport)));
        Assert.All(notDue, r => Assert.Equal("not_due", r.Str("reason")));
        Assert.Empty(requests.Tables);

        var check = (await app.Services.GetRequiredService<RunHistory>().ReadSummariesAsync(CancellationToken.None))["parties-import"].LastCheck;
        Assert.Equal("not_due", check?.Decision);
        Assert.Equal(started.Str("runId"), check?.RunId);
        Assert.Single((await app.GetRunsAsync("?job=parties-import")).Body.GetProperty("runs").EnumerateArray());
    }
}
