using System.Text.Json.Serialization;
using CronFunctions.Runs;

namespace CronFunctions.Status;

/// <summary>
/// One job as the status API and the dashboard show it. <see cref="RecentRuns"/> (newest first, up to
/// <see cref="JobStatusReader.RecentRuns"/>) feeds the dashboard and is left out of the JSON.
/// </summary>
internal sealed record JobStatus
{
    public required string Job { get; init; }

    public required string Schedule { get; init; }

    public required string Runner { get; init; }

    /// <summary><c>ok</c>, <c>failing</c> or <c>overdue</c>.</summary>
    public required string Health { get; init; }

    public DateTimeOffset? HealthSince { get; init; }

    public string? HealthReason { get; init; }

    public required bool Running { get; init; }

    public string? RunningRunId { get; init; }

    public RunRecord? LastRun { get; init; }

    public LastSuccess? LastSuccess { get; init; }

    /// <summary>The first scheduled slot after the last start (in the past when the job is due now).</summary>
    public DateTimeOffset? NextDue { get; init; }

    public required bool Due { get; init; }

    public DateTimeOffset? LastChecked { get; init; }

    public string? LastCheckDecision { get; init; }

    /// <summary>When the job turns (or turned) overdue if no run starts before.</summary>
    public DateTimeOffset? OverdueAt { get; init; }

    public required int FailingAfter { get; init; }

    /// <summary>The overdue grace, as <c>hh:mm:ss</c>.</summary>
    public required string OverdueGrace { get; init; }

    public DateTimeOffset? WatchedSince { get; init; }

    [JsonIgnore]
    public HealthState State { get; init; }

    [JsonIgnore]
    public IReadOnlyList<RunRecord> RecentRuns { get; init; } = [];
}

/// <summary>The last run that succeeded.</summary>
internal sealed record LastSuccess(string RunId, DateTimeOffset? Started, DateTimeOffset? Ended, double? DurationSeconds);

/// <summary>The status API's answer.</summary>
internal sealed record StatusReport(DateTimeOffset Time, IReadOnlyList<JobStatus> Jobs);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StatusReport))]
internal sealed partial class StatusJsonContext : JsonSerializerContext;
