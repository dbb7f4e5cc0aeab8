using System.Globalization;
using CronFunctions.Diagnostics;
using CronFunctions.History;
using CronFunctions.Http;
using CronFunctions.Jobs;
using CronFunctions.Runs;
using CronFunctions.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace CronFunctions.Functions;

/// <summary>
/// The run history, for operators: <c>GET /api/cron/runs?job=&amp;limit=</c> (newest first; one table query for one
/// job) and <c>GET /api/cron/runs/{runId}</c> (two point reads). Token required, like the cron endpoints.
/// </summary>
internal sealed class RunsEndpoints(RequestGate gate, RunHistory history, ILogger<RunsEndpoints> logger)
{
    private const int DefaultLimit = 50;
    private const int MaxLimit = 500;

    [Function(nameof(Runs))]
    public async Task<IActionResult> Runs(
        [HttpTrigger(AuthorizationLevel.Anonymous, Route = "cron/runs")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var refused = gate.Admit(request, "runs", HttpMethods.Get, out _);
        if (refused is not null)
        {
            return refused;
        }

        var job = request.Query["job"];
        if (job.Count > 1 || (job.Count == 1 && JobCatalog.Find(job[0] ?? string.Empty) is null))
        {
            return BadRequest($"job must be one of {string.Join(", ", JobCatalog.All.Select(j => j.Name))}.");
        }

        var limit = DefaultLimit;
        var limitText = request.Query["limit"];
        if (limitText.Count > 0 && (limitText.Count > 1
            || !int.TryParse(limitText[0], NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
        {
            return BadRequest($"limit must be a whole number from 1 to {MaxLimit}.");
        }

        try
        {
            var runs = await history.ListAsync(job.Count == 1 ? job[0] : null, limit, cancellationToken).ConfigureAwait(false);
            return CronResult.Json(StatusCodes.Status200OK, new RunList(runs, runs.Count, job.Count == 1 ? job[0] : null), RunJsonContext.Default.RunList);
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            return Unavailable(ex, "list");
        }
    }

    [Function(nameof(RunById))]
    public async Task<IActionResult> RunById(
        [HttpTrigger(AuthorizationLevel.Anonymous, Route = "cron/runs/{runId}")] HttpRequest request,
        string runId,
        CancellationToken cancellationToken)
    {
        var refused = gate.Admit(request, "runs", HttpMethods.Get, out _);
        if (refused is not null)
        {
            return refused;
        }

        if (!RunRows.TryParseIdTime(runId, out _))
        {
            return BadRequest("runId is not a run id (like 20261125T143512Z-3f9a1c2b).");
        }

        try
        {
            var run = await history.GetAsync(runId!, cancellationToken).ConfigureAwait(false);
            return run is null
                ? new CronResult(StatusCodes.Status404NotFound, CronResponse.ClientError($"No run {runId}."))
                : CronResult.Json(StatusCodes.Status200OK, run, RunJsonContext.Default.RunRecord);
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            return Unavailable(ex, "get");
        }
    }

    private CronResult BadRequest(string problem)
    {
        Log.RunsApiRefused(logger, problem);
        return new CronResult(StatusCodes.Status400BadRequest, CronResponse.ClientError(problem));
    }

    private CronResult Unavailable(Exception ex, string operation)
    {
        Log.RunHistoryUnavailable(logger, ex, operation);
        return new CronResult(StatusCodes.Status503ServiceUnavailable, CronResponse.ServerError(job: null, "The run history is unreachable."));
    }
}
