using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace CronFunctions.Storage;

/// <summary>What the app's storage clients (the lock's blobs, the history's tables) share.</summary>
internal static class StorageClientOptions
{
    /// <summary>
    /// Fail fast, so that an unreachable store is a prompt 503 (or a write kept for the background retry), not a request
    /// stuck in retries; plus the extra per-call policies registered under
    /// <see cref="CronFunctionsRegistration.StoragePolicyKey"/> (the bench counts storage requests with one).
    /// </summary>
    public static T FailFast<T>(T options, IServiceProvider services)
        where T : ClientOptions
    {
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(200);
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
        foreach (var policy in services.GetKeyedServices<HttpPipelinePolicy>(CronFunctionsRegistration.StoragePolicyKey))
        {
            options.AddPolicy(policy, HttpPipelinePosition.PerCall);
        }

        return options;
    }
}
