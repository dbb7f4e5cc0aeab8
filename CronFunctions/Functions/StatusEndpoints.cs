using CronFunctions.Http;
using CronFunctions.Status;
using CronFunctions.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace CronFunctions.Functions;

/// <summary>
/// The operator's view of every job: <c>GET /api/cron/status</c> (JSON, bearer token like the runs API),
/// <c>GET /api/cron/dashboard</c> (an HTML page behind a function key, so the portal's "Get function URL" opens it),
/// and the timer that raises the alarm every 5 minutes whether or not anyone calls the app.
/// </summary>
internal sealed class StatusEndpoints(RequestGate gate, JobStatusReader reader, JobHealthMonitor monitor, ILogger<StatusEndpoints> logger)
{
    /// <summary>Every 5 minutes, on the Functions host's own timer (one instance at a time, via AzureWebJobsStorage).</summary>
    public const string MonitorSchedule = "0 */5 * * * *";

    [Function(nameof(JobStatus))]
    public async Task<IActionResult> JobStatus(
        [HttpTrigger(AuthorizationLevel.Anonymous, Route = "cron/status")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var refused = gate.Admit(request, "status", HttpMethods.Get, out _);
        if (refused is not null)
        {
            return refused;
        }

        try
        {
            var report = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return CronResult.Json(StatusCodes.Status200OK, report, StatusJsonContext.Default.StatusReport);
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            StatusLog.StatusUnavailable(logger, ex, "status");
            return new CronResult(StatusCodes.Status503ServiceUnavailable, CronResponse.ServerError(job: null, "The run history or the locks are unreachable."));
        }
    }

    [Function(nameof(Dashboard))]
    public async Task<IActionResult> Dashboard(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "cron/dashboard")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var refused = gate.Admit(request, "dashboard", HttpMethods.Get, out _, requireToken: false);
        if (refused is not null)
        {
            return refused;
        }

        try
        {
            var report = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return new DashboardResult(StatusCodes.Status200OK, DashboardPage.Render(report));
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            StatusLog.StatusUnavailable(logger, ex, "dashboard");
            return new DashboardResult(StatusCodes.Status503ServiceUnavailable,
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>CronFunctions</title></head>" +
                "<body><h1>CronFunctions</h1><p>The run history or the locks are unreachable; try again in a minute.</p></body></html>");
        }
    }

    [Function(nameof(HealthMonitor))]
    public Task HealthMonitor([TimerTrigger(MonitorSchedule)] TimerInfo timer, CancellationToken cancellationToken) =>
        monitor.CheckAsync(cancellationToken);
}
