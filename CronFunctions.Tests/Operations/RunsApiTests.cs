using System.Text.Json;
using CronFunctions.Jobs;
using CronFunctions.Runs;
using CronFunctions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CronFunctions.Tests.Operations;

/// <summary>Every decision lands in the run history with its caller, and the runs API shows it; no token anywhere.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class RunsApiTests(AzuriteFixture azurite) : AppTest(azurite)
{
    private const string SecondaryToken = "secondary-token-abcdef123456-987654321";

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Cron:Runs:ContainerName"] = TestApp.NewContainerName(),
        ["ERIFY_CRON_TOKEN_SECONDARY"] = SecondaryToken,
    };

    private static readonly Dictionary<string, string> WorkerHeaders = new()
    {
        ["CF-Worker"] = "example.org",
        ["X-Correlation-ID"] = "corr-123e4567",
        ["X-Forwarded-For"] = "203.0.113.7:50312",
    };

    [Fact]
    public async Task StartedCallsAndBadParameters_AreRecordedWithTheirFields_SkipsAndRefusalsAreNot()
    {
        Backend.Mode = "sleep 2";
        var started = await App.CallAsync(JobCatalog.SopnParse, "POST", headers: WorkerHeaders, body: """{"source":"cf-worker"}""");
        var skipped = await App.CallAsync(JobCatalog.SopnParse, "POST", "?force=true", headers: WorkerHeaders, body: """{"source":"cf-worker"}""");
        var refused = await App.CallAsync(JobCatalog.SopnParse, "POST", authorization: "Bearer forged-token-xyz", headers: WorkerHeaders);
        var bad = await App.CallAsync(JobCatalog.MopRecent, "POST", "?delta=-1");
        Assert.Equal(401, refused.Status);
        Assert.Equal(400, bad.Status);
        await App.WaitForRunsAsync();

        var list = await App.GetRunsAsync("?job=sopn-parse");
        Assert.Equal(200, list.Status);
        var runs = list.Body.GetProperty("runs").EnumerateArray().ToList();
        Assert.Single(runs); // the skip and the refusal are not stored: only decisions about authenticated calls that start or fail
        Assert.True(runs.Select(r => r.GetProperty("time").GetDateTimeOffset()).SequenceEqual(runs.Select(r => r.GetProperty("time").GetDateTimeOffset()).OrderDescending()));

        var startedRecord = runs.Single(r => r.GetProperty("decision").GetString() == "started");
        Assert.Equal(started.Str("runId"), startedRecord.GetProperty("runId").GetString());
        Assert.Equal(started.Int("pid"), startedRecord.GetProperty("pid").GetInt32());
        Assert.Equal("local", startedRecord.GetProperty("runner").GetString());
        Assert.Equal("cf-worker", startedRecord.GetProperty("source").GetString());
        Assert.Equal("example.org", startedRecord.GetProperty("cfWorker").GetString());
        Assert.Equal("corr-123e4567", startedRecord.GetProperty("correlationId").GetString());
        Assert.Equal("203.0.113.7", startedRecord.GetProperty("client").GetString());
        Assert.Equal("Succeeded", startedRecord.GetProperty("outcome").GetString());
        Assert.Equal(0, startedRecord.GetProperty("exitCode").GetInt32());
        Assert.True(startedRecord.GetProperty("durationSeconds").GetDouble() >= 1.5);
        Assert.Contains("woke", startedRecord.GetProperty("lastLines").EnumerateArray().Select(l => l.GetString()));

        Assert.Equal("already_running", skipped.Str("reason"));
        var all = await App.GetRunsAsync();
        Assert.Contains(all.Body.GetProperty("runs").EnumerateArray(), r => r.TryGetProperty("reason", out var reason) && reason.GetString() == "bad_parameter");
    }

    [Fact]
    public async Task RunById_ShowsTheRunWithItsOutcome_And404ForAnUnknownOne()
    {
        Backend.Mode = "fail";
        var started = await App.PostAsync(JobCatalog.EeRecent);
        await App.WaitForRunsAsync();

        var run = await App.GetRunAsync(started.Str("runId")!);

        Assert.Equal(200, run.Status);
        Assert.Equal("ee-recent", run.Str("job"));
        Assert.Equal("Failed", run.Str("outcome"));
        Assert.Equal(3, run.Int("exitCode"));
        Assert.Equal(["uk_create_elections_from_every_election", "--recently-updated"], run.Body.GetProperty("arguments").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(404, (await App.GetRunAsync("20200101T000000Z-00000000")).Status);
        Assert.Equal(400, (await App.GetRunAsync("..%2F..%2Fetc")).Status);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong")]
    [InlineData("Basic abc")]
    public async Task RunsApi_WithoutAValidToken_Is401(string? authorization)
    {
        await App.PostAsync(JobCatalog.EeRecent);

        Assert.Equal(401, (await App.GetRunsAsync(authorization: authorization)).Status);
        Assert.Equal(401, (await App.GetRunAsync("20200101T000000Z-00000000", authorization)).Status);
    }

    [Theory]
    [InlineData("?job=nope")]
    [InlineData("?limit=0")]
    [InlineData("?limit=501")]
    [InlineData("?limit=ten")]
    [InlineData("?job=ee-recent&job=sopn-parse")]
    public async Task RunsApi_BadFilters_Are400(string query) =>
        Assert.Equal(400, (await App.GetRunsAsync(query)).Status);

    [Fact]
    public async Task Limit_ReturnsTheNewestRecords()
    {
        for (var i = 0; i < 5; i++)
        {
            await App.PostAsync(JobCatalog.MopRecent, "?delta=" + (9000 + i)); // refused for its parameter: recorded
        }

        var list = await App.GetRunsAsync("?limit=2");

        Assert.Equal(2, list.Body.GetProperty("runs").GetArrayLength());
    }

    [Fact]
    public async Task Records_PastTheRetention_AreDeleted()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.Zero));
        var runs = TestApp.NewContainerName();
        await using var app = new TestApp(Azurite.ConnectionString, Backend.Directory, TestApp.NewContainerName(), new Dictionary<string, string?>
        {
            ["Cron:Runs:ContainerName"] = runs,
            ["Cron:Runs:RetentionDays"] = "2",
        }, time);
        await app.PostAsync(JobCatalog.MopRecent, "?delta=0");
        Assert.Single((await app.GetRunsAsync()).Body.GetProperty("runs").EnumerateArray());

        time.Advance(TimeSpan.FromDays(3));
        await app.PostAsync(JobCatalog.MopRecent, "?delta=0"); // a new hour's blob: old hours expire

        var list = (await app.GetRunsAsync()).Body.GetProperty("runs").EnumerateArray().ToList();
        var only = Assert.Single(list);
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero), only.GetProperty("time").GetDateTimeOffset());
        var blobs = new List<string>();
        await foreach (var blob in new Azure.Storage.Blobs.BlobContainerClient(Azurite.ConnectionString, runs).GetBlobsAsync())
        {
            blobs.Add(blob.Name);
        }

        Assert.Equal(["2026/11/23/10.jsonl"], blobs);
    }

    [Fact]
    public async Task TheTokens_NeverAppearInAnyRecordOrLogLine()
    {
        Backend.Mode = "exit";
        await App.PostAsync(JobCatalog.EeRecent);
        await App.PostAsync(JobCatalog.EeRecent, authorization: "Bearer " + SecondaryToken);
        await App.PostAsync(JobCatalog.EeRecent, authorization: "Bearer " + TestApp.Token + "-almost");
        await App.PostAsync(JobCatalog.MopRecent, "?delta=" + TestApp.Token, authorization: "Bearer " + TestApp.Token);
        await App.WaitForRunsAsync();
        await App.Services.GetRequiredService<RunHistory>().FlushAsync(CancellationToken.None);

        var history = App.Services.GetRequiredService<RunHistory>();
        var stored = JsonSerializer.Serialize(await history.ListAsync(null, 500, CancellationToken.None), RunJsonContext.Default.IReadOnlyListRunRecord);
        var api = (await App.GetRunsAsync("?limit=500")).Body.ToString();
        var logs = string.Join("\n", App.Logs.GetSnapshot().Select(r =>
            r.Message + " " + string.Join(" ", r.StructuredState?.Select(kv => kv.Value) ?? []) + " " + r.Exception));

        foreach (var text in new[] { stored, api, logs })
        {
            Assert.DoesNotContain(TestApp.Token, text, StringComparison.Ordinal);
            Assert.DoesNotContain(SecondaryToken, text, StringComparison.Ordinal);
        }

        Assert.Contains("bad_parameter", stored, StringComparison.Ordinal);
    }
}
