using System.Globalization;
using System.Text.Json;
using CronFunctions.Functions;
using CronFunctions.Jobs;
using CronFunctions.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace CronFunctions.Tests.Status;

/// <summary><c>GET /api/cron/status</c>: every job's schedule, last run, last success, next due, running, last check and health.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class StatusApiTests(AzuriteFixture azurite) : IDisposable
{
    private readonly FakeBackend _backend = new();

    public void Dispose() => _backend.Dispose();

    private static Task<EndpointResponse> StatusAsync(TestApp app, string method = "GET", string? authorization = "Bearer " + TestApp.Token) =>
        app.InvokeAsync(typeof(StatusEndpoints), nameof(StatusEndpoints.JobStatus), method, null, authorization);

    private static JsonElement Job(EndpointResponse status, string job) =>
        status.Body.GetProperty("jobs").EnumerateArray().Single(j => j.GetProperty("job").GetString() == job);

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong")]
    public async Task Status_WithoutAValidToken_Is401(string? authorization)
    {
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName());

        Assert.Equal(401, (await StatusAsync(app, authorization: authorization)).Status);
        Assert.Equal(405, (await StatusAsync(app, "POST")).Status);
    }

    [Fact]
    public async Task Status_ShowsEveryJob_WithItsLastRunAndHealth()
    {
        _backend.Mode = "fail";
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 23, 23, 5, TimeSpan.Zero));
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName(), timeProvider: time);
        var started = await app.CallAsync(JobCatalog.CheckCurrent, "POST", headers: new Dictionary<string, string> { ["X-Scheduled-Time"] = "2026-11-25T23:23:00.000Z" });
        await app.WaitForRunsAsync();
        time.Advance(TimeSpan.FromMinutes(2));

        var status = await StatusAsync(app);

        Assert.Equal(200, status.Status);
        Assert.Equal(JobCatalog.All.Select(j => j.Name), status.Body.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("job").GetString()));
        var job = Job(status, "check-current");
        Assert.Equal("23 23 * * *", job.GetProperty("schedule").GetString());
        Assert.Equal("local", job.GetProperty("runner").GetString());
        Assert.Equal("failing", job.GetProperty("health").GetString()); // a daily job: one failed run is enough
        Assert.Contains("Failed (exit code 3)", job.GetProperty("healthReason").GetString(), StringComparison.Ordinal);
        Assert.False(job.GetProperty("running").GetBoolean());
        var lastRun = job.GetProperty("lastRun");
        Assert.Equal(started.Str("runId"), lastRun.GetProperty("id").GetString());
        Assert.Equal("Failed", lastRun.GetProperty("outcome").GetString());
        Assert.Equal(3, lastRun.GetProperty("exitCode").GetInt32());
        Assert.Equal("2026-11-25T23:23:00.000Z", lastRun.GetProperty("scheduledTime").GetString());
        Assert.Contains("something broke", lastRun.GetProperty("lastLines").EnumerateArray().Select(l => l.GetString()));
        Assert.True(lastRun.TryGetProperty("ended", out _));
        Assert.False(job.TryGetProperty("lastSuccess", out _));
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 23, 23, 0, TimeSpan.Zero), job.GetProperty("nextDue").GetDateTimeOffset());
        Assert.False(job.GetProperty("due").GetBoolean());
        Assert.Equal("started", job.GetProperty("lastCheckDecision").GetString());
        Assert.Equal(1, job.GetProperty("failingAfter").GetInt32());
        Assert.Equal("01:00:00", job.GetProperty("overdueGrace").GetString());

        var never = Job(status, "sopn-parse");
        Assert.Equal("ok", never.GetProperty("health").GetString());
        Assert.False(never.TryGetProperty("lastRun", out _));
        Assert.True(never.GetProperty("due").GetBoolean());
        Assert.Equal("00:15:00", never.GetProperty("overdueGrace").GetString());
        Assert.False(never.TryGetProperty("recentRuns", out _));
    }

    [Fact]
    public async Task Status_ShowsARunningJob_AndItsLastSuccess_AndTheLastNotDueCheck()
    {
        _backend.Mode = "sleep 2";
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName());
        var started = await app.PostAsync(JobCatalog.PartiesImport);

        var whileRunning = Job(await StatusAsync(app), "parties-import");
        Assert.True(whileRunning.GetProperty("running").GetBoolean());
        Assert.Equal(started.Str("runId"), whileRunning.GetProperty("runningRunId").GetString());
        Assert.False(whileRunning.GetProperty("due").GetBoolean());

        await app.WaitForRunsAsync();
        Assert.Equal("not_due", (await app.PostAsync(JobCatalog.PartiesImport)).Str("reason"));
        var after = Job(await StatusAsync(app), "parties-import");

        Assert.False(after.GetProperty("running").GetBoolean());
        Assert.Equal(started.Str("runId"), after.GetProperty("lastSuccess").GetProperty("runId").GetString());
        Assert.True(after.GetProperty("lastSuccess").GetProperty("durationSeconds").GetDouble() >= 1.5);
        Assert.Equal("not_due", after.GetProperty("lastCheckDecision").GetString());
        Assert.Equal("ok", after.GetProperty("health").GetString());
    }

    [Fact]
    public async Task Status_WithStorageDown_Is503()
    {
        await using var storage = await AzuriteInstance.StartAsync();
        await using var app = new TestApp(storage.ConnectionString, _backend.Directory, TestApp.NewContainerName());
        await storage.StopAsync();

        var status = await StatusAsync(app);

        Assert.Equal(503, status.Status);
        Assert.Equal("error", status.Str("status"));
    }
}
