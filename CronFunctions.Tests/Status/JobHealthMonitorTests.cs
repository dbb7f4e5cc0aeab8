using System.Globalization;
using CronFunctions.Functions;
using CronFunctions.Jobs;
using CronFunctions.Status;
using CronFunctions.Tests.Infrastructure;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace CronFunctions.Tests.Status;

/// <summary>
/// The alarm, through the real pipeline, lock and history on simulated time: a daily job that misses its slot is
/// reported overdue (event 4100) at the first check past its grace and no more once it ran; three failed runs of a
/// minute job are reported failing (4101); unreadable storage is an error (4102), never an exception.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class JobHealthMonitorTests(AzuriteFixture azurite) : IDisposable
{
    private const string Category = "CronFunctions.Status.JobHealthMonitor";
    private readonly FakeBackend _backend = new();

    public void Dispose() => _backend.Dispose();

    private static DateTimeOffset At(string utc) => DateTimeOffset.Parse(utc, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    private static IEnumerable<FakeLogRecord> Events(TestApp app, int id, string job) =>
        app.Logs.GetSnapshot().Where(r => r.Id.Id == id && r.GetStructuredStateValue("Job") == job);

    [Fact]
    public async Task ADailyJobThatMissesItsSlot_IsReportedOverdueAtTheRightCheck_AndClearsOnceItRuns()
    {
        var time = new FakeTimeProvider(At("2026-11-24T02:06:00Z"));
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName(), timeProvider: time);
        var monitor = app.Services.GetRequiredService<JobHealthMonitor>();
        Assert.Equal("started", (await app.PostAsync(JobCatalog.PartiesImport)).Str("status"));
        await app.WaitForRunsAsync();

        time.SetUtcNow(At("2026-11-25T03:05:00Z")); // the 02:06 slot was missed; the grace (1 h) runs until 03:06
        await monitor.CheckAsync(CancellationToken.None);
        Assert.Empty(Events(app, 4100, "parties-import"));

        time.SetUtcNow(At("2026-11-25T03:10:00Z")); // the next 5-minute check
        await monitor.CheckAsync(CancellationToken.None);
        var overdue = Assert.Single(Events(app, 4100, "parties-import"));
        Assert.Equal("JobOverdue", overdue.Id.Name);
        Assert.Equal(LogLevel.Error, overdue.Level);
        Assert.Equal(Category, overdue.Category);
        Assert.StartsWith("Job parties-import is overdue since 2026-11-25T03:06:00.0000000+00:00: no run started since 2026-11-24T02:06:00Z", overdue.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(app.Logs.GetSnapshot(), r => r.Id.Id is 4100 or 4101 && r.GetStructuredStateValue("Job") != "parties-import");

        Assert.Equal("started", (await app.PostAsync(JobCatalog.PartiesImport)).Str("status")); // the catch-up call
        await app.WaitForRunsAsync();
        time.SetUtcNow(At("2026-11-25T03:15:00Z"));
        app.Logs.Clear();
        await monitor.CheckAsync(CancellationToken.None);

        Assert.Empty(Events(app, 4100, "parties-import"));
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Id.Id == 4103);
    }

    [Fact]
    public async Task AMinuteJobWhoseLastThreeRunsFailed_IsReportedFailingSinceTheFirstOfThem()
    {
        _backend.Mode = "fail";
        var time = new FakeTimeProvider(At("2026-11-25T10:00:30Z"));
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName(), timeProvider: time);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("started", (await app.PostAsync(JobCatalog.SopnParse)).Str("status"));
            await app.WaitForRunsAsync();
            time.Advance(TimeSpan.FromMinutes(1));
        }

        await app.Services.GetRequiredService<JobHealthMonitor>().CheckAsync(CancellationToken.None);

        var failing = Assert.Single(Events(app, 4101, "sopn-parse"));
        Assert.Equal("JobFailing", failing.Id.Name);
        Assert.Equal(LogLevel.Error, failing.Level);
        Assert.Equal(Category, failing.Category);
        Assert.StartsWith("Job sopn-parse is failing since 2026-11-25T10:00:30.0000000+00:00: the last 3 finished runs failed", failing.Message, StringComparison.Ordinal);
        Assert.Contains("Failed (exit code 3)", failing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StorageDown_IsOneErrorEvent_NotAnException()
    {
        await using var storage = await AzuriteInstance.StartAsync();
        await using var app = new TestApp(storage.ConnectionString, _backend.Directory, TestApp.NewContainerName());
        await storage.StopAsync();

        var report = await app.Services.GetRequiredService<JobHealthMonitor>().CheckAsync(CancellationToken.None);

        Assert.Null(report);
        var unknown = Assert.Single(app.Logs.GetSnapshot(), r => r.Id.Id == 4102);
        Assert.Equal(LogLevel.Error, unknown.Level);
    }

    [Fact]
    public async Task TheTimerFunction_RunsTheMonitor()
    {
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName());
        var functions = ActivatorUtilities.CreateInstance<StatusEndpoints>(app.Services);

        await functions.HealthMonitor(new TimerInfo(), CancellationToken.None);

        var checkedEvent = Assert.Single(app.Logs.GetSnapshot(), r => r.Id.Id == 4103);
        Assert.Equal("6", checkedEvent.GetStructuredStateValue("Jobs"));
    }
}
