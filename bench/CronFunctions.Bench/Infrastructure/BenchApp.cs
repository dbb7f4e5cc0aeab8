using System.Diagnostics;
using System.Text.Json;
using Azure.Core.Pipeline;
using CronFunctions.Jobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CronFunctions.Bench.Infrastructure;

/// <summary>
/// One app instance for the bench: <see cref="AppInstance"/> (composed exactly as the worker composes it, called
/// through the real function methods) configured in memory — Azurite, the token, the fake backend, its own lock
/// container — with a storage request counter and the counting log sink in place of the console.
/// </summary>
internal sealed class BenchApp : IAsyncDisposable
{
    public const string Token = "bench-token-0123456789abcdef";
    public const string GoodAuthorization = "Bearer " + Token;
    public const string BadAuthorization = "Bearer not-the-token";

    private readonly AppInstance _app;

    public BenchApp(string connectionString, FakeBackend backend, string container, StorageCounter storage, LogCounter logs)
    {
        Container = container;
        Storage = storage;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(Settings(connectionString, backend.Directory, container)).Build();
        _app = new AppInstance(configuration, services =>
        {
            services.AddLogging(b => b.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Warning));
            services.AddKeyedSingleton<HttpPipelinePolicy>(CronFunctionsRegistration.StoragePolicyKey, storage);
        });
    }

    public string Container { get; }

    public StorageCounter Storage { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The settings an app instance needs, by their configuration keys (environment form: <c>__</c> for <c>:</c>).</summary>
    public static Dictionary<string, string?> Settings(string connectionString, string backendDirectory, string container) => new()
    {
        ["AzureWebJobsStorage"] = connectionString,
        ["ERIFY_CRON_TOKEN"] = Token,
        ["Cron:Local:PythonExecutable"] = "/bin/sh",
        ["Cron:Local:BackendDirectory"] = backendDirectory,
        ["Cron:Lock:ContainerName"] = container,
        ["Cron:Runs:TableName"] = "runs" + container.Replace("-", string.Empty, StringComparison.Ordinal),
        // Thousands of calls from one address in seconds: the bench measures the pipeline, not the rate limiter.
        ["Cron:RateLimit:PermitsPerMinute"] = "100000",
    };

    public static string NewContainerName(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Makes one POST and returns the answer with its latency (the function call plus writing its result).</summary>
    public async Task<Answer> PostAsync(JobDefinition job, string? query = null, string? authorization = GoodAuthorization)
    {
        var start = Stopwatch.GetTimestamp();
        var (status, body) = await _app.CallAsync(job, "POST", query, authorization).ConfigureAwait(false);
        var elapsed = Stopwatch.GetTimestamp() - start;
        return Answer.Parse(status, body, elapsed);
    }

    /// <summary>Waits until every run this instance started has ended and its end (the lock's release) is handled.</summary>
    public Task WaitForRunsAsync(TimeSpan timeout) => _app.WaitForRunsAsync().WaitAsync(timeout);

    public async ValueTask DisposeAsync() => await _app.DisposeAsync().ConfigureAwait(false);
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

    public static Answer Parse(int status, string body, long elapsedTicks)
    {
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        return new Answer(
            status,
            Str(root, "status"),
            Str(root, "reason"),
            Str(root, "runId"),
            root.TryGetProperty("pid", out var pid) && pid.ValueKind == JsonValueKind.Number ? pid.GetInt32() : null,
            elapsedTicks);
    }

    private static string? Str(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
