using System.Globalization;
using System.Text.Json.Nodes;

namespace CronFunctions.Runners.ContainerApps;

/// <summary>
/// Reads executions out of ARM bodies and recognises ours after a start whose outcome we did not see.
/// </summary>
internal static class ExecutionMatcher
{
    /// <summary>How far the Azure clock may be behind ours when comparing an execution's start with our attempt.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The execution of <paramref name="runId"/> among <paramref name="executions"/>:
    /// <list type="bullet">
    /// <item>one whose template carries our <c>CRON_RUN_ID</c> (certainly ours, whatever its state), else</item>
    /// <item>when the executions do not show their environment, the only Running/Processing one that started
    /// after our attempt. Several candidates, or any doubt, and it is none: adopting another job's execution
    /// would release our lock while that one still runs.</item>
    /// </list>
    /// </summary>
    public static (string Name, string? Status, string MatchedBy)? FindOwn(
        IEnumerable<JsonObject> executions, string runId, DateTimeOffset attemptedAt)
    {
        var all = executions.Where(e => ArmNames.IsName(NameOf(e))).ToList();

        var byRunId = all.FirstOrDefault(e => ExecutionTemplate.CarriesRunId(e["properties"]?["template"], runId));
        if (byRunId is not null)
        {
            return (NameOf(byRunId)!, StatusOf(byRunId), ExecutionTemplate.RunIdVariable);
        }

        var byTime = all
            .Where(e => !ExecutionTemplate.ShowsEnvironment(e["properties"]?["template"]))
            .Where(e => IsRunning(StatusOf(e)))
            .Where(e => StartOf(e) is { } started && started >= attemptedAt - ClockSkew)
            .ToList();

        return byTime is [var only] ? (NameOf(only)!, StatusOf(only), "start time") : null;
    }

    /// <summary>
    /// The execution name in a start (or start operation) response: <c>name</c>, else the last segment of
    /// <c>id</c>, accepted only when it is a well-formed name (the API's own example has <c>{jobExecutionName}</c>).
    /// </summary>
    public static string? ExecutionName(JsonNode? body)
    {
        if (body is null)
        {
            return null;
        }

        foreach (var candidate in new[] { ReadString(body["name"]), ReadString(body["properties"]?["name"]) })
        {
            if (ArmNames.IsName(candidate))
            {
                return candidate;
            }
        }

        foreach (var id in new[] { ReadString(body["id"]), ReadString(body["properties"]?["id"]) })
        {
            var index = id?.LastIndexOf(ArmNames.ExecutionsSegment, StringComparison.OrdinalIgnoreCase) ?? -1;
            if (index >= 0)
            {
                var name = id![(index + ArmNames.ExecutionsSegment.Length)..];
                if (ArmNames.IsName(name))
                {
                    return name;
                }
            }
        }

        return null;
    }

    public static bool IsRunning(string? status) =>
        string.Equals(status, "Running", StringComparison.OrdinalIgnoreCase)
        || string.Equals(status, "Processing", StringComparison.OrdinalIgnoreCase);

    public static string? NameOf(JsonNode? execution) => ReadString(execution?["name"]);

    public static string? StatusOf(JsonNode? execution) => ReadString(execution?["properties"]?["status"]);

    public static DateTimeOffset? StartOf(JsonNode execution) =>
        DateTimeOffset.TryParse(
            ReadString(execution["properties"]?["startTime"]),
            CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal,
            out var started)
            ? started
            : null;

    private static string? ReadString(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
}
