using System.Text.Json;
using CronFunctions.Jobs;
using CronFunctions.Tests.Infrastructure;

namespace CronFunctions.Tests.Endpoints;

/// <summary>
/// The Functions host routes by the <c>functions.metadata</c> the SDK generates at build time: check the six cron
/// functions are in it with the spec's routes, no methods restriction (the host then routes every method, so a
/// non-POST reaches our 405), and anonymous auth.
/// </summary>
public sealed class FunctionMetadataTests
{
    public static TheoryData<string, string> Endpoints => new()
    {
        { "EeRecent", "cron/ee-recent" },
        { "PartiesImport", "cron/parties-import" },
        { "CheckCurrent", "cron/check-current" },
        { "MopRecent", "cron/mop-recent" },
        { "ModerationImages", "cron/moderation-images" },
        { "SopnParse", "cron/sopn-parse" },
    };

    [Theory]
    [MemberData(nameof(Endpoints))]
    public void CronFunction_IsAnAnonymousHttpTriggerOnItsSpecRoute(string function, string route)
    {
        var entry = Metadata().EnumerateArray().Single(f => f.GetProperty("name").GetString() == function);
        var trigger = entry.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "httpTrigger");

        Assert.Equal(route, trigger.GetProperty("route").GetString());
        Assert.Equal("Anonymous", trigger.GetProperty("authLevel").GetString());
        Assert.True(!trigger.TryGetProperty("methods", out var methods) || methods.ValueKind == JsonValueKind.Null, $"the trigger restricts methods to {methods}");
        Assert.Equal("dotnet-isolated", entry.GetProperty("language").GetString());
        Assert.Equal(route, JobCatalog.All.Single(j => j.FunctionName == function).Route);
    }

    [Theory]
    [InlineData("Runs", "cron/runs")]
    [InlineData("RunById", "cron/runs/{runId}")]
    [InlineData("Health", "health")]
    [InlineData("JobStatus", "cron/status")]
    public void OperatorFunction_IsAnAnonymousHttpTriggerOnItsRoute(string function, string route)
    {
        var entry = Metadata().EnumerateArray().Single(f => f.GetProperty("name").GetString() == function);
        var trigger = entry.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "httpTrigger");

        Assert.Equal(route, trigger.GetProperty("route").GetString());
        Assert.Equal("Anonymous", trigger.GetProperty("authLevel").GetString()); // the token (runs) or nothing secret (health)
        Assert.True(!trigger.TryGetProperty("methods", out var methods) || methods.ValueKind == JsonValueKind.Null, $"the trigger restricts methods to {methods}");
    }

    [Fact]
    public void Metadata_HasExactlyTheTwelveFunctions() =>
        Assert.Equal(
            ["CheckCurrent", "Dashboard", "EeRecent", "Health", "HealthMonitor", "JobStatus", "ModerationImages", "MopRecent", "PartiesImport", "RunById", "Runs", "SopnParse"],
            Metadata().EnumerateArray().Select(f => f.GetProperty("name").GetString()).Order(StringComparer.Ordinal));

    [Fact]
    public void Metadata_HasEveryCatalogJob_AsItsOwnFunction()
    {
        var routes = Metadata().EnumerateArray()
            .SelectMany(f => f.GetProperty("bindings").EnumerateArray())
            .Where(b => b.GetProperty("type").GetString() == "httpTrigger")
            .Select(b => b.GetProperty("route").GetString())
            .ToList();

        Assert.Equal(routes.Count, routes.Distinct().Count());
        Assert.All(JobCatalog.All, job => Assert.Contains(job.Route, routes));
    }

    /// <summary>The app's built <c>functions.metadata</c> (what the host reads to index the functions).</summary>
    internal static JsonElement Metadata()
    {
        var path = Path.Combine(Repository.OutputOf("CronFunctions"), "functions.metadata");
        Assert.True(File.Exists(path), $"functions.metadata not found at {path}: build the app first.");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.Clone();
    }
}
