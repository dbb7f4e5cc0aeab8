using System.Text.Json.Serialization;
using CronFunctions.Diagnostics;
using CronFunctions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace CronFunctions.Functions;

/// <summary>
/// <c>GET /api/health</c>: 200 when the lock store is reachable and a token is configured, else 503, with each
/// check's status and a safe description. No token needed, no secret shown; rate limited like every endpoint.
/// </summary>
internal sealed class HealthEndpoint(RequestGate gate, HealthCheckService health, ILogger<HealthEndpoint> logger)
{
    [Function(nameof(Health))]
    public async Task<IActionResult> Health(
        [HttpTrigger(AuthorizationLevel.Anonymous, Route = "health")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var refused = gate.Admit(request, "health", HttpMethods.Get, out _, requireToken: false);
        if (refused is not null)
        {
            return refused;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var report = await health.CheckHealthAsync(timeout.Token).ConfigureAwait(false);
        foreach (var (name, entry) in report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy))
        {
            Log.HealthCheckFailed(logger, entry.Exception, name, entry.Description);
        }

        var body = new HealthReportBody(
            report.Status.ToString(),
            report.Entries.ToDictionary(e => e.Key, e => new HealthCheckBody(e.Value.Status.ToString(), e.Value.Description, Math.Round(e.Value.Duration.TotalMilliseconds, 1))),
            typeof(HealthEndpoint).Assembly.GetName().Version?.ToString());
        var status = report.Status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
        return CronResult.Json(status, body, HealthJsonContext.Default.HealthReportBody);
    }
}

internal sealed record HealthReportBody(string Status, IReadOnlyDictionary<string, HealthCheckBody> Checks, string? Version);

internal sealed record HealthCheckBody(string Status, string? Description, double DurationMs);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(HealthReportBody))]
internal sealed partial class HealthJsonContext : JsonSerializerContext;
