using System.Collections.Frozen;
using Cronos;
using Microsoft.Extensions.Options;

namespace CronFunctions.Jobs;

/// <summary>
/// A job's effective settings: the spec's defaults with the <c>Cron</c> section's overrides applied. The health
/// settings stay null when unset: their defaults depend on the schedule (<c>JobHealth</c>).
/// </summary>
internal sealed record JobSettings(
    JobDefinition Job, string Runner, TimeSpan MaxRuntime, CronExpression Schedule, int? FailingAfter = null, TimeSpan? OverdueGrace = null)
{
    /// <summary>
    /// The not-due rule: a call is due when a scheduled time has passed since the last run started (the first call
    /// ever is due). Returns null when due, else the next scheduled time.
    /// </summary>
    public DateTimeOffset? NextDueAfter(DateTimeOffset? lastStarted, DateTimeOffset now)
    {
        if (lastStarted is null)
        {
            return null;
        }

        var next = Schedule.GetNextOccurrence(lastStarted.Value, TimeZoneInfo.Utc);
        return next is null || next <= now ? null : next;
    }
}

/// <summary>Resolves and validates every job's settings once, at start-up.</summary>
internal sealed class JobSettingsCatalog
{
    private readonly FrozenDictionary<string, JobSettings> _byJob;

    public JobSettingsCatalog(IOptions<CronOptions> options)
    {
        _byJob = JobCatalog.All.ToFrozenDictionary(j => j.Name, j => Resolve(j, options.Value), StringComparer.Ordinal);
    }

    public JobSettings this[JobDefinition job] => _byJob[job.Name];

    public IEnumerable<JobSettings> All => _byJob.Values;

    /// <summary>Describes what is wrong with <paramref name="options"/>, or returns null; used by options validation.</summary>
    public static string? Validate(CronOptions options)
    {
        foreach (var key in options.Jobs.Keys)
        {
            if (!JobCatalog.All.Any(j => string.Equals(j.FunctionName, key, StringComparison.OrdinalIgnoreCase)))
            {
                return $"Cron:Jobs:{key} names no job; use one of {string.Join(", ", JobCatalog.All.Select(j => j.FunctionName))}.";
            }
        }

        foreach (var (key, job) in options.Jobs)
        {
            if (job.FailingAfter is < 1 or > JobOptions.MaxFailingAfter)
            {
                return $"Cron:Jobs:{key}:FailingAfter must be from 1 to {JobOptions.MaxFailingAfter}.";
            }

            if (job.OverdueGrace is { } grace && (grace < TimeSpan.FromMinutes(1) || grace > TimeSpan.FromDays(7)))
            {
                return $"Cron:Jobs:{key}:OverdueGrace must be from 00:01:00 to 7.00:00:00.";
            }
        }

        foreach (var job in JobCatalog.All)
        {
            try
            {
                _ = Resolve(job, options);
            }
            catch (Exception ex) when (ex is CronFormatException or ArgumentException)
            {
                return $"Cron:Jobs:{job.FunctionName}: {ex.Message}";
            }
        }

        return null;
    }

    private static JobSettings Resolve(JobDefinition job, CronOptions options)
    {
        options.Jobs.TryGetValue(job.FunctionName, out var overrides);
        var runner = (overrides?.Runner ?? options.DefaultRunner).Trim().ToLowerInvariant();
        if (runner is not (RunnerKinds.Local or RunnerKinds.ContainerApp))
        {
            throw new ArgumentException($"Runner '{runner}' is not one of '{RunnerKinds.Local}', '{RunnerKinds.ContainerApp}'.");
        }

        var maxRuntime = overrides?.MaxRuntime ?? options.DefaultMaxRuntime;
        if (maxRuntime < TimeSpan.FromMinutes(1) || maxRuntime > TimeSpan.FromDays(7))
        {
            throw new ArgumentException($"MaxRuntime {maxRuntime} is outside 00:01:00..7.00:00:00.");
        }

        var schedule = CronExpression.Parse(overrides?.Schedule ?? job.Schedule, CronFormat.Standard);
        return new JobSettings(job, runner, maxRuntime, schedule, overrides?.FailingAfter, overrides?.OverdueGrace);
    }
}

/// <summary>Validates the <c>Cron</c> section at start-up, naming exactly what is wrong.</summary>
internal sealed class CronOptionsValidator : IValidateOptions<CronOptions>
{
    public ValidateOptionsResult Validate(string? name, CronOptions options) =>
        JobSettingsCatalog.Validate(options) is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
}
