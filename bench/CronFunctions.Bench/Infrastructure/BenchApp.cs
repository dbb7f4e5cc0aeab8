using System.Diagnostics;
using Azure.Core.Pipeline;
using CronFunctions.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CronFunctions.Bench.Infrastructure;

/// <summary>
/// The bench's app instances: <see cref="TestApp"/> (composed exactly as the worker composes it, called through the
/// real function methods) with its own lock container, no rate limit, a storage request counter, and the counting log
/// sink in place of the collected logs; and calls timed as the bench reports them.
/// </summary>
internal static class BenchApp
{
    public const string BadAuthorization = "Bearer not-the-token";

    // Thousands of calls from one address in seconds: the bench measures the pipeline, not the rate limiter.
    // (The refusal budget too: a refused cell measures the 401 path, not the 429 a flood from one client gets.)
    private static readonly Dictionary<string, string?> NoRateLimit = new()
    {
        ["Cron:RateLimit:PermitsPerMinute"] = "100000",
        ["Cron:RateLimit:RefusalsPerMinute"] = "100000",
    };

    public static TestApp Create(string connectionString, FakeBackend backend, string container, StorageCounter storage, LogCounter logs) =>
        new(connectionString, backend.Directory, container, NoRateLimit, services: services =>
        {
            services.AddLogging(b => b.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Warning));
            services.AddKeyedSingleton<HttpPipelinePolicy>(CronFunctionsRegistration.StoragePolicyKey, storage);
        });

    /// <summary>The settings of a bench instance, by their configuration keys (environment form: <c>__</c> for <c>:</c>).</summary>
    public static Dictionary<string, string?> Settings(string connectionString, string backendDirectory, string container)
    {
        var settings = TestApp.Settings(connectionString, backendDirectory, container);
        foreach (var (key, value) in NoRateLimit)
        {
            settings[key] = value;
        }

        return settings;
    }

    public static string NewContainerName(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Makes one POST and returns the answer with its latency (the function call plus writing its result).</summary>
    public static async Task<Answer> TimedPostAsync(this TestApp app, JobDefinition job, string? query = null, string? authorization = TestApp.Authorization)
    {
        var start = Stopwatch.GetTimestamp();
        var response = await app.PostAsync(job, query, authorization).ConfigureAwait(false);
        return new Answer(response.Status, response.Str("status"), response.Str("reason"), response.Str("runId"), response.Int("pid"), Stopwatch.GetTimestamp() - start);
    }
}

/// <summary>What a call answered: HTTP status, the body's status/reason/runId/pid, and how long it took.</summary>
internal sealed record Answer(int Status, string? Outcome, string? Reason, string? RunId, int? Pid, long ElapsedTicks)
{
    /// <summary>started / skipped:already_running / skipped:not_due / 401 / 503 / ...</summary>
    public string Kind => Status switch
    {
        200 when Outcome == "started" => "started",
        200 when Outcome == "skipped" => "skipped:" + Reason,
        _ => Status.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
