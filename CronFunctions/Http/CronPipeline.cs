using CronFunctions.Diagnostics;
using CronFunctions.History;
using CronFunctions.Jobs;
using CronFunctions.Locking;
using CronFunctions.Runners;
using CronFunctions.Runs;
using CronFunctions.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;

namespace CronFunctions.Http;

/// <summary>
/// The one request pipeline every cron endpoint hands its job to:
/// rate limit → method → bearer token → parameters → lock (with the not-due guard) → runner → JSON answer,
/// with every decision logged and recorded in the run history.
/// </summary>
internal sealed class CronPipeline(
    RequestGate gate,
    JobSettingsCatalog jobs,
    BlobJobLock jobLock,
    RunnerRegistry runners,
    RunHistory history,
    TimeProvider timeProvider,
    ILogger<CronPipeline> logger)
{
    public async Task<IActionResult> RunAsync(HttpRequest request, JobDefinition job, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var id = RunIds.New(now);
        var (_, refused, caller) = gate.Admit(request, job.Name, HttpMethods.Post);
        using var scope = logger.BeginScope(new Dictionary<string, object?>
        {
            ["Job"] = job.Name,
            ["CallId"] = id,
            ["CorrelationId"] = caller.CorrelationId,
            ["Client"] = caller.Client,
        });

        if (refused is not null)
        {
            return refused; // refusals are logged and counted, never stored: the history holds authenticated calls only
        }

        caller = await caller.WithSourceAsync(request, cancellationToken).ConfigureAwait(false);
        var parameters = CronRequestParameters.Parse(request.Query, job, out var problem);
        if (problem is not null)
        {
            Log.BadParameter(logger, job.Name, problem);
            await history.RecordAsync(Record(id, job, RunRecord.Refused, now, caller, StatusCodes.Status400BadRequest) with { Reason = "bad_parameter", Error = problem }, CancellationToken.None).ConfigureAwait(false);
            return new CronResult(StatusCodes.Status400BadRequest, CronResponse.ClientError(problem));
        }

        var settings = jobs[job];
        var runner = runners.Get(settings.Runner);
        LockAttempt attempt;
        try
        {
            attempt = await jobLock.TryAcquireAsync(settings, id, parameters.Force, cancellationToken).ConfigureAwait(false);
        }
        catch (LockUnavailableException ex)
        {
            Log.LockStoreUnavailable(logger, ex, job.Name);
            const string message = "The lock store is unreachable; the job was not started.";
            await history.RecordAsync(Record(id, job, RunRecord.Failed, now, caller, StatusCodes.Status503ServiceUnavailable) with { Reason = "lock_unavailable", Error = message }, CancellationToken.None).ConfigureAwait(false);
            return new CronResult(StatusCodes.Status503ServiceUnavailable, CronResponse.ServerError(job.Name, message));
        }

        switch (attempt)
        {
            case LockAttempt.NotDue notDue:
                Log.SkippedNotDue(logger, job.Name, notDue.NextDue);
                history.NoteChecked(job.Name, "not_due", now, notDue.LastRunId);
                return new CronResult(StatusCodes.Status200OK, CronResponse.NotDue(job.Name, notDue.NextDue));
            case LockAttempt.Busy busy:
                Log.SkippedAlreadyRunning(logger, job.Name, busy.RunningRunId);
                history.NoteChecked(job.Name, "already_running", now, busy.RunningRunId);
                return new CronResult(StatusCodes.Status200OK, CronResponse.AlreadyRunning(job.Name, busy.RunningRunId));
            case LockAttempt.Acquired acquired:
                return await StartAsync(settings, runner, acquired.Lease, parameters, caller).ConfigureAwait(false);
            default:
                throw new InvalidOperationException($"Unknown lock attempt {attempt}.");
        }
    }

    /// <summary>
    /// Starts the run holding the lock. From here on the request's cancellation is ignored: a started run (or a lock to
    /// give back) must not be abandoned because the caller hung up.
    /// </summary>
    private async Task<IActionResult> StartAsync(JobSettings settings, IJobRunner runner, JobLease lease, CronRequestParameters parameters, Caller caller)
    {
        var job = settings.Job;
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["RunId"] = lease.RunId });
        var started = timeProvider.GetUtcNow();
        var record = Record(lease.RunId, job, RunRecord.Started, started, caller, StatusCodes.Status200OK) with
        {
            RunId = lease.RunId,
            Runner = runner.Kind,
            Force = parameters.Force,
            Arguments = parameters.Arguments,
        };
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
            await history.RecordAsync(record with { Decision = RunRecord.Failed, Reason = "runner_failed", HttpStatus = status, Error = message }, CancellationToken.None).ConfigureAwait(false);
            await ReleaseAfterFailedStartAsync(lease, new RunOutcome("FailedToStart", null, TimeSpan.Zero, [message])).ConfigureAwait(false);
            return new CronResult(status, CronResponse.ServerError(job.Name, message));
        }

        try
        {
            await lease.MarkRunningAsync(handle, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            // The run is going and the lease is held: until the handle is written it is reported busy (never run
            // twice), and it would stay so until its deadline; keep trying in the background.
            Log.RunHandleNotRecorded(logger, ex, job.Name, lease.RunId);
            _ = Task.Run(() => RetryUntilDeadlineAsync(lease, ct => lease.MarkRunningAsync(handle, ct)), CancellationToken.None);
        }

        Log.RunStarted(logger, job.Name, lease.RunId, runner.Kind, handle.Id);
        await history.RecordAsync(record with { Handle = handle.Id, Pid = handle.Pid, Execution = handle.Execution }, CancellationToken.None).ConfigureAwait(false);
        return new CronResult(StatusCodes.Status200OK, CronResponse.Started(job.Name, lease.RunId, handle.Pid, handle.Execution));
    }

    private async Task OnRunEndedAsync(JobDefinition job, JobLease lease, RunOutcome outcome)
    {
        var now = timeProvider.GetUtcNow();
        Log.RunEnded(logger, job.Name, lease.RunId, outcome.Outcome, outcome.ExitCode, outcome.Duration.TotalSeconds);
        await history.RecordAsync(RunRecord.EndOf(lease.RunId, job.Name, now, outcome.Outcome) with
        {
            ExitCode = outcome.ExitCode,
            DurationSeconds = Math.Round(outcome.Duration.TotalSeconds, 3),
            LastLines = outcome.LastLines,
        }, CancellationToken.None).ConfigureAwait(false);
        await RetryUntilDeadlineAsync(lease, ct => lease.ReleaseAsync(outcome, ct)).ConfigureAwait(false);
    }

    /// <summary>
    /// Retries a lock write through a storage outage (backing off up to a minute), until the run's deadline: past it
    /// the lock is taken over anyway. A local run on another host can only be freed by its own instance's release,
    /// so giving up early would block the job until the deadline.
    /// </summary>
    private async Task RetryUntilDeadlineAsync(JobLease lease, Func<CancellationToken, Task> write)
    {
        var delay = TimeSpan.FromSeconds(1);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await write(CancellationToken.None).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is LockUnavailableException || StorageFailure.Is(ex))
            {
                if (timeProvider.GetUtcNow() + delay >= lease.Deadline)
                {
                    // Past the deadline the lock is taken over anyway; say so rather than fail silently.
                    Log.LockWriteGaveUp(logger, ex, lease.JobName, lease.RunId, attempt, lease.Deadline);
                    return;
                }

                Log.LockWriteRetrying(logger, ex, lease.JobName, lease.RunId, attempt, delay.TotalSeconds);
                await Task.Delay(delay, CancellationToken.None).ConfigureAwait(false); // real time: waiting out an outage
                delay = TimeSpan.FromSeconds(Math.Min(delay.TotalSeconds * 2, 60));
            }
        }
    }

    /// <summary>Gives the lock back after a failed start: at once if storage answers, else by retries in the background.</summary>
    private async Task ReleaseAfterFailedStartAsync(JobLease lease, RunOutcome outcome)
    {
        try
        {
            await lease.ReleaseAsync(outcome, CancellationToken.None).ConfigureAwait(false);
        }
        catch (LockUnavailableException)
        {
            // Logged by the lease. Until a retry succeeds the record says "starting": busy, never a second run.
            _ = Task.Run(() => RetryUntilDeadlineAsync(lease, ct => lease.ReleaseAsync(outcome, ct)), CancellationToken.None);
        }
    }

    private static RunRecord Record(string id, JobDefinition job, string decision, DateTimeOffset time, Caller caller, int status) => new()
    {
        Id = id,
        Job = job.Name,
        Decision = decision,
        Time = time,
        HttpStatus = status,
        Source = caller.Source,
        CfWorker = caller.CfWorker,
        CorrelationId = caller.CorrelationId,
        Client = caller.Client,
        ScheduledTime = caller.ScheduledTime,
    };
}
