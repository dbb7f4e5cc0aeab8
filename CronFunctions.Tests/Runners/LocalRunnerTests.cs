using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using CronFunctions.Jobs;
using CronFunctions.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace CronFunctions.Tests.Runners;

/// <summary>The local process runner with real processes: output drained, runtime limit, start failures.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class LocalRunnerTests(AzuriteFixture azurite) : IDisposable
{
    private readonly FakeBackend _backend = new();
    private readonly string _container = TestApp.NewContainerName();

    public void Dispose() => _backend.Dispose();

    [Fact]
    public async Task ProcessWriting1MiBToStdoutAndStderr_Finishes_AndItsOutputReachesTheLogs()
    {
        _backend.Mode = "flood";
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, _container);

        var response = await app.PostAsync(JobCatalog.SopnParse);
        Assert.Equal(200, response.Status);
        await app.WaitForRunsAsync(); // would time out if a full pipe stalled the process

        var output = app.Logs.GetSnapshot().Where(r => r.Id.Id == 2500).ToList();
        Assert.Equal(10486, output.Count(r => r.Message.Contains("stdout line", StringComparison.Ordinal)));
        Assert.Equal(10486, output.Count(r => r.Message.Contains("stderr line", StringComparison.Ordinal)));
        Assert.Contains(output, r => r.Message.Contains("flood-finished", StringComparison.Ordinal));
        Assert.All(output, r => Assert.Equal(response.Str("runId"), r.StructuredState!.Single(kv => kv.Key == "RunId").Value));
        var exited = Assert.Single(app.Logs.GetSnapshot(), r => r.Id.Id == 1009);
        Assert.Equal("0", exited.StructuredState!.Single(kv => kv.Key == "ExitCode").Value);
        Assert.Equal("Succeeded", (await LockProperties()).Metadata["outcome"]);
    }

    [Fact]
    public async Task ProcessPastItsMaximumRuntime_IsKilledWithItsChildren_AndTheLockIsReleased()
    {
        _backend.Mode = "sleep 120";
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = WithFiveMinuteLimit(time);

        var response = await app.PostAsync(JobCatalog.SopnParse);
        var pid = response.Int("pid")!.Value;
        await _backend.WaitForCallsAsync(1);
        var child = await WaitForChildAsync(pid);
        Assert.True(ProcessTools.IsAlive(pid));

        time.Advance(TimeSpan.FromMinutes(5.5));
        await app.WaitForRunsAsync();

        Assert.False(ProcessTools.IsAlive(pid));
        Assert.False(ProcessTools.IsAlive(child));
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Id.Id == 2010 && r.Level == LogLevel.Warning); // stopping: past its maximum runtime
        var properties = await LockProperties();
        Assert.Equal(LeaseState.Available, properties.LeaseState);
        Assert.Equal("TimedOut", properties.Metadata["outcome"]);
    }

    [Fact]
    public async Task ProcessWithinItsMaximumRuntime_IsNotKilled_AndEndsOnItsOwn()
    {
        // The limit is a timer on the app's clock: advancing that clock fires a due timer inside Advance, so whether
        // the limit was (wrongly) reached at 4 of 5 minutes is decided there, and the run's end says which it was.
        _backend.Mode = "sleep 3";
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = WithFiveMinuteLimit(time);

        var pid = (await app.PostAsync(JobCatalog.SopnParse)).Int("pid")!.Value;
        await _backend.WaitForCallsAsync(1);
        Assert.True(ProcessTools.IsAlive(pid));

        time.Advance(TimeSpan.FromMinutes(4));
        await app.WaitForRunsAsync(); // the job's own 3 s sleep ends it

        Assert.Equal("Succeeded", (await LockProperties()).Metadata["outcome"]);
        Assert.DoesNotContain(app.Logs.GetSnapshot(), r => r.Id.Id == 2503);
    }

    [Fact]
    public async Task JobThatLeavesAChildBehind_EndsWithIt_TheChildIsKilledAndTheLockReleased()
    {
        _backend.Mode = "orphan 0";
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, _container);

        var response = await app.PostAsync(JobCatalog.SopnParse);
        var pid = response.Int("pid")!.Value;
        var started = System.Diagnostics.Stopwatch.StartNew();
        await app.WaitForRunsAsync();

        Assert.True(started.Elapsed < TimeSpan.FromSeconds(15), $"the run lasted {started.Elapsed} (its child sleeps 30 s)");
        Assert.False(ProcessTools.IsAlive(_backend.OrphanChildPid()));
        Assert.False(ProcessTools.IsAlive(pid));
        Assert.Equal(LeaseState.Available, (await LockProperties()).LeaseState);
    }

    [Fact]
    public async Task TheJob_LeadsItsOwnProcessGroup()
    {
        _backend.Mode = "sleep 5";
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, _container);

        var pid = (await app.PostAsync(JobCatalog.SopnParse)).Int("pid")!.Value;
        await _backend.WaitForCallsAsync(1);

        var stat = await File.ReadAllTextAsync($"/proc/{pid}/stat");
        var pgrp = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[2];
        Assert.Equal(pid.ToString(System.Globalization.CultureInfo.InvariantCulture), pgrp);
    }

    [Fact]
    public async Task FailingProcess_RecordsItsExitCodeAndLastLines()
    {
        _backend.Mode = "fail";
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, _container);

        await app.PostAsync(JobCatalog.SopnParse);
        await app.WaitForRunsAsync();

        var properties = await LockProperties();
        Assert.Equal("Failed", properties.Metadata["outcome"]);
        Assert.Equal("3", properties.Metadata["exitcode"]);
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Id.Id == 2500 && r.Message.Contains("something broke", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Cron:Local:PythonExecutable", "/nonexistent/python3")]
    [InlineData("Cron:Local:BackendDirectory", "/nonexistent/backend")]
    public async Task ProcessThatCannotStart_Is500_AndLeavesNothingHeld(string setting, string value)
    {
        await using (var broken = new TestApp(azurite.ConnectionString, _backend.Directory, _container,
            new Dictionary<string, string?> { [setting] = value }))
        {
            var response = await broken.PostAsync(JobCatalog.SopnParse);

            Assert.Equal(500, response.Status);
            Assert.Equal("error", response.Str("status"));
            Assert.False(string.IsNullOrWhiteSpace(response.Str("error")));
            Assert.DoesNotContain("nonexistent", response.Str("error"), StringComparison.Ordinal); // no paths leak
            Assert.Contains(broken.Logs.GetSnapshot(), r => r.Id.Id == 1006 && r.Level == LogLevel.Error);
        }

        Assert.Equal(LeaseState.Available, (await LockProperties()).LeaseState);
        await using var fixedApp = new TestApp(azurite.ConnectionString, _backend.Directory, _container);
        var retry = await fixedApp.PostAsync(JobCatalog.SopnParse, "?force=true");
        Assert.Equal("started", retry.Str("status"));
    }

    /// <summary>An app whose sopn-parse runs may last 5 minutes on <paramref name="time"/>.</summary>
    private TestApp WithFiveMinuteLimit(FakeTimeProvider time) =>
        new(azurite.ConnectionString, _backend.Directory, _container, new Dictionary<string, string?> { ["Cron:Jobs:SopnParse:MaxRuntime"] = "00:05:00" }, time);

    private async Task<BlobProperties> LockProperties() =>
        await new BlobContainerClient(azurite.ConnectionString, _container).GetBlobClient(JobCatalog.SopnParse.Name).GetPropertiesAsync();

    private static async Task<int> WaitForChildAsync(int pid) =>
        await ProcessTools.WaitForDescendantsAsync(pid, TimeSpan.FromSeconds(2)) is [var child, ..]
            ? child
            : throw new TimeoutException("The job spawned no child.");
}
