using System.Text.Json.Serialization;

namespace CronFunctions.Http;

/// <summary>
/// Every JSON body the endpoints return (shapes in <c>shared/spec/jobs.md</c>; null keys are left out).
/// </summary>
internal sealed record CronResponse
{
    public string? Status { get; init; }

    public string? Reason { get; init; }

    public string? Job { get; init; }

    public int? Pid { get; init; }

    public string? Execution { get; init; }

    public string? RunId { get; init; }

    public DateTimeOffset? NextDue { get; init; }

    public string? Error { get; init; }

    public static CronResponse Started(string job, string runId, int? pid, string? execution) =>
        new() { Status = "started", Job = job, RunId = runId, Pid = pid, Execution = execution };

    public static CronResponse AlreadyRunning(string job, string? runningRunId) =>
        new() { Status = "skipped", Reason = "already_running", Job = job, RunId = runningRunId };

    public static CronResponse NotDue(string job, DateTimeOffset nextDue) =>
        new() { Status = "skipped", Reason = "not_due", Job = job, NextDue = nextDue };

    /// <summary>A caller's mistake (400, 401, 405, 429): <c>{"error": ...}</c>.</summary>
    public static CronResponse ClientError(string error) => new() { Error = error };

    /// <summary>Our failure (500, 502, 503): <c>{"status":"error","error": ...}</c> with a caller-safe message.</summary>
    public static CronResponse ServerError(string? job, string error) => new() { Status = "error", Job = job, Error = error };
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CronResponse))]
internal sealed partial class CronJsonContext : JsonSerializerContext;
