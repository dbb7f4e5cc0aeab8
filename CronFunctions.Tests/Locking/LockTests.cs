using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using CronFunctions.Jobs;
using CronFunctions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CronFunctions.Tests.Locking;

/// <summary>
/// The blob-lease lock against real Azurite and real processes: exactly one run under real concurrency, across app
/// instances and processes; a run's lock is kept by its owner and freed when the run ends; a run dies with its owner
/// and its lock is free again within the lease; and every way the old infinite-lease lock doubled, skipped or stuck a
/// run (issue 10) is shown not to. Every test also asserts that no two runs of a job were ever alive at once (each
/// fake job takes an exclusive per-job file lock that the kernel holds while any process of its run lives).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class LockTests(AzuriteFixture azurite) : IDisposable
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(15);
    private readonly FakeBackend _backend = new("sleep 30");
    private readonly string _container = TestApp.NewContainerName();

    public void Dispose()
    {
        Assert.Empty(_backend.Overlaps());
        foreach (var pid in _backend.Calls().Keys)
        {
            ProcessTools.KillWithDescendants(pid);
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
        await AssertSettledWithOneRunAsync(started.Str("runId")!);
    }

    [Fact]
    public async Task TwoAppInstances_25CallsEach_StartExactlyOneRun()
    {
        await using var first = NewApp();
        await using var second = NewApp();

        var calls = Enumerable.Range(0, 50).Select(i => Task.Run(() => (i % 2 == 0 ? first : second).PostAsync(JobCatalog.SopnParse)));
        var responses = await Task.WhenAll(calls);

        var started = Assert.Single(responses, r => r.Str("status") == "started");
        Assert.Equal(49, responses.Count(r => r.Str("reason") == "already_running"));
        await AssertSettledWithOneRunAsync(started.Str("runId")!);
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
            await AssertSettledWithOneRunAsync(started.Body.GetProperty("runId").GetString()!);
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
    public async Task FourAppProcesses_AndAFifthInstance_RacingStartExactlyOneRun()
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
            var runId = remote.Select(r => (r.Str("status"), r.Str("runId"))).Concat(inProcess.Select(r => (r.Str("status"), r.Str("runId"))))
                .Single(s => s.Item1 == "started").Item2!;
            await AssertSettledWithOneRunAsync(runId);
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
        Assert.Equal("Succeeded", properties.Value.Metadata["outcome"]);

        var second = await app.PostAsync(JobCatalog.SopnParse, "?force=true");

        Assert.Equal("started", second.Str("status"));
        Assert.NotEqual(first.Str("runId"), second.Str("runId"));
        Assert.Equal(2, (await _backend.WaitForCallsAsync(2)).Count);
    }

    [Fact]
    public async Task TheOwnerRenewsAFiniteLease_ForAsLongAsTheRunLives()
    {
        _backend.Mode = "sleep 20"; // longer than the 15 s lease
        await using var app = NewApp();

        var started = await app.PostAsync(JobCatalog.SopnParse);
        var properties = (await LockBlob().GetPropertiesAsync()).Value;
        Assert.Equal(LeaseDurationType.Fixed, properties.LeaseDuration);
        Assert.Equal("running", properties.Metadata["state"]);

        await Task.Delay(Lease + TimeSpan.FromSeconds(2)); // past the lease: only renewals keep it
        Assert.Equal(LeaseState.Leased, (await LockBlob().GetPropertiesAsync()).Value.LeaseState);
        Assert.Equal("already_running", (await app.PostAsync(JobCatalog.SopnParse, "?force=true")).Str("reason"));

        await app.WaitForRunsAsync();
        var ended = (await LockBlob().GetPropertiesAsync()).Value;
        Assert.Equal((LeaseState.Available, "ended", "Succeeded"), (ended.LeaseState, ended.Metadata["state"], ended.Metadata["outcome"]));
        Assert.Equal(started.Str("runId"), ended.Metadata["runid"]);
    }

    // Issue 10, scenario 7: the app killed mid-run.
    [Fact]
    public async Task AppKilledMidRun_ItsJobDiesWithinSeconds_AndTheNextRunStartsWithinTheLease()
    {
        await using var dying = await SeparateApp.CallAsync(azurite.ConnectionString, _backend.Directory, _container, "sopn-parse");
        Assert.Equal("started", dying.Str("status"));
        var jobPid = int.Parse(dying.Str("pid")!, System.Globalization.CultureInfo.InvariantCulture);
        await _backend.WaitForCallsAsync(1);

        await dying.CrashAsync(); // SIGKILL: no shutdown, no release
        var killedAt = DateTime.UtcNow;
        var jobGone = await Eventually.TrueAsync(() => !ProcessTools.IsAlive(jobPid), TimeSpan.FromSeconds(15), "the job dies with its owner");

        await using var survivor = NewApp();
        await using var other = NewApp();
        var (takeover, _) = await Eventually.ValueAsync(
            async () => await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(() => (i % 2 == 0 ? survivor : other).PostAsync(JobCatalog.SopnParse, "?force=true")))),
            answers => answers.Any(r => r.Str("status") == "started"),
            TimeSpan.FromSeconds(60),
            "a new run starts once the dead owner's lease is over");
        var recovery = DateTime.UtcNow - killedAt;

        Assert.Single(takeover, r => r.Str("status") == "started");
        Assert.InRange(jobGone, TimeSpan.Zero, TimeSpan.FromSeconds(15));
        Assert.InRange(recovery, TimeSpan.Zero, TimeSpan.FromSeconds(60));
        Assert.Equal(2, (await _backend.WaitForCallsAsync(2)).Count);

        // The instance that took over records the dead run's end, which nobody else could.
        var orphan = await survivor.GetRunAsync(dying.Str("runId")!);
        Assert.Equal(200, orphan.Status);
        Assert.Equal("started", orphan.Str("decision")); // the dying instance wrote its start before answering
        Assert.Equal("Abandoned", orphan.Str("outcome"));
    }

    // Issue 10, scenario 7: the app stopped by the host (scale-in, deployment).
    [Fact]
    public async Task AppStoppedGracefully_StopsItsRun_RecordsItInterrupted_AndFreesTheLockAtOnce()
    {
        await using var stopping = await SeparateApp.CallAsync(azurite.ConnectionString, _backend.Directory, _container, "sopn-parse");
        var jobPid = int.Parse(stopping.Str("pid")!, System.Globalization.CultureInfo.InvariantCulture);
        await _backend.WaitForCallsAsync(1);

        await stopping.StopAsync(); // SIGTERM, as the host stops its worker

        Assert.False(ProcessTools.IsAlive(jobPid));
        var properties = (await LockBlob().GetPropertiesAsync()).Value;
        Assert.Equal(LeaseState.Available, properties.LeaseState);
        Assert.Equal(("interrupted", "Interrupted"), (properties.Metadata["state"], properties.Metadata["outcome"]));
        await using var next = NewApp();
        Assert.Equal("started", (await next.PostAsync(JobCatalog.SopnParse, "?force=true")).Str("status"));
    }

    [Fact]
    public async Task AChildTheJobLeftBehind_DiesWithItsRun_AndNeverOverlapsTheNext()
    {
        _backend.Mode = "orphan 1";
        await using var app = NewApp();
        Assert.Equal("started", (await app.PostAsync(JobCatalog.SopnParse)).Str("status"));

        await app.WaitForRunsAsync(); // the job exits after 1 s; its lifeline kills what it left in its group
        var child = _backend.OrphanChildPid();
        Assert.False(ProcessTools.IsAlive(child));

        var next = await app.PostAsync(JobCatalog.SopnParse, "?force=true");
        Assert.Equal("started", next.Str("status"));
    }

    // Issue 10, scenario 5: a local run past its maximum runtime is stopped, not overlapped.
    [Fact]
    public async Task LocalRunPastItsMaximumRuntime_IsStopped_BeforeAnotherStarts()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = NewApp(new Dictionary<string, string?> { ["Cron:Jobs:SopnParse:MaxRuntime"] = "00:01:00", ["Cron:Local:StopGrace"] = "00:00:01" }, time);
        var started = await app.PostAsync(JobCatalog.SopnParse);
        var pid = started.Int("pid")!.Value;

        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal("already_running", (await app.PostAsync(JobCatalog.SopnParse, "?force=true")).Str("reason")); // until it is stopped
        await app.WaitForRunsAsync(); // the owner stops it at its next check (within a renewal interval)

        Assert.False(ProcessTools.IsAlive(pid));
        Assert.Equal("TimedOut", (await LockBlob().GetPropertiesAsync()).Value.Metadata["outcome"]);
        Assert.Equal("started", (await app.PostAsync(JobCatalog.SopnParse, "?force=true")).Str("status"));
    }

    // Issue 10, scenario 6: someone breaks the lease of a live run.
    [Fact]
    public async Task BrokenLease_NeverLetsASecondRunStartOnTopOfTheFirst()
    {
        await using var owner = NewApp();
        await using var other = NewApp();
        var first = await owner.PostAsync(JobCatalog.SopnParse);
        var pid = first.Int("pid")!.Value;

        await LockBlob().GetBlobLeaseClient().BreakAsync(TimeSpan.Zero); // an operator in Storage Explorer
        var whileFenced = await other.PostAsync(JobCatalog.SopnParse, "?force=true");
        Assert.Equal(("already_running", first.Str("runId")), (whileFenced.Str("reason"), whileFenced.Str("runId")));

        // Its owner learns at its next renewal that the lock is gone, and stops the run.
        await Eventually.TrueAsync(() => !ProcessTools.IsAlive(pid), Lease, "the owner stops a run whose lease was broken");
        Assert.Contains(owner.Logs.GetSnapshot(), r => r.Id.Id == 2008);

        var (next, _) = await Eventually.ValueAsync(
            () => other.PostAsync(JobCatalog.SopnParse, "?force=true"), r => r.Str("status") == "started", TimeSpan.FromSeconds(40),
            "a run starts once the broken lease's time is over");
        Assert.NotEqual(first.Str("runId"), next.Str("runId"));
    }

    // Issue 10, scenario 9: the lease lost between the start and the "running" write is not an outage.
    [Fact]
    public async Task LeaseTakenBeforeTheRunningWrite_StopsTheRun_InsteadOfRetryingUntilTheDeadline()
    {
        var faults = new StorageFaults();
        await using var app = NewApp(faults: faults);
        var thief = LockBlob();
        faults.ArmCallback(StorageStep.Write, async () =>
        {
            await thief.GetBlobLeaseClient().BreakAsync(TimeSpan.Zero);
            await thief.GetBlobLeaseClient(Guid.NewGuid().ToString()).AcquireAsync(Lease);
        }, skip: 1); // the second write: "running", after the process started

        var started = await app.PostAsync(JobCatalog.SopnParse);
        await app.WaitForRunsAsync();

        Assert.Equal("started", started.Str("status"));
        Assert.False(ProcessTools.IsAlive(started.Int("pid")!.Value));
        Assert.Single(app.Logs.GetSnapshot(), r => r.Id.Id == 2008); // lost, once
        Assert.Equal(2, faults.Count(StorageStep.Write)); // and not written again and again as if storage were down
    }

    // Issue 10, scenario 1: a failed start must not use up the schedule slot.
    [Fact]
    public async Task FailedStart_LeavesTheSlotDue_TheRetryStartsIt()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 2, 6, 30, TimeSpan.Zero));
        var backend = Path.Combine(Path.GetTempPath(), "missing-backend-" + Guid.NewGuid().ToString("N"));
        _backend.Mode = "exit";
        await using var app = NewApp(new Dictionary<string, string?> { ["Cron:Local:BackendDirectory"] = backend }, time);
        try
        {
            Directory.CreateSymbolicLink(backend, _backend.Directory);
            Assert.Equal("started", (await app.PostAsync(JobCatalog.PartiesImport)).Str("status")); // yesterday's run
            await app.WaitForRunsAsync();
            Directory.Delete(backend);

            time.SetUtcNow(new DateTimeOffset(2026, 11, 25, 2, 6, 5, TimeSpan.Zero));
            var failed = await app.PostAsync(JobCatalog.PartiesImport);
            Assert.Equal((500, "error"), (failed.Status, failed.Str("status")));
            Assert.NotNull(failed.Str("runId"));

            Directory.CreateSymbolicLink(backend, _backend.Directory); // the backend is back
            time.SetUtcNow(new DateTimeOffset(2026, 11, 25, 2, 8, 0, TimeSpan.Zero));
            var retry = await app.PostAsync(JobCatalog.PartiesImport);

            Assert.Equal("started", retry.Str("status"));
            await app.WaitForRunsAsync();
            var record = (await new BlobContainerClient(azurite.ConnectionString, _container).GetBlobClient("parties-import").GetPropertiesAsync()).Value.Metadata;
            Assert.Equal("ended", record["state"]);
            time.SetUtcNow(new DateTimeOffset(2026, 11, 25, 2, 9, 0, TimeSpan.Zero));
            Assert.Equal("not_due", (await app.PostAsync(JobCatalog.PartiesImport)).Str("reason"));
        }
        finally
        {
            if (Directory.Exists(backend))
            {
                Directory.Delete(backend);
            }
        }
    }

    // Issue 10, scenario 2: the caller hangs up during the start.
    [Theory]
    [InlineData(StorageStep.Read, 0)]
    [InlineData(StorageStep.Acquire, 0)]
    [InlineData(StorageStep.Write, 0)]
    [InlineData(StorageStep.Write, 1)]
    public async Task CallerHangingUpAtAnyStep_LeavesNoPhantomRun(StorageStep step, int skip)
    {
        _backend.Mode = "sleep 2";
        var faults = new StorageFaults();
        await using var app = NewApp(faults: faults);
        faults.Arm(step, StorageFault.Cancel, skip);

        EndpointResponse? answer = null;
        try
        {
            answer = await app.CallAsync(JobCatalog.SopnParse, "POST", cancellationToken: faults.Caller.Token);
        }
        catch (OperationCanceledException)
        {
            // The caller is gone: what it would have been told does not matter; what is left behind does.
        }

        Assert.True(faults.Fired.Task.IsCompleted);
        await app.WaitForRunsAsync();
        if (await LockBlob().ExistsAsync())
        {
            Assert.NotEqual(LeaseState.Leased, (await LockBlob().GetPropertiesAsync()).Value.LeaseState);
        }
        if (answer?.Str("status") == "started")
        {
            Assert.Single(_backend.Calls());
        }

        var next = await app.PostAsync(JobCatalog.SopnParse, "?force=true");
        Assert.Equal("started", next.Str("status"));
    }

    // Issue 10, scenario 8: instances whose clocks disagree judge slots by the storage service's clock.
    [Fact]
    public async Task InstancesWithSkewedClocks_DoNotStartOneSlotTwice()
    {
        _backend.Mode = "exit";
        var now = DateTimeOffset.UtcNow;
        if (now.Second is < 3 or > 50)
        {
            await Task.Delay(TimeSpan.FromSeconds(now.Second > 50 ? 63 - now.Second : 3)); // away from the minute's edges
        }

        // One instance's clock is 5 s into the next minute (at most 57 s ahead, within the 2 minutes allowed).
        var ahead = TimeSpan.FromSeconds(65 - DateTimeOffset.UtcNow.Second);
        await using var behind = NewApp();
        await using var skewed = NewApp(services: s => s.AddSingleton<TimeProvider>(new SkewedTime(ahead)));

        var first = await behind.PostAsync(JobCatalog.SopnParse); // "* * * * *"
        await behind.WaitForRunsAsync();
        var second = await skewed.PostAsync(JobCatalog.SopnParse);

        Assert.Equal("started", first.Str("status"));
        Assert.Equal("not_due", second.Str("reason"));
        Assert.Single(_backend.Calls());
    }

    // Issue 10, scenario 4: an identity failure is a storage failure.
    [Theory]
    [InlineData(StorageStep.Read)]
    [InlineData(StorageStep.Acquire)]
    public async Task IdentityFailureBeforeTheStart_Is503WithRetryAfter_AndStartsNothing(StorageStep step)
    {
        var faults = new StorageFaults();
        await using var app = NewApp(faults: faults);
        faults.Arm(step, StorageFault.Identity);

        var answer = await app.PostAsync(JobCatalog.SopnParse);

        Assert.Equal((503, "error"), (answer.Status, answer.Str("status")));
        Assert.False(string.IsNullOrEmpty(answer.Headers.RetryAfter.ToString()));
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Id.Id == 1007);
        Assert.Empty(_backend.Calls());
        Assert.Equal("started", (await app.PostAsync(JobCatalog.SopnParse)).Str("status"));
    }

    [Theory]
    [InlineData(StorageStep.Write, StorageFault.Identity)]
    [InlineData(StorageStep.Release, StorageFault.Identity)]
    [InlineData(StorageStep.Write, StorageFault.Error)]
    [InlineData(StorageStep.Release, StorageFault.Timeout)]
    public async Task FailureOfTheFinalWrites_IsRetried_AndTheOwnerFreesTheLock(StorageStep step, StorageFault fault)
    {
        _backend.Mode = "sleep 1";
        var faults = new StorageFaults();
        await using var app = NewApp(faults: faults);
        var started = await app.PostAsync(JobCatalog.SopnParse);
        faults.Arm(step, fault, skip: step == StorageStep.Write ? faults.Count(StorageStep.Write) - 2 : 0, times: 2);

        await app.WaitForRunsAsync();

        var properties = (await LockBlob().GetPropertiesAsync()).Value;
        Assert.Equal((LeaseState.Available, "ended", "Succeeded"), (properties.LeaseState, properties.Metadata["state"], properties.Metadata["outcome"]));
        Assert.Equal(started.Str("runId"), properties.Metadata["runid"]);
        Assert.True(faults.Fired.Task.IsCompleted);
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
    public async Task LockStoreDown_Is503WithRetryAfter_AndStartsNothing_ThenWorksWhenItIsBack()
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
        Assert.Equal("5", down.Headers.RetryAfter.ToString());
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Id.Id == 1007);
        Assert.Single(_backend.Calls());

        await storage.StartAgainAsync();
        var back = await app.PostAsync(JobCatalog.SopnParse);

        Assert.Equal("started", back.Str("status"));
        Assert.Equal(2, (await _backend.WaitForCallsAsync(2)).Count);
    }

    [Theory]
    [InlineData(5)]  // shorter than the run's lease time: it keeps running and ends normally
    [InlineData(20)] // longer than the lease: its owner renews the expired lease (nobody took it) and records the end
    public async Task StorageDownWhileARunEnds_ItsOwnerRecordsTheEnd_WhenStorageIsBack(int outageSeconds)
    {
        _backend.Mode = "sleep 2";
        var faults = new StorageFaults();
        await using var app = NewApp(faults: faults);
        var started = await app.PostAsync(JobCatalog.SopnParse);
        Assert.Equal("started", started.Str("status"));

        faults.Outage(); // storage unreachable from the app: every request fails to connect
        await Eventually.TrueAsync(() => app.Logs.GetSnapshot().Any(r => r.Id.Id == 1009), TimeSpan.FromSeconds(30), "the run ends");
        await Task.Delay(TimeSpan.FromSeconds(outageSeconds)); // the outage lasts (real time: the lease's clock is the service's)
        faults.Restore();
        await app.WaitForRunsAsync();

        var properties = (await LockBlob().GetPropertiesAsync()).Value;
        Assert.Equal((LeaseState.Available, "ended", "Succeeded"), (properties.LeaseState, properties.Metadata["state"], properties.Metadata["outcome"]));
        Assert.Equal(started.Str("runId"), properties.Metadata["runid"]); // released by its owner, not closed by another
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Id.Id == 2001);
        Assert.Equal("started", (await app.PostAsync(JobCatalog.SopnParse, "?force=true")).Str("status"));
    }

    [Fact]
    public async Task InfiniteLeaseLeftByAnOlderVersion_IsBrokenOnceItsRunIsOver()
    {
        await using var app = NewApp();
        _backend.Mode = "exit";
        await app.PostAsync(JobCatalog.SopnParse); // an ended record
        await app.WaitForRunsAsync();
        await LockBlob().GetBlobLeaseClient().AcquireAsync(BlobLeaseClient.InfiniteLeaseDuration); // the old protocol's lease

        var response = await app.PostAsync(JobCatalog.SopnParse, "?force=true");

        Assert.Equal("started", response.Str("status"));
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Id.Id == 2006);
    }

    [Fact]
    public async Task HolderThatNeverWroteItsRecord_BlocksOnlyUntilItsLeaseExpires()
    {
        await using var app = NewApp();
        _backend.Mode = "exit";
        await app.PostAsync(JobCatalog.SopnParse);
        await app.WaitForRunsAsync();
        await LockBlob().GetBlobLeaseClient().AcquireAsync(Lease); // an acquirer that died before writing

        Assert.Equal("already_running", (await app.PostAsync(JobCatalog.SopnParse, "?force=true")).Str("reason"));
        var (after, elapsed) = await Eventually.ValueAsync(
            () => app.PostAsync(JobCatalog.SopnParse, "?force=true"), r => r.Str("status") == "started", TimeSpan.FromSeconds(30), "the lease expires");

        Assert.InRange(elapsed, TimeSpan.Zero, Lease + TimeSpan.FromSeconds(5));
    }

    /// <summary>After the calls: exactly one run was started, its lock is held by its owner, nothing else runs.</summary>
    private async Task AssertSettledWithOneRunAsync(string runId)
    {
        var properties = (await LockBlob().GetPropertiesAsync()).Value;
        Assert.Equal(LeaseState.Leased, properties.LeaseState);
        Assert.Equal((runId, "running"), (properties.Metadata["runid"], properties.Metadata["state"]));
        Assert.Single(await _backend.WaitForCallsAsync(1));
        Assert.Single(_backend.Calls());
    }

    private TestApp NewApp(IDictionary<string, string?>? settings = null, TimeProvider? time = null, StorageFaults? faults = null, Action<IServiceCollection>? services = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Cron:RateLimit:PermitsPerMinute"] = "100000", // these tests call in tight loops
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        return new(azurite.ConnectionString, _backend.Directory, _container, all, time, s =>
        {
            if (faults is not null)
            {
                s.AddKeyedSingleton<HttpPipelinePolicy>(CronFunctions.CronFunctionsRegistration.StoragePolicyKey, faults);
            }

            services?.Invoke(s);
        });
    }

    private BlobClient LockBlob() => new BlobContainerClient(azurite.ConnectionString, _container).GetBlobClient("sopn-parse");

    /// <summary>The real clock, off by a fixed amount: an instance whose clock is wrong.</summary>
    private sealed class SkewedTime(TimeSpan skew) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + skew;
    }
}
