using CronFunctions.Runners;
using CronFunctions.Runners.ContainerApps;

namespace CronFunctions.Tests.ContainerApps;

public sealed class ContainerAppsRunnerStatusTests : IAsyncLifetime
{
    private FakeArm _arm = null!;

    public async Task InitializeAsync() => _arm = await FakeArm.StartAsync();

    public async Task DisposeAsync() => await _arm.DisposeAsync();

    [Theory]
    [InlineData("Running", "Alive", null)]
    [InlineData("Processing", "Alive", null)]
    [InlineData("Succeeded", "Ended", "Succeeded")]
    [InlineData("Failed", "Ended", "Failed")]
    [InlineData("Stopped", "Ended", "Stopped")]
    [InlineData("Degraded", "Ended", "Degraded")]
    [InlineData("Unknown", "Unknown", null)]
    [InlineData("SomethingNew", "Unknown", null)]
    public async Task GetStatusAsync_MapsTheExecutionStatus(string executionStatus, string expected, string? outcome)
    {
        var harness = new RunnerHarness(_arm);
        var name = _arm.AddExecution(null, executionStatus);

        var status = await harness.Runner.GetStatusAsync(Handle(name), CancellationToken.None);

        Assert.Equal(Enum.Parse<RunLiveness>(expected), status.Liveness);
        Assert.Equal(outcome, status.Outcome);
        var get = Assert.Single(_arm.Requests);
        Assert.Equal(("GET", $"{FakeArm.JobPath}/executions/{name}"), (get.Method, get.Path));
        Assert.Equal("Bearer " + FakeArm.Token, get.Authorization);
        Assert.Equal(ContainerAppsOptions.DefaultApiVersion, get.ApiVersion);
    }

    [Fact]
    public async Task GetStatusAsync_ExecutionGone_IsEndedAsNotFound()
    {
        var harness = new RunnerHarness(_arm);

        var status = await harness.Runner.GetStatusAsync(Handle("cron-job-gone"), CancellationToken.None);

        Assert.Equal(new RunStatus(RunLiveness.Ended, "NotFound"), status);
        Assert.Single(harness.Records(3031));
    }

    [Theory]
    [InlineData(500)]
    [InlineData(503)]
    [InlineData(403)]
    [InlineData(429)]
    public async Task GetStatusAsync_ArmError_IsUnknown_NeverEnded(int armStatus)
    {
        var harness = new RunnerHarness(_arm);
        var name = _arm.AddExecution(null, "Succeeded");
        _arm.Handler = async (context, _) =>
        {
            await FakeArm.WriteJsonAsync(context, armStatus, FakeArm.Error("Oops", "failed"), "req-status");
            return true;
        };

        var status = await harness.Runner.GetStatusAsync(Handle(name), CancellationToken.None);

        Assert.Equal(RunLiveness.Unknown, status.Liveness);
        Assert.Equal("req-status", Assert.Single(harness.Records(3032)).GetStructuredStateValue("RequestId"));
        Assert.DoesNotContain(FakeArm.Token, harness.AllLogText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetStatusAsync_ConnectionDropped_IsUnknown()
    {
        var harness = new RunnerHarness(_arm);
        var name = _arm.AddExecution(null, "Succeeded");
        _arm.Handler = (context, _) =>
        {
            context.Abort();
            return Task.FromResult(true);
        };

        var status = await harness.Runner.GetStatusAsync(Handle(name), CancellationToken.None);

        Assert.Equal(RunLiveness.Unknown, status.Liveness);
        Assert.Single(harness.Records(3034));
    }

    [Fact]
    public async Task GetStatusAsync_ReadsAreRetried()
    {
        var harness = new RunnerHarness(_arm, o => o.MaxReadRetries = 2);
        var name = _arm.AddExecution(null, "Running");
        var calls = 0;
        _arm.Handler = async (context, _) =>
        {
            if (Interlocked.Increment(ref calls) > 1)
            {
                return false;
            }

            await FakeArm.WriteJsonAsync(context, 503, null);
            return true;
        };

        var status = await harness.Runner.GetStatusAsync(Handle(name), CancellationToken.None);

        Assert.Equal(RunLiveness.Alive, status.Liveness);
        Assert.Equal(2, _arm.Requests.Count);
    }

    [Theory]
    [InlineData("local", "/subscriptions/0b5c8a3e-1111-4222-8333-944444444444/resourceGroups/rg-cron/providers/Microsoft.App/jobs/cron-job/executions/x")]
    [InlineData("containerapp", "12345")]
    [InlineData("containerapp", "/subscriptions/not-a-guid/resourceGroups/rg-cron/providers/Microsoft.App/jobs/cron-job/executions/x")]
    [InlineData("containerapp", "/subscriptions/0b5c8a3e-1111-4222-8333-944444444444/resourceGroups/rg-cron/providers/Microsoft.App/jobs/cron-job/executions/../../other")]
    public async Task GetStatusAsync_HandleThatIsNotOurs_IsUnknown_WithoutACall(string runner, string id)
    {
        var harness = new RunnerHarness(_arm);

        var status = await harness.Runner.GetStatusAsync(new RunHandle(runner, id), CancellationToken.None);

        Assert.Equal(RunLiveness.Unknown, status.Liveness);
        Assert.Empty(_arm.Requests);
        Assert.Single(harness.Records(3033));
    }

    [Fact]
    public async Task GetStatusAsync_OnAnotherInstance_NeedsOnlyTheHandle()
    {
        // The lock may ask from another app instance, whose settings name a different job.
        var starter = new RunnerHarness(_arm);
        var handle = await starter.Runner.StartAsync(starter.Request(), CancellationToken.None);
        var elsewhere = new RunnerHarness(_arm, o => { o.JobName = "another-job"; o.ResourceGroup = "another-rg"; });

        var status = await elsewhere.Runner.GetStatusAsync(handle, CancellationToken.None);

        Assert.Equal(RunLiveness.Alive, status.Liveness);
    }

    private static RunHandle Handle(string execution) => new(
        "containerapp",
        $"/subscriptions/{FakeArm.SubscriptionId}/resourceGroups/{FakeArm.ResourceGroup}/providers/Microsoft.App/jobs/{FakeArm.JobName}/executions/{execution}",
        Execution: execution);
}
