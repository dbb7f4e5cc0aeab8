using Azure.Storage.Blobs;
using CronFunctions.Locking;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CronFunctions.Status;

internal static class StatusServiceCollectionExtensions
{
    /// <summary>Job health: the lock view, the status reader (API and dashboard) and the monitor (alarm).</summary>
    public static IServiceCollection AddJobStatus(this IServiceCollection services)
    {
        services.AddSingleton(sp => new JobLockView(
            sp.GetRequiredService<BlobServiceClient>().GetBlobContainerClient(sp.GetRequiredService<IOptions<LockOptions>>().Value.ContainerName)));
        services.AddSingleton<JobStatusReader>();
        services.AddSingleton<JobHealthMonitor>();
        return services;
    }
}
