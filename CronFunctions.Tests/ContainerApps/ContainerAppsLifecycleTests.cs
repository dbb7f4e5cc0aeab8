using System.Text.Json.Nodes;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using CronFunctions.Jobs;
using CronFunctions.Runners.ContainerApps;
using CronFunctions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CronFunctions.Tests.ContainerApps;

/// <summary>
/// A remote run's life, end to end (app + Azurite + a fake ARM): an ambiguous start holds the lock until ARM shows or
/// disproves the execution; a remote run outlives its owner and is adopted by another instance; past its deadline it
/// is stopped through ARM, never overlapped. At no point are two executions of the job running.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ContainerAppsLifecycleTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly FakeBackend _backend = new();
    private readonly string _container = TestApp.NewContainerName();
    private readonly List<TestApp> _apps = [];
    private FakeArm _arm = null!;

    public async Task InitializeAsync() => _arm = await FakeArm.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }

        await _arm.DisposeAsync();
        _backend.Dispose();
    }

    // Issue 10, scenario 3: ARM fails after creating the execution, and does not list it yet.
    [Fact]
    public async Task AmbiguousStart_HoldsTheLock_UntilArmShowsTheExecution_ThenItIsAdopted_AndFreedWhenItEnds()
    {
        var app = NewApp();
        string? ours = null;
        _arm.Handler = async (context, request) =>
        {
            if (!request.Path.EndsWith("/start", StringComparison.Ordinal) || ours is not null)
            {
                return false;
            }

            ours = _arm.AddExecution(JsonNode.Parse(request.Body));
            _arm.Hidden.Add(ours); // not listed yet
            await FakeArm.WriteJsonAsync(context, 500, FakeArm.Error("InternalServerError", "oops"));
            return true;
        };

        var first = await app.PostAsync(JobCatalog.PartiesImport);
        Assert.Equal((502, "error"), (first.Status, first.Str("status")));
        var runId = first.Str("runId");
        Assert.NotNull(runId);
        Assert.Equal("unknown", (await Record()).Metadata["state"]);

        var meanwhile = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => app.PostAsync(JobCatalog.PartiesImport, "?force=true")));
        Assert.All(meanwhile, r => Assert.Equal(("already_running", runId), (r.Str("reason"), r.Str("runId"))));
        Assert.Single(_arm.Posts); // never started again while the first start's outcome is unknown

        _arm.Hidden.Clear(); // ARM lists it now: the owner finds it by its CRON_RUN_ID
        var (adopted, _) = await Eventually.ValueAsync(Record, r => r.Metadata.TryGetValue("state", out var state) && state == "running", TimeSpan.FromSeconds(20), "the execution is adopted");
        Assert.Equal(ours, adopted.Metadata["execution"]);

        _arm.SetExecutionStatus(ours!, "Succeeded");
        await app.WaitForRunsAsync();
        var next = await app.PostAsync(JobCatalog.PartiesImport, "?force=true");

        Assert.Equal("started", next.Str("status"));
        Assert.Equal(2, _arm.Posts.Count);
        Assert.Equal(1, _arm.RunningCount);
    }

    [Fact]
    public async Task AmbiguousStart_ThatArmProvesNeverHappened_FreesTheSlot_TheNextCallStartsIt()
    {
        var app = NewApp(new() { ["Cron:ContainerApps:NotFoundGrace"] = "00:00:02" });
        var refusedOnce = false;
        _arm.Handler = async (context, request) =>
        {
            if (!request.Path.EndsWith("/start", StringComparison.Ordinal) || refusedOnce)
            {
                return false;
            }

            refusedOnce = true;
            context.Abort(); // the connection drops: did ARM create an execution? (it did not)
            await Task.CompletedTask;
            return true;
        };

        var first = await app.PostAsync(JobCatalog.PartiesImport);
        Assert.Equal(502, first.Status);

        await app.WaitForRunsAsync(); // the owner lists the executions after the grace: none carries the run id
        var record = await Record();
        Assert.Equal((LeaseState.Available, "failed"), (record.LeaseState, record.Metadata["state"]));

        var retry = await app.PostAsync(JobCatalog.PartiesImport); // not forced: the slot was never used
        Assert.Equal("started", retry.Str("status"));
        Assert.Equal(2, _arm.Posts.Count);
    }

    // Issue 10, scenario 5: a remote run past its deadline is stopped, not overlapped.
    [Fact]
    public async Task RemoteRunPastItsDeadline_IsStoppedThroughArm_AndOnlyThenIsTheLockFree()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var app = NewApp(new() { ["Cron:Jobs:PartiesImport:MaxRuntime"] = "00:01:00" }, time);
        var first = await app.PostAsync(JobCatalog.PartiesImport);
        var execution = first.Str("execution")!;

        time.Advance(TimeSpan.FromMinutes(2));
        var whileStopping = await app.PostAsync(JobCatalog.PartiesImport, "?force=true");
        await app.WaitForRunsAsync();

        Assert.Equal("already_running", whileStopping.Str("reason"));
        var stop = Assert.Single(_arm.Stops);
        Assert.EndsWith($"/executions/{execution}/stop", stop.Path, StringComparison.Ordinal);
        Assert.Equal("Stopped", _arm.StatusOf(execution));
        var stopped = await Record();
        Assert.Equal(("ended", "Stopped"), (stopped.Metadata["state"], stopped.Metadata["outcome"]));
        Assert.Equal("started", (await app.PostAsync(JobCatalog.PartiesImport, "?force=true")).Str("status"));
        Assert.Equal(1, _arm.RunningCount);
    }

    [Fact]
    public async Task OwnerShutDown_HandsTheRemoteRunOver_AnotherInstanceWatchesItAndFreesTheLock()
    {
        var owner = NewApp();
        var started = await owner.PostAsync(JobCatalog.PartiesImport);
        var execution = started.Str("execution")!;

        _apps.Remove(owner);
        await owner.DisposeAsync(); // graceful: a remote run outlives us, so its lease is released, its record kept
        var handedOver = await Record();
        Assert.Equal((LeaseState.Available, "running"), (handedOver.LeaseState, handedOver.Metadata["state"]));

        var heir = NewApp();
        var adopted = await heir.PostAsync(JobCatalog.PartiesImport, "?force=true");
        Assert.Equal(("already_running", started.Str("runId")), (adopted.Str("reason"), adopted.Str("runId")));
        Assert.Equal(LeaseState.Leased, (await Record()).LeaseState);

        _arm.SetExecutionStatus(execution, "Failed");
        await heir.WaitForRunsAsync();
        var ended = await Record();
        Assert.Equal((LeaseState.Available, "ended", "Failed"), (ended.LeaseState, ended.Metadata["state"], ended.Metadata["outcome"]));
        Assert.Single(_arm.Posts);
    }

    [Fact]
    public async Task OwnerCutOffFromStorage_LosesTheLease_AnotherInstanceAdoptsTheRunningExecution()
    {
        var faults = new StorageFaults();
        var owner = NewApp(faults: faults);
        var started = await owner.PostAsync(JobCatalog.PartiesImport);
        faults.Arm(StorageStep.Renew, StorageFault.Error, times: int.MaxValue); // its renewals all fail from now on

        await owner.WaitForRunsAsync(); // it gives the run up once its lease time is over
        Assert.Contains(owner.Logs.GetSnapshot(), r => r.Id.Id == 2008);

        var heir = NewApp();
        var (adopted, _) = await Eventually.ValueAsync(
            () => heir.PostAsync(JobCatalog.PartiesImport, "?force=true"),
            r => r.Str("reason") == "already_running" && heir.Logs.GetSnapshot().Any(l => l.Id.Id == 2009),
            TimeSpan.FromSeconds(40),
            "another instance adopts the run once the lease expired");
        Assert.Equal(started.Str("runId"), adopted.Str("runId"));
        Assert.Equal(LeaseState.Leased, (await Record()).LeaseState);
        Assert.Single(_arm.Posts);
        Assert.Equal(1, _arm.RunningCount);
    }

    private async Task<BlobProperties> Record() =>
        (await new BlobContainerClient(azurite.ConnectionString, _container).GetBlobClient("parties-import").GetPropertiesAsync()).Value;

    private TestApp NewApp(Dictionary<string, string?>? extra = null, TimeProvider? time = null, StorageFaults? faults = null)
    {
        var settings = _arm.AppSettings();
        settings["Cron:ContainerApps:StartTimeout"] = "00:00:02";
        settings["Cron:ContainerApps:PollInterval"] = "00:00:00.200";
        settings["Cron:RateLimit:PermitsPerMinute"] = "100000";
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }

        var app = new TestApp(azurite.ConnectionString, _backend.Directory, _container, settings, time, s =>
        {
            FakeArm.AddArmClient(s);
            if (faults is not null)
            {
                s.AddKeyedSingleton<HttpPipelinePolicy>(CronFunctions.CronFunctionsRegistration.StoragePolicyKey, faults);
            }
        });
        _apps.Add(app);
        return app;
    }
}
