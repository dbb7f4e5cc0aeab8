using System.Globalization;
using Cronos;
using CronFunctions.History;
using CronFunctions.Jobs;
using CronFunctions.Runs;

namespace CronFunctions.Status;

/// <summary>A job's health: <c>ok</c>, <c>failing</c> (its last N finished runs failed) or <c>overdue</c> (no run started in time).</summary>
internal enum HealthState
{
    Ok,
    Failing,
    Overdue,
}

/// <summary>
/// The verdict on one job at one moment, with what it was judged on: when the last run started, the slot a run was
/// expected by and when that turns into overdue, the failing threshold and grace that applied.
/// </summary>
internal sealed record JobHealthVerdict(
    HealthState State,
    DateTimeOffset? Since,
    string? Reason,
    DateTimeOffset? LastStarted,
    DateTimeOffset? ExpectedBy,
    DateTimeOffset? OverdueAt,
    int FailingAfter,
    TimeSpan Grace);

/// <summary>
/// The health rules, as one pure function of (job settings, its recent runs, the lock's view, since when it is
/// watched, now) so they are tested as tables on simulated time; the status API, the dashboard and the alarm all use it.
/// <list type="bullet">
/// <item><b>overdue</b>: not running, and now &gt; E + grace, where E is the first scheduled slot after the last
/// start (or, if that run ended after that slot, its end: a run can only be caught up once the previous one ended).
/// With no run ever started, the reference is when the health monitor began watching the job. Grace: per job
/// (<c>OverdueGrace</c>), else twice the schedule's interval, at least 15 minutes and at most 1 hour (every-minute and
/// 5-minute jobs: 15 min; daily jobs: 1 h).</item>
/// <item><b>failing</b>: the last N finished runs all failed (an outcome other than Succeeded, or a start that
/// failed). N per job (<c>FailingAfter</c>), else 3, or 1 for jobs that run at most hourly (a daily job failing once
/// matters that day). Runs still going don't count either way.</item>
/// </list>
/// Overdue wins over failing: it is the more urgent of the two.
/// </summary>
internal static class JobHealth
{
    public const int DefaultFailingAfter = 3;
    public static readonly TimeSpan MinGrace = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan MaxGrace = TimeSpan.FromHours(1);
    private static readonly TimeSpan Hourly = TimeSpan.FromHours(1);

    public static JobHealthVerdict Evaluate(
        JobSettings settings,
        IReadOnlyList<RunRecord> recentRuns,
        LockView lockView,
        DateTimeOffset? watchedSince,
        DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(recentRuns);
        ArgumentNullException.ThrowIfNull(lockView);
        var schedule = settings.Schedule;
        var failingAfter = settings.FailingAfter ?? (SlotLength(schedule, now) >= Hourly ? 1 : DefaultFailingAfter);

        var runs = recentRuns.Where(IsRun).ToList();
        var lastStarted = Max(lockView.LastStarted, runs.Where(r => r.Decision != RunRecord.Failed).Select(r => (DateTimeOffset?)StartOf(r)).Max());
        var lastEnded = runs.Select(r => r.Ended).Max();

        // Overdue
        DateTimeOffset? expected = null;
        DateTimeOffset? overdueAt = null;
        var grace = settings.OverdueGrace ?? DefaultGrace(SlotLength(schedule, now));
        var reference = lastStarted ?? watchedSince;
        if (reference is { } from && schedule.GetNextOccurrence(from, TimeZoneInfo.Utc) is { } slot)
        {
            expected = lastEnded > slot ? lastEnded : slot;
            grace = settings.OverdueGrace ?? DefaultGrace(SlotLength(schedule, slot));
            overdueAt = expected + grace;
            if (!lockView.IsRunning && now > overdueAt)
            {
                var reason = lastStarted is { } started
                    ? $"no run started since {Iso(started)}; one was due by {Iso(expected.Value)} (grace {grace:c})"
                    : $"no run recorded since watching began at {Iso(from)}; one was due by {Iso(expected.Value)} (grace {grace:c})";
                return new JobHealthVerdict(HealthState.Overdue, overdueAt, reason, lastStarted, expected, overdueAt, failingAfter, grace);
            }
        }

        // Failing
        var finished = runs.Where(IsFinished).ToList();
        if (finished.Count >= failingAfter && finished.Take(failingAfter).All(IsFailure))
        {
            var streak = finished.TakeWhile(IsFailure).ToList();
            var latest = finished[0];
            var reason = failingAfter == 1
                ? $"the last finished run failed: {latest.Id}: {Describe(latest)}"
                : $"the last {failingAfter} finished runs failed; latest {latest.Id}: {Describe(latest)}";
            return new JobHealthVerdict(HealthState.Failing, StartOf(streak[^1]), reason, lastStarted, expected, overdueAt, failingAfter, grace);
        }

        return new JobHealthVerdict(HealthState.Ok, null, null, lastStarted, expected, overdueAt, failingAfter, grace);
    }

    /// <summary>Twice the schedule's interval, at least <see cref="MinGrace"/>, at most <see cref="MaxGrace"/>.</summary>
    public static TimeSpan DefaultGrace(TimeSpan slotLength)
    {
        var twice = slotLength * 2;
        return twice < MinGrace ? MinGrace : twice > MaxGrace ? MaxGrace : twice;
    }

    /// <summary>The interval between the schedule's next two slots after <paramref name="at"/>.</summary>
    public static TimeSpan SlotLength(CronExpression schedule, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        var first = schedule.GetNextOccurrence(at, TimeZoneInfo.Utc);
        var second = first is { } f ? schedule.GetNextOccurrence(f, TimeZoneInfo.Utc) : null;
        return first is { } a && second is { } b ? b - a : TimeSpan.FromDays(1);
    }

    /// <summary>A run, or an attempt at one: not a call refused for its parameters.</summary>
    public static bool IsRun(RunRecord record) =>
        record.Decision is RunRecord.Started or RunRecord.Finished or RunRecord.Failed;

    /// <summary>A run that has an outcome, or a start that failed.</summary>
    public static bool IsFinished(RunRecord record) => record.Decision == RunRecord.Failed || record.Outcome is not null;

    public static bool IsFailure(RunRecord record) => record.Decision == RunRecord.Failed || !RunRows.IsSuccess(record.Outcome);

    /// <summary>When a run started: its record's time, or for an end whose start was never stored, the time in its id.</summary>
    public static DateTimeOffset StartOf(RunRecord record) =>
        record.Decision == RunRecord.Finished && RunRows.TryParseIdTime(record.Id, out var started) ? started : record.Time;

    private static string Describe(RunRecord run) =>
        run.Decision == RunRecord.Failed
            ? $"not started ({run.Reason ?? "error"})"
            : run.ExitCode is { } exitCode ? $"{run.Outcome} (exit code {exitCode.ToString(CultureInfo.InvariantCulture)})" : run.Outcome ?? "unknown";

    private static DateTimeOffset? Max(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a > b ? a : b;

    private static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
