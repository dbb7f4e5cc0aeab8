using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using CronFunctions.Health;
using CronFunctions.History;
using CronFunctions.Http;
using CronFunctions.Jobs;
using CronFunctions.Locking;
using CronFunctions.Runners;
using CronFunctions.Runners.ContainerApps;
using CronFunctions.Runners.Local;
using CronFunctions.Runs;
using CronFunctions.Security;
using CronFunctions.Status;
using CronFunctions.Storage;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CronFunctions;

/// <summary>The composition root: everything CronFunctions registers, in one place.</summary>
public static class CronFunctionsRegistration
{
    /// <summary>Service key under which <see cref="HttpPipelinePolicy"/> instances are added to the storage clients (locks and history).</summary>
    internal const string StoragePolicyKey = "storage";

    public static FunctionsApplicationBuilder AddCronFunctions(this FunctionsApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddCronFunctions(builder.Configuration);

        // Application Insights as the Functions worker documents it: sends nothing without a connection string
        // (APPLICATIONINSIGHTS_CONNECTION_STRING), so it is a no-op locally.
        builder.Services.AddApplicationInsightsTelemetryWorkerService().ConfigureFunctionsApplicationInsights();
        builder.Logging.Services.Configure<LoggerFilterOptions>(options =>
        {
            // The Application Insights SDK adds a rule that keeps only Warning and above; our decisions are Information.
            var defaultRule = options.Rules.FirstOrDefault(rule =>
                rule.ProviderName == "Microsoft.Extensions.Logging.ApplicationInsights.ApplicationInsightsLoggerProvider");
            if (defaultRule is not null)
            {
                options.Rules.Remove(defaultRule);
            }
        });

        // ASP.NET Core logs two Information events per request (request starting / finished) plus routing ones.
        // With the Warning-only rule gone they would reach Application Insights and the host for every call,
        // refused ones included: measured as the largest share of a refused call's cost under a flood. The
        // host already records each invocation, so the worker keeps ASP.NET Core at Warning unless configured.
        if (builder.Configuration["Logging:LogLevel:Microsoft.AspNetCore"] is null)
        {
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        }

        return builder;
    }

    internal static IServiceCollection AddCronFunctions(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);

        services.AddOptions<TokenOptions>().Configure(o =>
        {
            o.Token = configuration[TokenOptions.TokenSetting];
            o.SecondaryToken = configuration[TokenOptions.SecondaryTokenSetting];
        });
        services.AddSingleton<BearerTokenValidator>();

        services.AddOptions<CronOptions>().BindConfiguration(CronOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<CronOptions>, CronOptionsValidator>();
        services.AddSingleton<JobSettingsCatalog>();

        services.AddOptions<LockOptions>().BindConfiguration(LockOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => BlobServiceClientFactory.Create(configuration, StorageClientOptions.FailFast(new BlobClientOptions(), sp)));
        services.TryAddSingleton<ILockClock, StorageClock>();
        services.AddSingleton(sp => new LockStore(
            sp.GetRequiredService<BlobServiceClient>().GetBlobContainerClient(sp.GetRequiredService<IOptions<LockOptions>>().Value.ContainerName),
            sp.GetRequiredService<ILockClock>(),
            sp.GetRequiredService<ILogger<LockStore>>()));
        services.AddSingleton<JobLock>();
        services.AddSingleton<RunSupervisor>();
        services.AddHostedService(sp => sp.GetRequiredService<RunSupervisor>());

        services.AddOptions<LocalRunnerOptions>().BindConfiguration(LocalRunnerOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<LocalProcessRunner>();
        services.AddSingleton<IJobRunner>(sp => sp.GetRequiredService<LocalProcessRunner>());
        services.AddContainerAppsRunner();
        services.AddSingleton<RunnerRegistry>();

        services.AddRunHistory(configuration);
        services.AddJobStatus();

        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ClientAddressOptions>().BindConfiguration(ClientAddressOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddMetrics();
        services.AddSingleton<ClientRateLimiter>();
        services.AddSingleton<ClientAddress>();
        services.AddSingleton<RefusalCounter>();
        services.AddHostedService(sp => sp.GetRequiredService<RefusalCounter>());
        services.AddSingleton<RequestGate>();

        services.AddHealthChecks()
            .AddCheck<StorageHealthCheck>("storage")
            .AddCheck<TokenHealthCheck>("token");

        services.AddSingleton<CronPipeline>();
        return services;
    }
}
