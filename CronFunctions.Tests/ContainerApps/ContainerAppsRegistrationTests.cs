using CronFunctions.Jobs;
using CronFunctions.Runners;
using CronFunctions.Runners.ContainerApps;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CronFunctions.Tests.ContainerApps;

public sealed class ContainerAppsRegistrationTests
{
    [Fact]
    public void AddContainerAppsRunner_WithoutSettings_ResolvesOneRunnerByKindAndByKey()
    {
        using var provider = Build([]);

        var runners = provider.GetServices<IJobRunner>().ToList();
        var keyed = provider.GetRequiredKeyedService<IJobRunner>("containerapp");

        var runner = Assert.Single(runners);
        Assert.Equal("containerapp", runner.Kind);
        Assert.Same(runner, keyed);
    }

    [Fact]
    public void AddContainerAppsRunner_Twice_RegistersTheRunnerOnce()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddLogging();
        services.AddContainerAppsRunner().AddContainerAppsRunner();
        using var provider = services.BuildServiceProvider();

        Assert.Single(provider.GetServices<IJobRunner>());
    }

    [Fact]
    public async Task StartAsync_WithoutSettings_Fails500AndLogsWhatIsMissing()
    {
        using var provider = Build([]);
        var runner = provider.GetRequiredKeyedService<IJobRunner>("containerapp");
        var request = new RunRequest("run-1", JobCatalog.EeRecent, JobCatalog.EeRecent.Arguments, DateTimeOffset.UtcNow, TimeSpan.FromHours(1), LifelineDeadline: 0);

        var error = await Assert.ThrowsAsync<RunnerException>(() => runner.StartAsync(request, CancellationToken.None));

        Assert.Equal(500, error.StatusCode);
        Assert.Contains("SubscriptionId", error.SafeMessage, StringComparison.Ordinal);
        var record = Assert.Single(provider.GetFakeLogCollector().GetSnapshot(), r => r.Id.Id == 3000);
        Assert.Equal(LogLevel.Error, record.Level);
    }

    [Fact]
    public async Task StartAsync_WithoutAJobName_Fails500NamingTheSetting()
    {
        using var provider = Build(new()
        {
            ["Cron:ContainerApps:SubscriptionId"] = FakeArm.SubscriptionId,
            ["Cron:ContainerApps:ResourceGroup"] = "rg",
        });
        var runner = provider.GetRequiredKeyedService<IJobRunner>("containerapp");
        var request = new RunRequest("run-1", JobCatalog.MopRecent, JobCatalog.MopRecent.Arguments, DateTimeOffset.UtcNow, TimeSpan.FromHours(1), LifelineDeadline: 0);

        var error = await Assert.ThrowsAsync<RunnerException>(() => runner.StartAsync(request, CancellationToken.None));

        Assert.Equal(500, error.StatusCode);
        Assert.Contains("Jobs:MopRecent:JobName", error.SafeMessage, StringComparison.Ordinal);
        Assert.Single(provider.GetFakeLogCollector().GetSnapshot(), r => r.Id.Id == 3001);
    }

    [Fact]
    public void Options_BindPerJobOverridesByFunctionName()
    {
        using var provider = Build(new()
        {
            ["Cron:ContainerApps:SubscriptionId"] = FakeArm.SubscriptionId,
            ["Cron:ContainerApps:ResourceGroup"] = "rg-main",
            ["Cron:ContainerApps:JobName"] = "cron-default",
            ["Cron:ContainerApps:ContainerName"] = "web",
            ["Cron:ContainerApps:Jobs:MopRecent:JobName"] = "cron-big",
            ["Cron:ContainerApps:Jobs:moprecent:ResourceGroup"] = "rg-big",
            ["Cron:ContainerApps:ApiVersion"] = "2025-07-01",
        });

        var options = provider.GetRequiredService<IOptions<ContainerAppsOptions>>().Value;

        Assert.Equal(
            new ContainerAppsJobTarget(FakeArm.SubscriptionId, "rg-big", "cron-big", "web"),
            options.ResolveTarget(JobCatalog.MopRecent, out _));
        Assert.Equal(
            new ContainerAppsJobTarget(FakeArm.SubscriptionId, "rg-main", "cron-default", "web"),
            options.ResolveTarget(JobCatalog.EeRecent, out _));
        Assert.Equal(["python", "manage.py"], options.CommandPrefixParts);
        Assert.Equal("2025-07-01", options.ApiVersion);
    }

    [Theory]
    [InlineData("", new string[0])]
    [InlineData("/app/entrypoint.sh  python manage.py", new[] { "/app/entrypoint.sh", "python", "manage.py" })]
    public void Options_CommandPrefix_IsSplitOnWhitespace_AndMayBeEmpty(string prefix, string[] expected)
    {
        using var provider = Build(new()
        {
            ["Cron:ContainerApps:SubscriptionId"] = FakeArm.SubscriptionId,
            ["Cron:ContainerApps:CommandPrefix"] = prefix,
        });

        Assert.Equal(expected, provider.GetRequiredService<IOptions<ContainerAppsOptions>>().Value.CommandPrefixParts);
    }

    [Theory]
    [InlineData("ResourceManagerEndpoint", "http://management.azure.com", "https")]
    [InlineData("SubscriptionId", "not-a-guid", "SubscriptionId")]
    [InlineData("JobName", "job/../../other", "JobName")]
    [InlineData("Jobs:MopRecent:JobName", "a b", "Jobs:MopRecent:JobName")]
    [InlineData("ApiVersion", "latest", "ApiVersion")]
    [InlineData("StartTimeout", "01:00:00", "StartTimeout")]
    public void Options_InvalidSetting_FailsValidationNamingIt(string key, string value, string expected)
    {
        using var provider = Build(new()
        {
            ["Cron:ContainerApps:SubscriptionId"] = FakeArm.SubscriptionId,
            ["Cron:ContainerApps:" + key] = value,
        });

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ContainerAppsOptions>>().Value);

        Assert.Contains(error.Failures, f => f.Contains(expected, StringComparison.Ordinal));
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddLogging(logging => logging.AddFakeLogging());
        services.AddContainerAppsRunner();
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }
}
