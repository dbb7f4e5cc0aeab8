using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using CronFunctions.Jobs;
using CronFunctions.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace CronFunctions.Tests.Locking;

/// <summary>
/// The blob-lease lock against real Azurite: exactly one run under real concurrency, across app instances and
/// processes, released when the run ends, taken over once its run is dead or past its deadline, never stuck.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class LockTests(AzuriteFixture azurite) : IDisposable
{
    private readonly FakeBackend _backend = new("sleep 30");
    private readonly string _container = TestApp.NewContainerName();

    public void Dispose()
    {
        foreach (var pid in _backend.Calls().Keys)
        {
            KillQuietly(pid);
        }

        _backend.Dispose();
    }

    [Fact]
    public async Task FiftyConcurrentCalls_StartExactlyOneRun_AndTheOthersNameIt()
    {
        await using var app = NewApp();

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => app.PostAsync(JobCatalog.SopnParse))));

        var started = Assert.Single(responses, r => r.Str("status") == "started");
        var skipped = responses.Where(r => r != started).ToList();
        Assert.Equal(49, skipped.Count);
        Assert.All(skipped, r =>
        {
            Assert.Equal(200, r.Status);
            Assert.Equal("skipped", r.Str("status"));
            Assert.Equal("already_running", r.Str("reason"));
            Assert.Equal(started.Str("runId"), r.Str("runId"));
        });
        await Task.Delay(500);
        Assert.Single(_backend.Calls());
    }

    [Fact]
    public async Task TwoAppInstances_25CallsEach_StartExactlyOneRun()
    {
        await using var first = NewApp();
        await using var second = NewApp();

        var calls = Enumerable.Range(0, 50).Select(i => Task.Run(() => (i % 2 == 0 ? first : second).PostAsync(JobCatalog.SopnParse)));
        var responses = await Task.WhenAll(calls);

        Assert.Single(responses, r => r.Str("status") == "started");
        Assert.Equal(49, responses.Count(r => r.Str("reason") == "already_running"));
        await Task.Delay(500);
        Assert.Single(_backend.Calls());
    }

    [Fact]
    public async Task TwoAppProcesses_25CallsEachAtOnce_StartExactlyOneRun()
    {
        var processes = await Task.WhenAll(Enumerable.Range(0, 2)
            .Select(_ => SeparateApp.CallAsync(azurite.ConnectionString, _backend.Directory, _container, "sopn-parse", "?force=true", count: 25)));
        try
        {
            var answers = processes.SelectMany(p => p.Answers).ToList();
            Assert.Equal(50, answers.Count);
            var started = Assert.Single(answers, a => a.Body.GetProperty("status").GetString() == "started");
            var skipped = answers.Where(a => a.Body.GetProperty("status").GetString() == "skipped").ToList();
            Assert.Equal(49, skipped.Count);
            Assert.All(skipped, a => Assert.Equal(started.Body.GetProperty("runId").GetString(), a.Body.GetProperty("runId").GetString()));
            await Task.Delay(500);
            Assert.Single(_backend.Calls());
        }
        finally
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task TwoAppProcesses_AndAThirdInstance_RacingStartExactlyOneRun()
    {
        await using var app = NewApp();
        var processes = Enumerable.Range(0, 4)
            .Select(_ => SeparateApp.CallAsync(azurite.ConnectionString, _backend.Directory, _container, "sopn-parse", "?force=true"))
            .ToList();
        var local = Enumerable.Range(0, 25).Select(_ => Task.Run(() => app.PostAsync(JobCatalog.SopnParse, "?force=true"))).ToList();

        var remote = await Task.WhenAll(processes);
        var inProcess = await Task.WhenAll(local);
        try
        {
            var statuses = remote.Select(r => r.Str("status")).Concat(inProcess.Select(r => r.Str("status"))).ToList();
            Assert.Equal(1, statuses.Count(s => s == "started"));
            Assert.Equal(28, statuses.Count(s => s == "skipped"));
            await Task.Delay(500);
            Assert.Single(_backend.Calls());
        }
        finally
        {
            foreach (var process in remote)
            {
                await process.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task RunThatEnds_ReleasesTheLock_AndTheNextCallStartsANewRun()
    {
        _backend.Mode = "exit";
        await using var app = NewApp();

        var first = await app.PostAsync(JobCatalog.SopnParse, "?force=true");
        await app.WaitForRunsAsync();
        var properties = await LockBlob().GetPropertiesAsync();
        Assert.Equal(LeaseState.Available, properties.Value.LeaseState);
        Assert.Equal(first.Str("runId"), properties.Value.Metadata["runid"]);
        Assert.Equal("ended", properties.Value.Metadata["state"]);

        var second = await app.PostAsync(JobCatalog.SopnParse, "?force=true");

        Assert.Equal("started", second.Str("status"));
        Assert.NotEqual(first.Str("runId"), second.Str("runId"));
        Assert.Equal(2, (await _backend.WaitForCallsAsync(2)).Count);
    }

    [Fact]
    public async Task AppDiesMidRun_NoSecondRunWhileItsRunLives_ThenExactlyOneTakeover()
    {
        await using var dying = await SeparateApp.CallAsync(azurite.ConnectionString, _backend.Directory, _container, "sopn-parse");
        Assert.Equal("started", dying.Str("status"));
        var orphanPid = int.Parse(dying.Str("pid")!, System.Globalization.CultureInfo.InvariantCulture);
        await _backend.WaitForCallsAsync(1);

        await dying.CrashAsync(); // the instance is gone; its run's process and its lease are left behind
        Assert.Equal(LeaseState.Leased, (await LockBlob().GetPropertiesAsync()).Value.LeaseState);

        await using var survivor = NewApp();
        await using var other = NewApp();
        var whileAlive = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => (i % 2 == 0 ? survivor : other).PostAsync(JobCatalog.SopnParse, "?force=true")));
        Assert.All(whileAlive, r => Assert.Equal("already_running", r.Str("reason")));
        Assert.All(whileAlive, r => Assert.Equal(dying.Str("runId"), r.Str("runId")));

        KillQuietly(orphanPid);
        await WaitUntilGoneAsync(orphanPid);

        var afterDeath = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => (i % 2 == 0 ? survivor : other).PostAsync(JobCatalog.SopnParse, "?force=true"))));
        var takeover = Assert.Single(afterDeath, r => r.Str("status") == "started");
        Assert.Equal(19, afterDeath.Count(r => r.Str("reason") == "already_running"));
        Assert.Equal(2, (await _backend.WaitForCallsAsync(2)).Count);
        Assert.Contains(survivor.Logs.GetSnapshot().Concat(other.Logs.GetSnapshot()), r => r.Id.Id == 2000);
        Assert.NotEqual(dying.Str("runId"), takeover.Str("runId"));

        // The instance that took over records the orphaned run's end, which nobody else could.
        var orphan = await survivor.GetRunAsync(dying.Str("runId")!);
        Assert.Equal(200, orphan.Status);
        Assert.Equal("started", orphan.Str("decision")); // the dying instance wrote its start before answering
        Assert.Equal("ProcessGone", orphan.Str("outcome"));
    }

    [Fact]
    public async Task AppDiesMidRun_AChildTheJobLeftBehind_StillHoldsTheLock()
    {
        _backend.Mode = "orphan 1";
        await using var dying = await SeparateApp.CallAsync(azurite.ConnectionString, _backend.Directory, _container, "sopn-parse");
        var jobPid = int.Parse(dying.Str("pid")!, System.Globalization.CultureInfo.InvariantCulture);
        await _backend.WaitForCallsAsync(1);
        await dying.CrashAsync();
        await WaitUntilGoneAsync(jobPid); // the job's own process exits after 1 s; its child lives on in its group
        await using var survivor = NewApp();

        var whileChildLives = await survivor.PostAsync(JobCatalog.SopnParse, "?force=true");
        Assert.Equal("already_running", whileChildLives.Str("reason"));

        var child = _backend.OrphanChildPid();
        KillQuietly(child);
        await WaitUntilGoneAsync(child);
        var afterwards = await survivor.PostAsync(JobCatalog.SopnParse, "?force=true");

        Assert.Equal("started", afterwards.Str("status"));
    }

    [Fact]
    public async Task RunPastItsDeadline_IsTakenOver_ExactlyOnce()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var settings = new Dictionary<string, string?> { ["Cron:Jobs:SopnParse:MaxRuntime"] = "00:10:00" };
        await using var dying = await SeparateApp.CallAsync(azurite.ConnectionString, _backend.Directory, _container, "sopn-parse");
        await dying.CrashAsync();
        await using var app = NewApp(settings, time);

        time.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal("already_running", (await app.PostAsync(JobCatalog.SopnParse, "?force=true")).Str("reason"));

        time.Advance(TimeSpan.FromMinutes(2)); // the lock's deadline (2 h default in the crashed instance) is not ours to move…
        var record = (await LockBlob().GetPropertiesAsync()).Value.Metadata;
        var deadline = DateTimeOffset.Parse(record["deadline"], System.Globalization.CultureInfo.InvariantCulture);
        time.SetUtcNow(deadline + TimeSpan.FromSeconds(1)); // …so go just past the deadline it recorded

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => app.PostAsync(JobCatalog.SopnParse, "?force=true"))));
        Assert.Single(responses, r => r.Str("status") == "started");
        Assert.Equal(2, (await _backend.WaitForCallsAsync(2)).Count);
    }

    [Fact]
    public async Task HolderThatNeverWroteItsRecord_IsTakenOverAfterTheGrace()
    {
        await using var app = NewApp();
        _backend.Mode = "exit";
        await app.PostAsync(JobCatalog.SopnParse); // creates the blob with an ended record
        await app.WaitForRunsAsync();
        await LockBlob().GetBlobLeaseClient().AcquireAsync(BlobLeaseClient.InfiniteLeaseDuration); // a "crashed" acquirer

        var response = await app.PostAsync(JobCatalog.SopnParse, "?force=true");

        Assert.Equal("started", response.Str("status"));
        Assert.Equal(2, (await _backend.WaitForCallsAsync(2)).Count);
    }

    [Fact]
    public async Task DifferentJobs_NeverBlockEachOther()
    {
        await using var app = NewApp();

        var responses = await Task.WhenAll(JobCatalog.All.Select(job => app.PostAsync(job)));

        Assert.All(responses, r => Assert.Equal("started", r.Str("status")));
        Assert.Equal(6, (await _backend.WaitForCallsAsync(6)).Count);
    }

    [Fact]
    public async Task LockStoreDown_Is503AndStartsNothing_ThenWorksWhenItIsBack()
    {
        await using var storage = await AzuriteInstance.StartAsync();
        await using var app = new TestApp(storage.ConnectionString, _backend.Directory, _container);
        _backend.Mode = "exit";
        Assert.Equal("started", (await app.PostAsync(JobCatalog.EeRecent)).Str("status"));
        await app.WaitForRunsAsync();

        await storage.StopAsync();
        var down = await app.PostAsync(JobCatalog.SopnParse);

        Assert.Equal(503, down.Status);
        Assert.Equal("error", down.Str("status"));
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Id.Id == 1007);
        Assert.Single(_backend.Calls());

        await storage.StartAgainAsync();
        var back = await app.PostAsync(JobCatalog.SopnParse);

        Assert.Equal("started", back.Str("status"));
        Assert.Equal(2, (await _backend.WaitForCallsAsync(2)).Count);
    }

    [Fact]
    public async Task ReleaseFailingDuringAnOutage_IsRetried_UntilTheStoreIsBack()
    {
        await using var storage = await AzuriteInstance.StartAsync();
        _backend.Mode = "sleep 8"; // outlives Azurite's next save (≤ 5 s), so the run ends while storage is down
        await using var app = new TestApp(storage.ConnectionString, _backend.Directory, _container);
        Assert.Equal("started", (await app.PostAsync(JobCatalog.SopnParse)).Str("status"));
        var started = DateTime.UtcNow;

        await storage.WaitForSaveAsync(started); // Azurite persists every 5 s: let it save the lease before it dies
        await storage.StopAsync();
        while (!app.Logs.GetSnapshot().Any(r => r.Id.Id == 2006))
        {
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30), "the release never failed");
            await Task.Delay(100); // the run ends (8 s) and its release fails
        }

        await storage.StartAgainAsync();
        await app.WaitForRunsAsync(); // the watcher ends once a retry released the lock

        var properties = await new BlobContainerClient(storage.ConnectionString, _container).GetBlobClient("sopn-parse").GetPropertiesAsync();
        Assert.Equal(LeaseState.Available, properties.Value.LeaseState);
        Assert.Equal("Succeeded", properties.Value.Metadata["outcome"]); // released by its owner, not taken over
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Id.Id == 2001);
    }

    private TestApp NewApp(IDictionary<string, string?>? settings = null, TimeProvider? time = null)
    {
        var all = new Dictionary<string, string?> { ["Cron:Runs:ContainerName"] = _container + "-runs" };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        return new(azurite.ConnectionString, _backend.Directory, _container, all, time);
    }

    private BlobClient LockBlob() => new BlobContainerClient(azurite.ConnectionString, _container).GetBlobClient("sopn-parse");

    private static void KillQuietly(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            process.Kill(entireProcessTree: true);
        }
        catch (ArgumentException)
        {
        }
        catch (InvalidOperationException)
        {
        }
    }

    private static async Task WaitUntilGoneAsync(int pid)
    {
        for (var i = 0; i < 200 && File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z", StringComparison.Ordinal); i++)
        {
            await Task.Delay(25);
        }
    }
}
