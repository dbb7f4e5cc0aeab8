using CronFunctions.Diagnostics;
using CronFunctions.Jobs;
using CronFunctions.Locking;
using CronFunctions.Runners;
using CronFunctions.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace CronFunctions.Http;

/// <summary>
/// The one request pipeline every cron endpoint hands its job to:
/// method → bearer token → parameters → lock (with the not-due guard) → runner → JSON answer.
/// </summary>
internal sealed class CronPipeline(
    BearerTokenValidator tokens,
    JobSettingsCatalog jobs,
    BlobJobLock jobLock,
    RunnerRegistry runners,
    TimeProvider timeProvider,
    ILogger<CronPipeline> logger)
{
    public const string CorrelationHeader = "X-Correlation-ID";

    public async Task<IActionResult> RunAsync(HttpRequest request, JobDefinition job, CancellationToken cancellationToken)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object?>
        {
            ["Job"] = job.Name,
            ["CorrelationId"] = CorrelationId(request),
        });

        if (!HttpMethods.IsPost(request.Method))
        {
            Log.MethodNotAllowed(logger, job.Name, request.Method);
            return new CronResult(StatusCodes.Status405MethodNotAllowed, CronResponse.ClientError("Method not allowed; use POST."), (HeaderNames.Allow, "POST"));
        }

        var token = tokens.Check(request);
        if (token != TokenCheck.Accepted)
        {
            Log.Refused(logger, job.Name, token.ToString());
            return new CronResult(StatusCodes.Status401Unauthorized, CronResponse.ClientError("Unauthorized"), (HeaderNames.WWWAuthenticate, "Bearer"));
        }

        var parameters = CronRequestParameters.Parse(request.Query, job, out var problem);
        if (problem is not null)
        {
            Log.BadParameter(logger, job.Name, problem);
            return new CronResult(StatusCodes.Status400BadRequest, CronResponse.ClientError(problem));
        }

        var settings = jobs[job];
        var runner = runners.Get(settings.Runner);
        var runId = RunIds.New(timeProvider.GetUtcNow());
        LockAttempt attempt;
        try
        {
            attempt = await jobLock.TryAcquireAsync(settings, runId, parameters.Force, cancellationToken).ConfigureAwait(false);
        }
        catch (LockUnavailableException ex)
        {
            Log.LockStoreUnavailable(logger, ex, job.Name);
            return new CronResult(StatusCodes.Status503ServiceUnavailable, CronResponse.ServerError(job.Name, "The lock store is unreachable; the job was not started."));
        }

        switch (attempt)
        {
            case LockAttempt.NotDue notDue:
                Log.SkippedNotDue(logger, job.Name, notDue.NextDue);
                return new CronResult(StatusCodes.Status200OK, CronResponse.NotDue(job.Name, notDue.NextDue));
            case LockAttempt.Busy busy:
                Log.SkippedAlreadyRunning(logger, job.Name, busy.RunningRunId);
                return new CronResult(StatusCodes.Status200OK, CronResponse.AlreadyRunning(job.Name, busy.RunningRunId));
            case LockAttempt.Acquired acquired:
                return await StartAsync(settings, runner, acquired.Lease, parameters).ConfigureAwait(false);
            default:
                throw new InvalidOperationException($"Unknown lock attempt {attempt}.");
        }
    }

    /// <summary>
    /// Starts the run holding the lock. From here on the request's cancellation is ignored: a started run (or a lock to
    /// give back) must not be abandoned because the caller hung up.
    /// </summary>
    private async Task<IActionResult> StartAsync(JobSettings settings, IJobRunner runner, JobLease lease, CronRequestParameters parameters)
    {
        var job = settings.Job;
        var started = timeProvider.GetUtcNow();
        var request = new RunRequest(lease.RunId, job, parameters.Arguments, started, settings.MaxRuntime, outcome => OnRunEndedAsync(job, lease, outcome));
        RunHandle handle;
        try
        {
            handle = await runner.StartAsync(request, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            var (status, message) = ex is RunnerException runnerException
                ? (runnerException.StatusCode, runnerException.SafeMessage)
                : (StatusCodes.Status500InternalServerError, "The job could not be started.");
            Log.RunnerFailed(logger, ex, job.Name, lease.RunId, runner.Kind, message);
            await ReleaseQuietlyAsync(lease, new RunOutcome("FailedToStart", null, TimeSpan.Zero, [message])).ConfigureAwait(false);
            return new CronResult(status, CronResponse.ServerError(job.Name, message));
        }

        try
        {
            await lease.MarkRunningAsync(handle, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is Azure.RequestFailedException or AggregateException or TimeoutException)
        {
            // The run is going and the lease is held: it is only reported busy until its deadline, never run twice.
            Log.RunHandleNotRecorded(logger, ex, job.Name, lease.RunId);
        }

        Log.RunStarted(logger, job.Name, lease.RunId, runner.Kind, handle.Id);
        return new CronResult(StatusCodes.Status200OK, CronResponse.Started(job.Name, lease.RunId, handle.Pid, handle.Execution));
    }

    private async Task OnRunEndedAsync(JobDefinition job, JobLease lease, RunOutcome outcome)
    {
        Log.RunEnded(logger, job.Name, lease.RunId, outcome.Outcome, outcome.ExitCode, outcome.Duration.TotalSeconds);
        await lease.ReleaseAsync(outcome, CancellationToken.None).ConfigureAwait(false);
    }

    private static async Task ReleaseQuietlyAsync(JobLease lease, RunOutcome outcome)
    {
        try
        {
            await lease.ReleaseAsync(outcome, CancellationToken.None).ConfigureAwait(false);
        }
        catch (LockUnavailableException)
        {
            // Logged by the lease. Its record still says "starting", so the lock is held until the run's deadline:
            // a blocked job is recoverable, a second concurrent run is not.
        }
    }

    private static string? CorrelationId(HttpRequest request)
    {
        var value = request.Headers[CorrelationHeader].ToString();
        // Echoed into logs only: keep it short and printable so a caller cannot forge log lines.
        return value.Length is > 0 and <= 128 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':')
            ? value
            : null;
    }
}
