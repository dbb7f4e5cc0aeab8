using System.ComponentModel.DataAnnotations;

namespace CronFunctions.Jobs;

/// <summary>
/// The <c>Cron</c> settings section: which runner a job uses, its maximum runtime and schedule, and when its health
/// turns failing or overdue. Per-job entries are
/// keyed by <see cref="JobDefinition.FunctionName"/> (<c>Cron__Jobs__MopRecent__Runner</c>) because app setting
/// names cannot hold hyphens.
/// </summary>
internal sealed class CronOptions
{
    public const string Section = "Cron";

    /// <summary>Runner for jobs that do not name one: <c>local</c> (a process) or <c>containerapp</c>.</summary>
    [Required]
    public string DefaultRunner { get; set; } = RunnerKinds.Local;

    /// <summary>How long a run may last before it is killed (local) and its lock taken over.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan DefaultMaxRuntime { get; set; } = TimeSpan.FromHours(2);

    public Dictionary<string, JobOptions> Jobs { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

internal sealed class JobOptions
{
    public string? Runner { get; set; }

    public TimeSpan? MaxRuntime { get; set; }

    /// <summary>A UTC cron expression (5 fields) replacing the spec's schedule.</summary>
    public string? Schedule { get; set; }

    /// <summary>The job is <c>failing</c> when this many of its last finished runs failed in a row (1–<see cref="MaxFailingAfter"/>).</summary>
    public int? FailingAfter { get; set; }

    /// <summary>How long past a missed slot before the job is <c>overdue</c> (1 minute – 7 days).</summary>
    public TimeSpan? OverdueGrace { get; set; }

    public const int MaxFailingAfter = 20;
}

internal static class RunnerKinds
{
    public const string Local = "local";
    public const string ContainerApp = "containerapp";
}
