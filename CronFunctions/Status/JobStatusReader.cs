using System.Globalization;
using CronFunctions.History;
using CronFunctions.Jobs;
using CronFunctions.Runs;

namespace CronFunctions.Status;

/// <summary>
/// Gathers every job's status: its last <see cref="RecentRuns"/> runs (one table query per job), its lock (one blob
/// HEAD per job) and the job summaries (one query), then judges each with <see cref="JobHealth.Evaluate"/>. Thirteen
/// storage requests for six jobs, whatever the history's size. Storage failures propagate.
/// </summary>
internal sealed class JobStatusReader(
    JobSettingsCatalog jobs,
    RunHistory history,
    JobLockView locks,
    TimeProvider timeProvider)
{
    public const int RecentRuns = 50;

    public async Task<StatusReport> ReadAsync(CancellationToken cancellationToken)
    {
        var summariesTask = history.ReadSummariesAsync(cancellationToken);
        var perJob = JobCatalog.All.Select(job => ReadJobAsync(jobs[job], cancellationToken)).ToList();
        await Task.WhenAll(perJob.Cast<Task>().Append(summariesTask)).ConfigureAwait(false);

        var summaries = await summariesTask.ConfigureAwait(false);
        var now = timeProvider.GetUtcNow();
        var statuses = new List<JobStatus>(perJob.Count);
        foreach (var task in perJob)
        {
            var (settings, runs, lockView) = await task.ConfigureAwait(false);
            statuses.Add(Describe(settings, runs, lockView, summaries.GetValueOrDefault(settings.Job.Name), now));
        }

        return new StatusReport(now, statuses);
    }

    private async Task<(JobSettings Settings, IReadOnlyList<RunRecord> Runs, LockView Lock)> ReadJobAsync(JobSettings settings, CancellationToken cancellationToken)
    {
        var runs = history.ListAsync(settings.Job.Name, RecentRuns, cancellationToken);
        var lockView = locks.ReadAsync(settings, cancellationToken);
        return (settings, await runs.ConfigureAwait(false), await lockView.ConfigureAwait(false));
    }

    private static JobStatus Describe(JobSettings settings, IReadOnlyList<RunRecord> runs, LockView lockView, JobSummaryRow? summary, DateTimeOffset now)
    {
        var verdict = JobHealth.Evaluate(settings, runs, lockView, summary?.WatchedSince, now);
        var nextDue = verdict.LastStarted is { } started ? settings.Schedule.GetNextOccurrence(started, TimeZoneInfo.Utc) : null;
        return new JobStatus
        {
            Job = settings.Job.Name,
            Schedule = ScheduleText(settings),
            Runner = settings.Runner,
            Health = verdict.State.ToString().ToLowerInvariant(),
            State = verdict.State,
            HealthSince = verdict.Since,
            HealthReason = verdict.Reason,
            Running = lockView.IsRunning,
            RunningRunId = lockView.RunningRunId,
            LastRun = runs.FirstOrDefault(JobHealth.IsRun),
            LastSuccess = LastSuccessOf(runs, summary),
            NextDue = nextDue,
            Due = !lockView.IsRunning && settings.NextDueAfter(verdict.LastStarted, now) is null,
            LastChecked = summary?.LastCheck?.Time,
            LastCheckDecision = summary?.LastCheck?.Decision,
            OverdueAt = verdict.OverdueAt,
            FailingAfter = verdict.FailingAfter,
            OverdueGrace = verdict.Grace.ToString("c", CultureInfo.InvariantCulture),
            WatchedSince = summary?.WatchedSince,
            RecentRuns = runs,
        };
    }

    /// <summary>The schedule as written in the catalog when it is the catalog's (Cronos would spell <c>*/5</c> as a list).</summary>
    private static string ScheduleText(JobSettings settings) =>
        Cronos.CronExpression.Parse(settings.Job.Schedule, Cronos.CronFormat.Standard).Equals(settings.Schedule)
            ? settings.Job.Schedule
            : settings.Schedule.ToString();

    /// <summary>The newer of the last success among the recent runs and the one the job's summary row remembers.</summary>
    private static LastSuccess? LastSuccessOf(IReadOnlyList<RunRecord> runs, JobSummaryRow? summary)
    {
        var recent = runs.FirstOrDefault(r => JobHealth.IsRun(r) && RunRows.IsSuccess(r.Outcome));
        var fromRuns = recent is null ? null : new LastSuccess(recent.Id, JobHealth.StartOf(recent), recent.Ended, recent.DurationSeconds);
        var fromSummary = summary?.LastSuccessRunId is { } id
            ? new LastSuccess(id, RunRows.TryParseIdTime(id, out var started) ? started : null, summary.LastSuccessEnded, summary.LastSuccessDurationSeconds)
            : null;
        return (fromRuns, fromSummary) switch
        {
            (null, _) => fromSummary,
            (_, null) => fromRuns,
            _ => (fromSummary.Ended ?? DateTimeOffset.MinValue) > (fromRuns.Ended ?? DateTimeOffset.MinValue) ? fromSummary : fromRuns,
        };
    }
}
