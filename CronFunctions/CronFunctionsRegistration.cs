using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using CronFunctions.Http;
using CronFunctions.Jobs;
using CronFunctions.Locking;
using CronFunctions.Runners;
using CronFunctions.Runners.ContainerApps;
using CronFunctions.Runners.Local;
using CronFunctions.Security;
using CronFunctions.Storage;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CronFunctions;

/// <summary>The composition root: everything CronFunctions registers, in one place.</summary>
public static class CronFunctionsRegistration
{
    /// <summary>Service key under which <see cref="HttpPipelinePolicy"/> instances are added to the lock store's client.</summary>
    internal const string StoragePolicyKey = "storage";

    public static FunctionsApplicationBuilder AddCronFunctions(this FunctionsApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddCronFunctions(builder.Configuration);
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
            .Validate(o => JobSettingsCatalog.Validate(o) is null, "Cron:Jobs is invalid (see the logged error).")
            .ValidateOnStart();
        services.AddSingleton<JobSettingsCatalog>();

        services.AddOptions<LockOptions>().BindConfiguration(LockOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var blobOptions = new BlobClientOptions
            {
                // Fail fast so an unreachable store is a prompt 503, not a request stuck in retries.
                Retry = { MaxRetries = 2, Delay = TimeSpan.FromMilliseconds(200), Mode = RetryMode.Exponential, NetworkTimeout = TimeSpan.FromSeconds(10) },
            };
            // Extra per-call policies (the bench counts storage requests with one).
            foreach (var policy in sp.GetKeyedServices<HttpPipelinePolicy>(StoragePolicyKey))
            {
                blobOptions.AddPolicy(policy, HttpPipelinePosition.PerCall);
            }

            var service = BlobServiceClientFactory.Create(configuration, blobOptions);
            return service.GetBlobContainerClient(sp.GetRequiredService<IOptions<LockOptions>>().Value.ContainerName);
        });
        services.AddSingleton<BlobJobLock>();

        services.AddOptions<LocalRunnerOptions>().BindConfiguration(LocalRunnerOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<LocalProcessRunner>();
        services.AddSingleton<IJobRunner>(sp => sp.GetRequiredService<LocalProcessRunner>());
        services.AddContainerAppsRunner();
        services.AddSingleton<RunnerRegistry>();

        services.AddSingleton<CronPipeline>();
        return services;
    }
}
