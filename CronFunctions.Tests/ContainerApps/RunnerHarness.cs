using CronFunctions.Jobs;
using CronFunctions.Runners;
using CronFunctions.Runners.ContainerApps;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace CronFunctions.Tests.ContainerApps;

/// <summary>A runner wired to a <see cref="FakeArm"/> through the real ARM client, with captured logs.</summary>
internal sealed class RunnerHarness
{
    public RunnerHarness(FakeArm arm, Action<ContainerAppsOptions>? configure = null)
    {
        Options = new ContainerAppsOptions
        {
            SubscriptionId = FakeArm.SubscriptionId,
            ResourceGroup = FakeArm.ResourceGroup,
            JobName = FakeArm.JobName,
            ResourceManagerEndpoint = arm.Endpoint,
            NetworkTimeout = TimeSpan.FromSeconds(5),
            StartTimeout = TimeSpan.FromSeconds(5),
            PollInterval = TimeSpan.FromMilliseconds(50),
            MaxReadRetries = 1,
            RetryDelay = TimeSpan.FromMilliseconds(10),
        };
        configure?.Invoke(Options);

        var options = Microsoft.Extensions.Options.Options.Create(Options);
        var client = new ArmContainerAppsClient(options, _ => Credential, TimeProvider.System, new LoopbackHttpsTransport());
        Runner = new ContainerAppsRunner(options, client, new FakeLogger<ContainerAppsRunner>(Logs), TimeProvider.System);
    }

    public ContainerAppsOptions Options { get; }

    public FakeTokenCredential Credential { get; } = new();

    public FakeLogCollector Logs { get; } = new();

    public ContainerAppsRunner Runner { get; }

    public static RunRequest Request(JobDefinition? job = null, IReadOnlyList<string>? arguments = null, string? runId = null)
    {
        job ??= JobCatalog.EeRecent;
        return new RunRequest(
            runId ?? $"run-{Guid.NewGuid():n}",
            job,
            arguments ?? job.Arguments,
            DateTimeOffset.UtcNow,
            TimeSpan.FromHours(2),
            LifelineDeadline: 0);
    }

    /// <summary>Starts and returns the started run's handle (fails the test for any other answer).</summary>
    public async Task<RunHandle> StartAsync(RunRequest request) =>
        Assert.IsType<RunStart.Started>(await Runner.StartAsync(request, CancellationToken.None)).Handle;

    public IReadOnlyList<FakeLogRecord> Records(int eventId) =>
        Logs.GetSnapshot().Where(r => r.Id.Id == eventId).ToList();

    /// <summary>Everything logged, as text: message, structured values, scopes and exceptions.</summary>
    public string AllLogText() => string.Join(
        "\n",
        Logs.GetSnapshot().Select(r => string.Join(
            " | ",
            r.Message,
            string.Join(",", r.StructuredState?.Select(kv => $"{kv.Key}={kv.Value}") ?? []),
            r.Exception?.ToString())));
}
