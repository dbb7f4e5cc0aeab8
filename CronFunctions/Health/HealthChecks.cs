using Azure.Storage.Blobs;
using CronFunctions.Security;
using CronFunctions.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CronFunctions.Health;

/// <summary>The lock store answers (a missing container is fine: it is created on first use).</summary>
internal sealed class StorageHealthCheck(BlobServiceClient storage, Locking.BlobJobLock jobLock) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await storage.GetBlobContainerClient(jobLock.ContainerName).ExistsAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy("The lock store is reachable.");
        }
        catch (Exception ex) when (StorageFailure.Is(ex) || ex is OperationCanceledException)
        {
            // The exception goes to the health report's log, not to the caller.
            return HealthCheckResult.Unhealthy("The lock store is unreachable.", ex);
        }
    }
}

/// <summary>A bearer token is configured (without one every call is refused). Says nothing about the token itself.</summary>
internal sealed class TokenHealthCheck(BearerTokenValidator tokens) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(tokens.IsConfigured
            ? HealthCheckResult.Healthy("A bearer token is configured.")
            : HealthCheckResult.Unhealthy($"No bearer token is configured ({TokenOptions.TokenSetting}): every call is refused."));
}
