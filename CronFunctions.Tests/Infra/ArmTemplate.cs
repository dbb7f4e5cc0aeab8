using System.Text.Json;

namespace CronFunctions.Tests.Infra;

/// <summary>
/// A compiled ARM template (the JSON <c>bicep build</c> writes) with its module deployments, walked as data.
/// Values stay ARM expressions (<c>[parameters('x')]</c>); tests assert on literals and on expression text.
/// </summary>
internal sealed class ArmTemplate(JsonElement root, string location)
{
    public JsonElement Root { get; } = root;

    /// <summary>"main" or the chain of module deployment names, for messages.</summary>
    public string Location { get; } = location;

    public static ArmTemplate Parse(string json) => new(JsonDocument.Parse(json).RootElement.Clone(), "main");

    /// <summary>Resources declared in this template (not in modules). Handles both the array and the symbolic-name form.</summary>
    public IEnumerable<JsonElement> Resources
    {
        get
        {
            if (!Root.TryGetProperty("resources", out var resources))
            {
                return [];
            }

            var all = resources.ValueKind == JsonValueKind.Object
                ? resources.EnumerateObject().Select(property => property.Value)
                : resources.EnumerateArray();

            // Symbolic-name templates also list `existing` references; they deploy nothing.
            return [.. all.Where(resource => !(resource.TryGetProperty("existing", out var existing) && existing.GetBoolean()))];
        }
    }

    /// <summary>The module deployments of this template.</summary>
    public IEnumerable<ArmTemplate> Modules =>
        Resources
            .Where(resource => Type(resource) == "Microsoft.Resources/deployments")
            .Select(resource => new ArmTemplate(
                resource.GetProperty("properties").GetProperty("template"),
                $"{Location} > {resource.GetProperty("name").GetString()}"));

    /// <summary>This template and every module under it, depth first.</summary>
    public IEnumerable<ArmTemplate> SelfAndModules => [this, .. Modules.SelectMany(module => module.SelfAndModules)];

    /// <summary>The module deployment named <paramref name="name"/> (its literal deployment name).</summary>
    public ArmTemplate Module(string name) =>
        Modules.SingleOrDefault(module => module.Location.EndsWith($"> {name}", StringComparison.Ordinal))
        ?? throw new InvalidOperationException($"No module deployment '{name}' in {Location}.");

    /// <summary>The parameter values this template's parent passes to the module deployment <paramref name="name"/>.</summary>
    public JsonElement ModuleParameters(string name) =>
        Resources
            .Single(resource => Type(resource) == "Microsoft.Resources/deployments" && resource.GetProperty("name").GetString() == name)
            .GetProperty("properties").GetProperty("parameters");

    /// <summary>Every resource of type <paramref name="type"/> in this template and its modules.</summary>
    public IReadOnlyList<(JsonElement Resource, ArmTemplate Template)> All(string type) =>
        [.. SelfAndModules.SelectMany(template => template.Resources
            .Where(resource => string.Equals(Type(resource), type, StringComparison.OrdinalIgnoreCase))
            .Select(resource => (resource, template)))];

    /// <summary>The one resource of <paramref name="type"/> anywhere in the deployment.</summary>
    public JsonElement Single(string type)
    {
        var all = All(type);
        Assert.True(all.Count == 1, $"Expected exactly one {type}, found {all.Count}.");
        return all[0].Resource;
    }

    public JsonElement Parameter(string name) => Root.GetProperty("parameters").GetProperty(name);

    public string Variable(string name) => Root.GetProperty("variables").GetProperty(name).ToString();

    public IEnumerable<JsonProperty> Outputs =>
        Root.TryGetProperty("outputs", out var outputs) ? outputs.EnumerateObject() : [];

    public static string Type(JsonElement resource) => resource.GetProperty("type").GetString() ?? "";
}
