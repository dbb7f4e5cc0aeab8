using System.Text.Json.Nodes;

namespace CronFunctions.Runners.ContainerApps;

/// <summary>
/// Builds the body of <c>jobs/start</c> from the job's own template. A start body replaces the execution's
/// containers, so it carries every container of the job, changes only the chosen container's <c>command</c>/<c>args</c>,
/// and adds a <c>CRON_RUN_ID</c> variable that ties the execution to its run.
/// </summary>
/// <remarks>
/// <para>
/// The body is a <c>JobExecutionTemplate</c> (Microsoft.App stable API versions 2025-01-01 and 2025-07-01):
/// <c>containers</c> and <c>initContainers</c>, each a <c>JobExecutionContainer</c> with only <c>image</c>, <c>name</c>,
/// <c>command</c>, <c>args</c>, <c>env</c> and <c>resources</c>. The job's template (a <c>JobTemplate</c>) has more: probes
/// and volume mounts on containers, volumes, and read-only values such as <c>resources.ephemeralStorage</c>. None of
/// that can be sent, so each container is rebuilt from the fields the start API accepts, down to the fields of an
/// environment variable (<c>name</c>, <c>value</c>, <c>secretRef</c>) and of resources (<c>cpu</c>, <c>memory</c>).
/// </para>
/// <para>
/// Consequence: an execution started this way runs without the job's probes and volume mounts (the platform cannot
/// take them from a start body). A job whose command needs a mounted volume does not fit this runner.
/// </para>
/// </remarks>
internal static class ExecutionTemplate
{
    public const string RunIdVariable = "CRON_RUN_ID";

    /// <summary>The properties of a <c>JobExecutionContainer</c>.</summary>
    internal static readonly IReadOnlyList<string> ContainerFields = ["image", "name", "command", "args", "env", "resources"];

    /// <summary>The properties of an <c>EnvironmentVar</c>.</summary>
    internal static readonly IReadOnlyList<string> EnvironmentVariableFields = ["name", "value", "secretRef"];

    /// <summary>The writable properties of <c>ContainerResources</c> (<c>ephemeralStorage</c> is read-only).</summary>
    internal static readonly IReadOnlyList<string> ResourceFields = ["cpu", "memory"];

    /// <summary>
    /// The start body for <paramref name="runId"/>: <paramref name="jobTemplate"/>'s containers and init containers
    /// reduced to what the start API accepts, with the chosen container's <c>command</c> set to <paramref name="command"/>
    /// (kept as is when empty) and <c>args</c> to <paramref name="args"/>.
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

        var bodyContainers = ToExecutionContainers(containers);
        var body = new JsonObject { ["containers"] = bodyContainers };
        if (jobTemplate["initContainers"] is JsonArray { Count: > 0 } initContainers)
        {
            body["initContainers"] = ToExecutionContainers(initContainers);
        }

        var target = ChooseContainer(bodyContainers, containerName);
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

    private static JsonArray ToExecutionContainers(JsonArray containers)
    {
        var result = new JsonArray();
        foreach (var container in containers.OfType<JsonObject>())
        {
            var copy = Pick(container, ContainerFields);
            if (copy["env"] is JsonArray env)
            {
                copy["env"] = new JsonArray([.. env.OfType<JsonObject>().Select(variable => (JsonNode)Pick(variable, EnvironmentVariableFields))]);
            }

            if (copy["resources"] is JsonObject resources)
            {
                copy["resources"] = Pick(resources, ResourceFields);
            }

            result.Add(copy);
        }

        return result;
    }

    /// <summary>A deep copy of <paramref name="source"/> with only <paramref name="fields"/>, in the source's order.</summary>
    private static JsonObject Pick(JsonObject source, IReadOnlyList<string> fields)
    {
        var copy = new JsonObject();
        foreach (var (key, value) in source)
        {
            if (fields.Contains(key, StringComparer.Ordinal))
            {
                copy[key] = value?.DeepClone();
            }
        }

        return copy;
    }

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
