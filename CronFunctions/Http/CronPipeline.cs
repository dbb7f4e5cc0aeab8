using System.Globalization;
using CronFunctions.Diagnostics;
using CronFunctions.History;
using CronFunctions.Jobs;
using CronFunctions.Locking;
using CronFunctions.Runners;
using CronFunctions.Runs;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace CronFunctions.Http;

/// <summary>
/// The one request pipeline every cron endpoint hands its job to:
/// gate (method, bearer token, rate limits) → parameters → lock (with the not-due rule) → runner → JSON answer.
/// Refused calls cost nothing beyond the answer (counted by the gate, never stored); skips are answered quietly; every
/// decision about an authenticated call that starts, fails or is refused for its parameters is logged and recorded.
/// </summary>
internal sealed class CronPipeline(
    RequestGate gate,
    JobSettingsCatalog jobs,
    JobLock jobLock,
    RunHistory history,
    ILockClock clock,
    TimeProvider timeProvider,
    ILogger<CronPipeline> logger)
{
    /// <summary>How long a request waits for the run's record to be written before it answers (the supervisor goes on).</summary>
    private static readonly TimeSpan RecordWait = TimeSpan.FromSeconds(5);

    /// <summary>What a caller should wait before trying again after a 503.</summary>
    private static readonly TimeSpan StoreRetryAfter = TimeSpan.FromSeconds(5);

    public async Task<IActionResult> RunAsync(HttpRequest request, JobDefinition job, CancellationToken cancellationToken)
    {
        var refused = gate.Admit(request, job.Name, HttpMethods.Post, out var client);
        if (refused is not null)
        {
            return refused;
        }

        var caller = Caller.From(request, client);

        var id = RunIds.New(timeProvider.GetUtcNow());
        using var scope = logger.BeginScope(new Dictionary<string, object?>
        {
            ["Job"] = job.Name,
            ["CallId"] = id,
            ["CorrelationId"] = caller.CorrelationId,
            ["ScheduledTime"] = caller.ScheduledTime,
        });

        caller = await caller.WithSourceAsync(request, cancellationToken).ConfigureAwait(false);
        var parameters = CronRequestParameters.Parse(request.Query, job, out var problem);
        if (problem is not null)
        {
            Log.BadParameter(logger, job.Name, problem);
            await history.RecordAsync(Record(id, job, RunRecord.Refused, caller, StatusCodes.Status400BadRequest) with { Reason = "bad_parameter", Error = problem }, CancellationToken.None).ConfigureAwait(false);
            return new CronResult(StatusCodes.Status400BadRequest, CronResponse.ClientError(problem));
        }

        var settings = jobs[job];
        LockAttempt attempt;
        try
        {
            attempt = await jobLock.TryAcquireAsync(settings, id, parameters.Force, cancellationToken).ConfigureAwait(false);
        }
        catch (LockUnavailableException ex)
        {
            Log.LockStoreUnavailable(logger, ex, job.Name);
            const string message = "The lock store is unreachable; the job was not started.";
            await history.RecordAsync(Record(id, job, RunRecord.Failed, caller, StatusCodes.Status503ServiceUnavailable) with { Reason = "lock_unavailable", Error = message }, CancellationToken.None).ConfigureAwait(false);
            return Unavailable(job, message);
        }
        catch (AppStoppingException)
        {
            return Unavailable(job, "This app instance is shutting down; the job was not started.");
        }

        switch (attempt)
        {
            case LockAttempt.NotDue notDue:
                Log.SkippedNotDue(logger, job.Name, notDue.NextDue);
                history.NoteChecked(job.Name, "not_due", clock.Now, notDue.LastRunId);
                return new CronResult(StatusCodes.Status200OK, CronResponse.NotDue(job.Name, notDue.NextDue));
            case LockAttempt.Busy busy:
                Log.SkippedAlreadyRunning(logger, job.Name, busy.RunningRunId);
                history.NoteChecked(job.Name, "already_running", clock.Now, busy.RunningRunId);
                return new CronResult(StatusCodes.Status200OK, CronResponse.AlreadyRunning(job.Name, busy.RunningRunId));
            case LockAttempt.Acquired acquired:
                return await StartAsync(settings, acquired.Run, parameters, caller).ConfigureAwait(false);
            default:
                throw new InvalidOperationException($"Unknown lock attempt {attempt}.");
        }
    }

    /// <summary>
    /// Starts the run whose lock the supervisor now owns. From here on the request's cancellation is ignored: the run
    /// (or a lock to give back) must not be abandoned because the caller hung up.
    /// </summary>
    private async Task<IActionResult> StartAsync(JobSettings settings, OwnedRun run, CronRequestParameters parameters, Caller caller)
    {
        var job = settings.Job;
        var runner = run.Runner;
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["RunId"] = run.RunId });
        var record = Record(run.RunId, job, RunRecord.Started, caller, StatusCodes.Status200OK) with
        {
            RunId = run.RunId,
            Runner = runner.Kind,
            Force = parameters.Force,
            Arguments = parameters.Arguments,
        };
        var request = new RunRequest(run.RunId, job, parameters.Arguments, run.Record.Started, settings.MaxRuntime, run.ValidUntil);
        RunStart start;
        try
        {
            start = await runner.StartAsync(request, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            var (status, message) = ex is RunnerException runnerException
                ? (runnerException.StatusCode, runnerException.SafeMessage)
                : (StatusCodes.Status500InternalServerError, "The job could not be started.");
            Log.RunnerFailed(logger, ex, job.Name, run.RunId, runner.Kind, message);
            await run.FailStartAsync(RecordWait).ConfigureAwait(false);
            await history.RecordAsync(record with { Decision = RunRecord.Failed, Reason = "runner_failed", HttpStatus = status, Error = message, Outcome = RunOutcomes.FailedToStart }, CancellationToken.None).ConfigureAwait(false);
            return new CronResult(status, CronResponse.ServerError(job.Name, message) with { RunId = run.RunId });
        }

        switch (start)
        {
            case RunStart.Started started:
                await run.MarkRunningAsync(started.Handle, started.Local, RecordWait).ConfigureAwait(false);
                Log.RunStarted(logger, job.Name, run.RunId, runner.Kind, started.Handle.Id);
                await history.RecordAsync(record with { Handle = started.Handle.Id, Pid = started.Handle.Pid, Execution = started.Handle.Execution }, CancellationToken.None).ConfigureAwait(false);
                return new CronResult(StatusCodes.Status200OK, CronResponse.Started(job.Name, run.RunId, started.Handle.Pid, started.Handle.Execution));

            case RunStart.Unknown unknown:
                await run.MarkUnknownAsync(RecordWait).ConfigureAwait(false);
                Log.StartUnknown(logger, job.Name, run.RunId, unknown.Why);
                await history.RecordAsync(record with { Decision = RunRecord.Failed, Reason = "start_unknown", HttpStatus = unknown.StatusCode, Error = unknown.Why }, CancellationToken.None).ConfigureAwait(false);
                return new CronResult(unknown.StatusCode, CronResponse.ServerError(job.Name, unknown.Why) with { RunId = run.RunId });

            default:
                throw new InvalidOperationException($"Unknown start {start}.");
        }
    }

    private static CronResult Unavailable(JobDefinition job, string message) =>
        new(
            StatusCodes.Status503ServiceUnavailable,
            CronResponse.ServerError(job.Name, message),
            (HeaderNames.RetryAfter, ((int)StoreRetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture)));

    private RunRecord Record(string id, JobDefinition job, string decision, Caller caller, int status) => new()
    {
        Id = id,
        Job = job.Name,
        Decision = decision,
        Time = clock.Now,
        HttpStatus = status,
        Source = caller.Source,
        CfWorker = caller.CfWorker,
        CorrelationId = caller.CorrelationId,
        ScheduledTime = caller.ScheduledTime,
        Client = caller.Client,
    };
}
