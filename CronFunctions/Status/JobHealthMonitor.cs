using CronFunctions.History;
using CronFunctions.Storage;
using Microsoft.Extensions.Logging;

namespace CronFunctions.Status;

/// <summary>
/// The alarm that needs no caller: run by the timer function every 5 minutes, it judges every job with the same rules
/// as the status API and logs one error event per job that is overdue (4100 <c>JobOverdue</c>) or failing (4101
/// <c>JobFailing</c>), from this category (<c>CronFunctions.Status.JobHealthMonitor</c>), which the infra's alert rule
/// queries. Marks when it began watching each job, the reference for a job that never ran.
/// </summary>
internal sealed class JobHealthMonitor(JobStatusReader reader, RunHistory history, ILogger<JobHealthMonitor> logger)
{
    /// <summary>Judges every job and logs the unhealthy ones; null when storage could not be read (logged: 4102).</summary>
    public async Task<StatusReport?> CheckAsync(CancellationToken cancellationToken)
    {
        StatusReport report;
        try
        {
            report = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && (StorageFailure.Is(ex) || ex is OperationCanceledException))
        {
            StatusLog.HealthUnknown(logger, ex);
            return null;
        }

        foreach (var job in report.Jobs)
        {
            switch (job.State)
            {
                case HealthState.Overdue:
                    StatusLog.JobOverdue(logger, job.Job, job.HealthSince ?? report.Time, job.HealthReason ?? "overdue");
                    break;
                case HealthState.Failing:
                    StatusLog.JobFailing(logger, job.Job, job.HealthSince ?? report.Time, job.HealthReason ?? "failing");
                    break;
                default:
                    break;
            }

            if (job.WatchedSince is null)
            {
                try
                {
                    await history.MarkWatchedAsync(job.Job, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (StorageFailure.Is(ex) || ex is OperationCanceledException)
                {
                    StatusLog.WatchNotMarked(logger, ex, job.Job); // tried again at the next round
                }
            }
        }

        var overdue = report.Jobs.Count(j => j.State == HealthState.Overdue);
        var failing = report.Jobs.Count(j => j.State == HealthState.Failing);
        StatusLog.Checked(logger, report.Jobs.Count, overdue, failing);
        return report;
    }
}

/// <summary>The status and alarm events (range 4100–4199). 4100 and 4101 are queried by the infra's alert rule: keep them.</summary>
internal static partial class StatusLog
{
    [LoggerMessage(EventId = 4100, EventName = "JobOverdue", Level = LogLevel.Error, Message = "Job {Job} is overdue since {Since:O}: {Reason}")]
    public static partial void JobOverdue(ILogger logger, string job, DateTimeOffset since, string reason);

    [LoggerMessage(EventId = 4101, EventName = "JobFailing", Level = LogLevel.Error, Message = "Job {Job} is failing since {Since:O}: {Reason}")]
    public static partial void JobFailing(ILogger logger, string job, DateTimeOffset since, string reason);

    [LoggerMessage(EventId = 4102, EventName = "JobHealthUnknown", Level = LogLevel.Error, Message = "Job health could not be judged: the run history or the locks could not be read")]
    public static partial void HealthUnknown(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4103, EventName = "JobHealthChecked", Level = LogLevel.Information, Message = "Job health checked: {Jobs} jobs, {Overdue} overdue, {Failing} failing")]
    public static partial void Checked(ILogger logger, int jobs, int overdue, int failing);

    [LoggerMessage(EventId = 4104, EventName = "JobWatchNotMarked", Level = LogLevel.Warning, Message = "Could not record when watching {Job} began; trying again next round")]
    public static partial void WatchNotMarked(ILogger logger, Exception exception, string job);

    [LoggerMessage(EventId = 4105, EventName = "StatusUnavailable", Level = LogLevel.Warning, Message = "Status could not be read: {Operation}")]
    public static partial void StatusUnavailable(ILogger logger, Exception exception, string operation);
}
