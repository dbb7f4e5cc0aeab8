using System.Text.Json.Serialization;

namespace CronFunctions.Runs;

/// <summary>
/// One decision the app made about a call, or the end of a run, as stored in the run history (one JSON line each).
/// <see cref="Id"/> is the call's own id; <see cref="RunId"/> names the run the decision is about (for a skip, the
/// run that is already going). Never holds a secret: the token is not part of any record.
/// </summary>
internal sealed record RunRecord
{
    public required string Id { get; init; }

    public required string Job { get; init; }

    /// <summary><c>started</c>, <c>skipped</c>, <c>refused</c>, <c>error</c> or <c>ended</c>.</summary>
    public required string Decision { get; init; }

    public string? Reason { get; init; }

    public string? RunId { get; init; }

    public required DateTimeOffset Time { get; init; }

    public int? HttpStatus { get; init; }

    public string? Runner { get; init; }

    public string? Handle { get; init; }

    public int? Pid { get; init; }

    public string? Execution { get; init; }

    public DateTimeOffset? NextDue { get; init; }

    public bool? Force { get; init; }

    public IReadOnlyList<string>? Arguments { get; init; }

    public DateTimeOffset? Ended { get; init; }

    public string? Outcome { get; init; }

    public int? ExitCode { get; init; }

    public double? DurationSeconds { get; init; }

    public IReadOnlyList<string>? LastLines { get; init; }

    public string? Error { get; init; }

    public string? Source { get; init; }

    public string? CfWorker { get; init; }

    public string? CorrelationId { get; init; }

    public string? Client { get; init; }

    /// <summary>The slot the caller says it fired for (its <c>X-Scheduled-Time</c> header, as sent), to tell triggers apart.</summary>
    public string? ScheduledTime { get; init; }

    /// <summary>The end of run <paramref name="runId"/>, filed under the run's own id so it merges into its start.</summary>
    public static RunRecord EndOf(string runId, string job, DateTimeOffset time, string outcome) => new()
    {
        Id = runId,
        Job = job,
        Decision = Finished,
        RunId = runId,
        Time = time,
        Ended = time,
        Outcome = outcome,
    };

    public const string Started = "started";
    public const string Skipped = "skipped";
    public const string Refused = "refused";
    public const string Failed = "error";
    public const string Finished = "ended";
}

/// <summary>The runs API's list answer.</summary>
internal sealed record RunList(IReadOnlyList<RunRecord> Runs, int Count, string? Job);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RunRecord))]
[JsonSerializable(typeof(RunList))]
internal sealed partial class RunJsonContext : JsonSerializerContext;
