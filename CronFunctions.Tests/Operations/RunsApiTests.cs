using Azure.Data.Tables;
using CronFunctions.History;
using CronFunctions.Jobs;
using CronFunctions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CronFunctions.Tests.Operations;

/// <summary>
/// Decisions about authenticated calls land in the run history with their caller, and the runs API shows them; refused,
/// not-due and already-running calls are not stored; no token anywhere.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class RunsApiTests(AzuriteFixture azurite) : AppTest(azurite)
{
    private const string SecondaryToken = "secondary-token-abcdef123456-987654321";

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["ERIFY_CRON_TOKEN_SECONDARY"] = SecondaryToken,
    };

    private static readonly Dictionary<string, string> WorkerHeaders = new()
    {
        ["CF-Worker"] = "example.org",
        ["X-Correlation-ID"] = "corr-123e4567",
        ["X-Forwarded-For"] = "203.0.113.7:50312",
        ["X-Scheduled-Time"] = "2026-11-25T14:35:00.000Z",
    };

    [Fact]
    public async Task AStartedRun_IsRecordedWithItsCallerAndEnd_AndSkippedOrRefusedCallsAreNot()
    {
        Backend.Mode = "sleep 2";
        var started = await App.CallAsync(JobCatalog.SopnParse, "POST", headers: WorkerHeaders, body: """{"source":"cf-worker"}""");
        var skipped = await App.CallAsync(JobCatalog.SopnParse, "POST", "?force=true", headers: WorkerHeaders, body: """{"source":"cf-worker"}""");
        var refused = await App.CallAsync(JobCatalog.SopnParse, "POST", authorization: "Bearer forged-token-xyz", headers: WorkerHeaders);
        Assert.Equal("already_running", skipped.Str("reason"));
        Assert.Equal(401, refused.Status);
        await App.WaitForRunsAsync();

        var list = await App.GetRunsAsync("?job=sopn-parse");
        Assert.Equal(200, list.Status);
        var run = Assert.Single(list.Body.GetProperty("runs").EnumerateArray()); // one row per run: no skip, no refusal
        Assert.Equal("started", run.GetProperty("decision").GetString());
        Assert.Equal(started.Str("runId"), run.GetProperty("runId").GetString());
        Assert.Equal(started.Str("runId"), run.GetProperty("id").GetString());
        Assert.Equal(started.Int("pid"), run.GetProperty("pid").GetInt32());
        Assert.Equal("local", run.GetProperty("runner").GetString());
        Assert.Equal("cf-worker", run.GetProperty("source").GetString());
        Assert.Equal("example.org", run.GetProperty("cfWorker").GetString());
        Assert.Equal("corr-123e4567", run.GetProperty("correlationId").GetString());
        Assert.Equal("203.0.113.7", run.GetProperty("client").GetString());
        Assert.Equal("2026-11-25T14:35:00.000Z", run.GetProperty("scheduledTime").GetString());
        Assert.Equal("Succeeded", run.GetProperty("outcome").GetString());
        Assert.Equal(0, run.GetProperty("exitCode").GetInt32());
        Assert.True(run.GetProperty("durationSeconds").GetDouble() >= 1.5);
        Assert.True(run.GetProperty("ended").GetDateTimeOffset() > run.GetProperty("time").GetDateTimeOffset());
        Assert.Contains("woke", run.GetProperty("lastLines").EnumerateArray().Select(l => l.GetString()));
    }

    [Fact]
    public async Task ABadParameterFromAnAuthenticatedCaller_IsRecorded()
    {
        var bad = await App.CallAsync(JobCatalog.MopRecent, "POST", "?delta=-1", headers: WorkerHeaders);
        Assert.Equal(400, bad.Status);

        var record = Assert.Single((await App.GetRunsAsync("?job=mop-recent")).Body.GetProperty("runs").EnumerateArray());

        Assert.Equal("refused", record.GetProperty("decision").GetString());
        Assert.Equal("bad_parameter", record.GetProperty("reason").GetString());
        Assert.Equal(400, record.GetProperty("httpStatus").GetInt32());
        Assert.Contains("delta", record.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(200, (await App.GetRunAsync(record.GetProperty("id").GetString()!)).Status);
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
        Assert.Contains("something broke", run.Body.GetProperty("lastLines").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal(404, (await App.GetRunAsync("20200101T000000Z-00000000")).Status);
        Assert.Equal(400, (await App.GetRunAsync("..%2F..%2Fetc")).Status);
        Assert.Equal(400, (await App.GetRunAsync("20200101T000000Z-0000000g")).Status);
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
    public async Task Limit_ReturnsTheNewestRecords_AcrossJobs()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 10, 0, 0, TimeSpan.Zero));
        await using var app = new TestApp(Azurite.ConnectionString, Backend.Directory, TestApp.NewContainerName(), timeProvider: time);
        for (var i = 0; i < 3; i++)
        {
            await app.PostAsync(JobCatalog.MopRecent, "?delta=0");
            time.Advance(TimeSpan.FromSeconds(1)); // run ids name the second
        }

        var newest = await app.PostAsync(JobCatalog.EeRecent);
        var list = (await app.GetRunsAsync("?limit=2")).Body.GetProperty("runs").EnumerateArray().ToList();

        Assert.Equal(2, list.Count);
        Assert.Equal(newest.Str("runId"), list[0].GetProperty("id").GetString());
        Assert.Equal("mop-recent", list[1].GetProperty("job").GetString());
        Assert.Equal(new DateTimeOffset(2026, 11, 25, 10, 0, 2, TimeSpan.Zero), list[1].GetProperty("time").GetDateTimeOffset());
        Assert.Equal(3, (await app.GetRunsAsync("?job=mop-recent")).Body.GetProperty("count").GetInt32());
        await app.WaitForRunsAsync();
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

        // Everything stored, column by column, straight from the table.
        var table = new TableClient(Azurite.ConnectionString, App.Services.GetRequiredService<RunHistory>().TableName);
        var stored = new List<string>();
        await foreach (var row in table.QueryAsync<TableEntity>())
        {
            stored.AddRange(row.Select(column => $"{column.Key}={column.Value}"));
        }

        var storedText = string.Join("\n", stored);
        var api = (await App.GetRunsAsync("?limit=500")).Body.ToString();
        var logs = string.Join("\n", App.Logs.GetSnapshot().Select(r =>
            r.Message + " " + string.Join(" ", r.StructuredState?.Select(kv => kv.Value) ?? []) + " " + r.Exception));

        foreach (var text in new[] { storedText, api, logs })
        {
            Assert.DoesNotContain(TestApp.Token, text, StringComparison.Ordinal);
            Assert.DoesNotContain(SecondaryToken, text, StringComparison.Ordinal);
        }

        Assert.Contains("bad_parameter", storedText, StringComparison.Ordinal);
        Assert.DoesNotContain("unauthorized", storedText, StringComparison.Ordinal); // a refusal is never stored
    }
}
