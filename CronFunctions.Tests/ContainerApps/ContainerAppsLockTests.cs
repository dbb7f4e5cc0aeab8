using CronFunctions.Jobs;
using CronFunctions.Tests.Infrastructure;

namespace CronFunctions.Tests.ContainerApps;

/// <summary>
/// The whole app with the Container Apps runner against a fake ARM and real Azurite: the execution's status is how
/// the lock knows the run is alive — Running blocks a second run, Succeeded frees the lock.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ContainerAppsLockTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private FakeArm _arm = null!;
    private TestApp _app = null!;
    private readonly FakeBackend _backend = new();

    public async Task InitializeAsync()
    {
        _arm = await FakeArm.StartAsync();
        _app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName(), _arm.AppSettings(), services: FakeArm.AddArmClient);
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _arm.DisposeAsync();
        _backend.Dispose();
    }

    [Fact]
    public async Task RunningExecution_BlocksASecondRun_SucceededOneFreesTheLock()
    {
        var first = await _app.PostAsync(JobCatalog.PartiesImport);
        Assert.Equal(200, first.Status);
        Assert.Equal("started", first.Str("status"));
        var execution = first.Str("execution");
        Assert.Equal(Assert.Single(_arm.ExecutionNames), execution);
        Assert.Null(first.Int("pid"));

        var concurrent = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => _app.PostAsync(JobCatalog.PartiesImport, "?force=true")));
        Assert.All(concurrent, r => Assert.Equal("already_running", r.Str("reason")));
        Assert.All(concurrent, r => Assert.Equal(first.Str("runId"), r.Str("runId")));
        Assert.Single(_arm.Posts);

        _arm.SetExecutionStatus(execution!, "Succeeded");
        await _app.WaitForRunsAsync(); // its owner sees the execution end, records it and frees the lock
        var next = await _app.PostAsync(JobCatalog.PartiesImport, "?force=true");

        Assert.Equal("started", next.Str("status"));
        Assert.NotEqual(execution, next.Str("execution"));
        Assert.Equal(2, _arm.Posts.Count);
        Assert.Empty(_backend.Calls()); // the container runner never starts a local process
    }

    [Fact]
    public async Task ArmRefusingTheStart_Is5xxJson_AndLeavesTheLockFree()
    {
        _arm.Handler = async (context, request) =>
        {
            if (request.Method != "POST")
            {
                return false;
            }

            await FakeArm.WriteJsonAsync(context, 403, FakeArm.Error("AuthorizationFailed", "no"), "req-403");
            return true;
        };

        var refused = await _app.PostAsync(JobCatalog.PartiesImport);
        Assert.Equal(500, refused.Status);
        Assert.Equal("error", refused.Str("status"));

        _arm.Handler = null;
        var retry = await _app.PostAsync(JobCatalog.PartiesImport, "?force=true");
        Assert.Equal("started", retry.Str("status"));
    }
}
