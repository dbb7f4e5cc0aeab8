using Azure.Storage.Blobs;
using CronFunctions.Security;
using CronFunctions.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CronFunctions.Health;

/// <summary>The lock store answers (a missing container is fine: it is created on first use).</summary>
internal sealed class StorageHealthCheck(BlobServiceClient storage, Locking.LockStore locks) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await storage.GetBlobContainerClient(locks.ContainerName).ExistsAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy("The lock store is reachable.");
        }
        catch (Exception ex) when (StorageFailure.Is(ex) || ex is OperationCanceledException)
        {
            // The exception goes to the health report's log, not to the caller.
            return HealthCheckResult.Unhealthy("The lock store is unreachable.", ex);
        }
    }
}

/// <summary>
/// A usable bearer token is configured (without one every call is refused); a configured but unusable setting (an
/// unresolved Key Vault reference, too short) is named with the reason. Says nothing about the tokens themselves.
/// </summary>
internal sealed class TokenHealthCheck(BearerTokenValidator tokens) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var problems = string.Join("; ", tokens.Problems.Select(p => $"{p.Setting}: {TokenRules.Describe(p.Problem)}"));
        return Task.FromResult(
            !tokens.IsConfigured ? HealthCheckResult.Unhealthy($"No usable bearer token is configured ({problems}): every call is refused.")
            : problems.Length > 0 ? HealthCheckResult.Degraded($"A bearer token is configured, but {problems}.")
            : HealthCheckResult.Healthy("A bearer token is configured."));
    }
}
