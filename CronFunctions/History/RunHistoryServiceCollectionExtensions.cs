using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using CronFunctions.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CronFunctions.History;

internal static class RunHistoryServiceCollectionExtensions
{
    /// <summary>The run history: its settings, table client (from <c>AzureWebJobsStorage</c>), store and background writer.</summary>
    public static IServiceCollection AddRunHistory(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RunHistoryOptions>().BindConfiguration(RunHistoryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var tableOptions = new TableClientOptions
            {
                // Fail fast, like the lock store: a write that fails is kept for the background retry, not waited on.
                Retry = { MaxRetries = 2, Delay = TimeSpan.FromMilliseconds(200), Mode = RetryMode.Exponential, NetworkTimeout = TimeSpan.FromSeconds(10) },
            };

            // The same extra per-call policies as the blob client (the bench counts storage requests with one).
            foreach (var policy in sp.GetKeyedServices<HttpPipelinePolicy>(CronFunctionsRegistration.StoragePolicyKey))
            {
                tableOptions.AddPolicy(policy, HttpPipelinePosition.PerCall);
            }

            return TableServiceClientFactory.Create(configuration, tableOptions);
        });
        services.AddSingleton<RunTable>();
        services.AddSingleton<PendingRecords>();
        services.AddSingleton<JobChecks>();
        services.AddSingleton<RunHistory>();
        services.AddSingleton<RunHistoryWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<RunHistoryWriter>());
        return services;
    }
}
