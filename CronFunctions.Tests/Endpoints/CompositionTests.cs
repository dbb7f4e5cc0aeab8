using CronFunctions.Functions;
using CronFunctions.History;
using CronFunctions.Http;
using CronFunctions.Jobs;
using CronFunctions.Locking;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CronFunctions.Tests.Endpoints;

/// <summary>
/// The composition root as Program.cs runs it — FunctionsApplication builder, ASP.NET Core integration,
/// AddCronFunctions, Application Insights — builds, validates its options and resolves every function class.
/// (Starting it needs the Functions host's gRPC channel, which only <c>func</c>/Azure provide.)
/// </summary>
public sealed class CompositionTests
{
    [Fact]
    public void TheWorkersHost_Builds_AndResolvesEveryFunctionAndItsSettings()
    {
        var builder = FunctionsApplication.CreateBuilder([]);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["ERIFY_CRON_TOKEN"] = "composition-test-token",
            // What the Functions host passes its worker (the channel is only opened when the host starts).
            ["Functions:Worker:HostEndpoint"] = "http://127.0.0.1:1",
            ["Functions:Worker:WorkerId"] = Guid.NewGuid().ToString(),
            ["Functions:Worker:RequestId"] = Guid.NewGuid().ToString(),
            ["Functions:Worker:GrpcMaxMessageLength"] = "2147483647",
        });
        builder.ConfigureFunctionsWebApplication();
        builder.AddCronFunctions();

        using var host = builder.Build();
        var services = host.Services;

        Assert.NotNull(services.GetRequiredService<CronFunctions.Http.CronPipeline>()); // what the static cron endpoints resolve
        Assert.Contains(services.GetServices<IHostedService>(), s => s is CronFunctions.Runs.RunSupervisor);
        Assert.NotNull(ActivatorUtilities.CreateInstance<RunsEndpoints>(services));
        Assert.NotNull(ActivatorUtilities.CreateInstance<HealthEndpoint>(services));
        Assert.Equal(6, services.GetRequiredService<JobSettingsCatalog>().All.Count());
        Assert.Equal("cron-locks", services.GetRequiredService<IOptions<LockOptions>>().Value.ContainerName);
        Assert.Equal(120, services.GetRequiredService<IOptions<RateLimitOptions>>().Value.PermitsPerMinute);
        Assert.Contains(services.GetServices<IHostedService>(), s => s is RunHistoryWriter);
        Assert.NotNull(ActivatorUtilities.CreateInstance<StatusEndpoints>(services));
        Assert.Equal(2, services.GetServices<CronFunctions.Runners.IJobRunner>().Count());
        Assert.NotNull(services.GetService<Microsoft.ApplicationInsights.TelemetryClient>());
        Assert.NotNull(services.GetService<IOptions<WorkerOptions>>());

        // Our decisions are Information events: the Application Insights SDK's Warning-only default rule is removed.
        var filters = services.GetRequiredService<IOptions<Microsoft.Extensions.Logging.LoggerFilterOptions>>().Value;
        Assert.DoesNotContain(filters.Rules, r => r.ProviderName == "Microsoft.Extensions.Logging.ApplicationInsights.ApplicationInsightsLoggerProvider");

        // ...while ASP.NET Core's per-request Information events are not logged at all (they cost every refused call).
        var loggers = services.GetRequiredService<ILoggerFactory>();
        Assert.True(loggers.CreateLogger("CronFunctions.Http.CronPipeline").IsEnabled(LogLevel.Information));
        Assert.False(loggers.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").IsEnabled(LogLevel.Information));
        Assert.False(loggers.CreateLogger("Microsoft.AspNetCore.Routing.EndpointMiddleware").IsEnabled(LogLevel.Information));
        Assert.True(loggers.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").IsEnabled(LogLevel.Warning));
    }
}
