using System.Text.Json.Nodes;

namespace CronFunctions.Runners.ContainerApps;

/// <summary>
/// Builds the body of <c>jobs/start</c> from the job's own template. A start body replaces the whole execution
/// template, so it carries every container exactly as the job defines it (image, env, resources, probes, volume
/// mounts, init containers) and changes only the chosen container's <c>command</c>/<c>args</c>, plus a
/// <c>CRON_RUN_ID</c> variable that ties the execution to its run.
/// </summary>
/// <remarks>
/// The body is a <c>JobExecutionTemplate</c>: <c>containers</c> and <c>initContainers</c>. The job's <c>volumes</c>
/// are not part of it; executions take them from the job.
/// </remarks>
internal static class ExecutionTemplate
{
    public const string RunIdVariable = "CRON_RUN_ID";

    /// <summary>
    /// The start body for <paramref name="runId"/>: <paramref name="jobTemplate"/>'s containers with the chosen
    /// container's <c>command</c> set to <paramref name="command"/> (kept as is when empty) and <c>args</c> to
    /// <paramref name="args"/>.
    /// </summary>
    /// <exception cref="ExecutionTemplateException">The template has no containers, or the container cannot be chosen.</exception>
    public static JsonObject Build(
        JsonNode? jobTemplate,
        string? containerName,
        IReadOnlyList<string> command,
        IReadOnlyList<string> args,
        string runId)
    {
        if (jobTemplate?["containers"] is not JsonArray { Count: > 0 } containers)
        {
            throw new ExecutionTemplateException("The Container Apps Job has no containers in its template.");
        }

        var body = new JsonObject { ["containers"] = containers.DeepClone() };
        if (jobTemplate["initContainers"] is JsonArray initContainers)
        {
            body["initContainers"] = initContainers.DeepClone();
        }

        var target = ChooseContainer((JsonArray)body["containers"]!, containerName);
        if (command.Count > 0)
        {
            target["command"] = ToArray(command);
        }

        target["args"] = ToArray(args);
        SetRunId(target, runId);
        return body;
    }

    /// <summary>Whether any container of an execution's template carries <c>CRON_RUN_ID</c> = <paramref name="runId"/>.</summary>
    public static bool CarriesRunId(JsonNode? executionTemplate, string runId) =>
        AllContainers(executionTemplate).Any(container => ReadRunId(container) == runId);

    /// <summary>Whether an execution's template shows its containers' environment at all.</summary>
    public static bool ShowsEnvironment(JsonNode? executionTemplate) =>
        AllContainers(executionTemplate).Any(container => container["env"] is JsonArray);

    private static JsonObject ChooseContainer(JsonArray containers, string? containerName)
    {
        if (string.IsNullOrWhiteSpace(containerName))
        {
            return containers is [JsonObject only]
                ? only
                : throw new ExecutionTemplateException(
                    $"The Container Apps Job has {containers.Count} containers; set ContainerName to the one that runs the command.");
        }

        return containers.OfType<JsonObject>().FirstOrDefault(c => NameOf(c) == containerName)
            ?? throw new ExecutionTemplateException($"The Container Apps Job has no container named '{containerName}'.");
    }

    private static void SetRunId(JsonObject container, string runId)
    {
        if (container["env"] is not JsonArray env)
        {
            env = [];
            container["env"] = env;
        }

        // Replace an existing entry (a placeholder, or a secretRef) rather than adding a second one.
        for (var i = env.Count - 1; i >= 0; i--)
        {
            if (env[i] is JsonObject entry && NameOf(entry) == RunIdVariable)
            {
                env.RemoveAt(i);
            }
        }

        env.Add(new JsonObject { ["name"] = RunIdVariable, ["value"] = runId });
    }

    private static string? ReadRunId(JsonObject container) =>
        container["env"] is JsonArray env
            ? env.OfType<JsonObject>().Where(e => NameOf(e) == RunIdVariable).Select(e => ReadString(e["value"])).FirstOrDefault()
            : null;

    private static IEnumerable<JsonObject> AllContainers(JsonNode? template) =>
        new[] { template?["containers"], template?["initContainers"] }
            .OfType<JsonArray>()
            .SelectMany(array => array.OfType<JsonObject>());

    private static string? NameOf(JsonObject node) => ReadString(node["name"]);

    private static string? ReadString(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static JsonArray ToArray(IReadOnlyList<string> values)
    {
        var array = new JsonArray();
        foreach (var value in values)
        {
            array.Add(JsonValue.Create(value));
        }

        return array;
    }
}

/// <summary>The job's template cannot carry our command (no containers, or no way to choose one).</summary>
internal sealed class ExecutionTemplateException(string message) : Exception(message);
