using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace CronFunctions.Runners.ContainerApps;

/// <summary>
/// The shapes of the names that go into ARM paths. Every name is checked against these before it becomes part of a
/// URL, and every execution handle is parsed back through them, so nothing read from storage or from a response
/// can steer a request elsewhere.
/// </summary>
internal static partial class ArmNames
{
    public const string GuidPattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

    /// <summary>Resource group: up to 90 of letters, digits, <c>-_.()</c>, not ending with a period.</summary>
    public const string ResourceGroupPattern = @"^[-\w._()]{0,89}[-\w_()]$";

    /// <summary>Jobs, executions and containers, as the Microsoft.App API describes them (<c>^[-\w\._\(\)]+$</c>), bounded.</summary>
    public const string NamePattern = @"^[-\w._()]{1,128}$";

    public const string ExecutionsSegment = "/executions/";

    public static bool IsName(string? value) => value is not null && NameRegex().IsMatch(value);

    public static bool IsResourceGroup(string? value) => value is not null && ResourceGroupRegex().IsMatch(value);

    public static bool IsGuid(string? value) => value is not null && GuidRegex().IsMatch(value);

    /// <summary>The ARM path of an execution: what a <see cref="RunHandle.Id"/> holds, so any instance can look it up.</summary>
    public static string ExecutionPath(ContainerAppsJobTarget job, string executionName) =>
        job.ResourcePath + ExecutionsSegment + executionName;

    /// <summary>Parses <paramref name="id"/> back into its job and execution name, accepting only well-formed names.</summary>
    public static bool TryParseExecutionPath(
        string? id,
        [NotNullWhen(true)] out ContainerAppsJobTarget? job,
        [NotNullWhen(true)] out string? executionName)
    {
        job = null;
        executionName = null;
        if (id is null)
        {
            return false;
        }

        var match = ExecutionPathRegex().Match(id);
        if (!match.Success
            || !IsGuid(match.Groups["sub"].Value)
            || !IsResourceGroup(match.Groups["rg"].Value)
            || !IsName(match.Groups["job"].Value)
            || !IsName(match.Groups["execution"].Value))
        {
            return false;
        }

        job = new ContainerAppsJobTarget(match.Groups["sub"].Value, match.Groups["rg"].Value, match.Groups["job"].Value, ContainerName: null);
        executionName = match.Groups["execution"].Value;
        return true;
    }

    [GeneratedRegex(NamePattern, RegexOptions.CultureInvariant)]
    private static partial Regex NameRegex();

    [GeneratedRegex(ResourceGroupPattern, RegexOptions.CultureInvariant)]
    private static partial Regex ResourceGroupRegex();

    [GeneratedRegex(GuidPattern, RegexOptions.CultureInvariant)]
    private static partial Regex GuidRegex();

    [GeneratedRegex(
        "^/subscriptions/(?<sub>[^/]+)/resourceGroups/(?<rg>[^/]+)/providers/Microsoft\\.App/jobs/(?<job>[^/]+)/executions/(?<execution>[^/]+)$",
        RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex ExecutionPathRegex();
}
