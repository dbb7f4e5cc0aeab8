using CronFunctions.Jobs;
using CronFunctions.Runners;
using CronFunctions.Runs;
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
    public async Task ProbeAsync_MapsTheExecutionStatus(string executionStatus, string expected, string? outcome)
    {
        var harness = new RunnerHarness(_arm);
        var name = _arm.AddExecution(null, executionStatus);

        var status = await Probe(harness, Handle(name));

        Assert.Equal(expected, status.GetType().Name);
        Assert.Equal(outcome, (status as RunProbe.Ended)?.Outcome);
        var get = Assert.Single(_arm.Requests);
        Assert.Equal(("GET", $"{FakeArm.JobPath}/executions/{name}"), (get.Method, get.Path));
        Assert.Equal("Bearer " + FakeArm.Token, get.Authorization);
        Assert.Equal(ContainerAppsOptions.DefaultApiVersion, get.ApiVersion);
    }

    [Fact]
    public async Task ProbeAsync_ExecutionGone_IsEndedAsNotFound_OnceTheRunIsOld()
    {
        var harness = new RunnerHarness(_arm);

        var status = await Probe(harness, Handle("cron-job-gone"));

        Assert.Equal("NotFound", Assert.IsType<RunProbe.Ended>(status).Outcome);
        Assert.Single(harness.Records(3031));
    }

    [Fact]
    public async Task ProbeAsync_ExecutionGone_IsUnknown_RightAfterTheStart()
    {
        var harness = new RunnerHarness(_arm);

        var status = await Probe(harness, Handle("cron-job-not-listed-yet"), attemptedAgo: TimeSpan.FromSeconds(10));

        Assert.IsType<RunProbe.Unknown>(status);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(503)]
    [InlineData(403)]
    [InlineData(429)]
    public async Task ProbeAsync_ArmError_IsUnknown_NeverEnded(int armStatus)
    {
        var harness = new RunnerHarness(_arm);
        var name = _arm.AddExecution(null, "Succeeded");
        _arm.Handler = async (context, _) =>
        {
            await FakeArm.WriteJsonAsync(context, armStatus, FakeArm.Error("Oops", "failed"), "req-status");
            return true;
        };

        var status = await Probe(harness, Handle(name));

        Assert.IsType<RunProbe.Unknown>(status);
        Assert.Equal("req-status", Assert.Single(harness.Records(3032)).GetStructuredStateValue("RequestId"));
        Assert.DoesNotContain(FakeArm.Token, harness.AllLogText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProbeAsync_ConnectionDropped_IsUnknown()
    {
        var harness = new RunnerHarness(_arm);
        var name = _arm.AddExecution(null, "Succeeded");
        _arm.Handler = (context, _) =>
        {
            context.Abort();
            return Task.FromResult(true);
        };

        var status = await Probe(harness, Handle(name));

        Assert.IsType<RunProbe.Unknown>(status);
        Assert.Single(harness.Records(3034));
    }

    [Fact]
    public async Task ProbeAsync_ReadsAreRetried()
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

        var status = await Probe(harness, Handle(name));

        Assert.IsType<RunProbe.Alive>(status);
        Assert.Equal(2, _arm.Requests.Count);
    }

    [Theory]
    [InlineData("local", "/subscriptions/0b5c8a3e-1111-4222-8333-944444444444/resourceGroups/rg-cron/providers/Microsoft.App/jobs/cron-job/executions/x")]
    [InlineData("containerapp", "12345")]
    [InlineData("containerapp", "/subscriptions/not-a-guid/resourceGroups/rg-cron/providers/Microsoft.App/jobs/cron-job/executions/x")]
    [InlineData("containerapp", "/subscriptions/0b5c8a3e-1111-4222-8333-944444444444/resourceGroups/rg-cron/providers/Microsoft.App/jobs/cron-job/executions/../../other")]
    public async Task ProbeAsync_HandleThatIsNotOurs_IsUnknown_WithoutACall(string runner, string id)
    {
        var harness = new RunnerHarness(_arm);

        var status = await Probe(harness, new RunHandle(runner, id));

        Assert.IsType<RunProbe.Unknown>(status);
        Assert.Empty(_arm.Requests);
        Assert.Single(harness.Records(3033));
    }

    [Fact]
    public async Task ProbeAsync_OnAnotherInstance_NeedsOnlyTheHandle()
    {
        // The lock may ask from another app instance, whose settings name a different job.
        var starter = new RunnerHarness(_arm);
        var handle = await starter.StartAsync(RunnerHarness.Request());
        var elsewhere = new RunnerHarness(_arm, o => { o.JobName = "another-job"; o.ResourceGroup = "another-rg"; });

        var status = await Probe(elsewhere, handle);

        Assert.IsType<RunProbe.Alive>(status);
    }

    private static Task<RunProbe> Probe(RunnerHarness harness, RunHandle handle, TimeSpan? attemptedAgo = null)
    {
        var now = DateTimeOffset.UtcNow;
        return harness.Runner.ProbeAsync(JobCatalog.EeRecent, "run-1", handle, now - (attemptedAgo ?? TimeSpan.FromHours(1)), now, CancellationToken.None);
    }

    private static RunHandle Handle(string execution) => new(
        "containerapp",
        $"/subscriptions/{FakeArm.SubscriptionId}/resourceGroups/{FakeArm.ResourceGroup}/providers/Microsoft.App/jobs/{FakeArm.JobName}/executions/{execution}",
        Execution: execution);
}
