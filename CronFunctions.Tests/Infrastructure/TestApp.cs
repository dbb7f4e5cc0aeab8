using System.Text.Json;
using CronFunctions.Functions;
using CronFunctions.Jobs;
using CronFunctions.Runners.Local;
using Microsoft.AspNetCore.Http;
using CronFunctions.Bench;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace CronFunctions.Tests.Infrastructure;

/// <summary>What an endpoint answered.</summary>
internal sealed record EndpointResponse(int Status, JsonElement Body, IHeaderDictionary Headers)
{
    public string? Str(string name) => Body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public int? Int(string name) => Body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;

    public override string ToString() => $"{Status} {Body}";
}

/// <summary>
/// The app as the Functions worker composes it (<c>AddCronFunctions</c>), with its own service provider and storage
/// clients, so several of these are independent app instances sharing one Azurite. Calls go through the real
/// function methods of <see cref="CronEndpoints"/>, and their <see cref="IActionResult"/> is executed to bytes.
/// </summary>
internal sealed class TestApp : IAsyncDisposable
{
    public const string Token = "test-token-0123456789abcdef";

    private readonly ServiceProvider _services;
    private readonly System.Collections.Concurrent.ConcurrentBag<int> _startedPids = [];

    public TestApp(string storageConnectionString, string backendDirectory, string lockContainer, IDictionary<string, string?>? settings = null, TimeProvider? timeProvider = null, Action<IServiceCollection>? services = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = storageConnectionString,
            ["ERIFY_CRON_TOKEN"] = Token,
            ["Cron:Local:PythonExecutable"] = "/bin/sh",
            ["Cron:Local:BackendDirectory"] = backendDirectory,
            ["Cron:Lock:ContainerName"] = lockContainer,
            ["Cron:Runs:TableName"] = RunsTableFor(lockContainer), // instances sharing locks share their history
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var collection = new ServiceCollection();
        collection.AddSingleton<IConfiguration>(configuration);
        collection.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace));
        collection.AddFakeLogging(o => o.CollectRecordsForDisabledLogLevels = false);
        if (timeProvider is not null)
        {
            collection.AddSingleton(timeProvider);
        }

        services?.Invoke(collection);
        collection.AddCronFunctions(configuration);
        _services = collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public IServiceProvider Services => _services;

    public FakeLogCollector Logs => _services.GetFakeLogCollector();

    public static string NewContainerName() => "t" + Guid.NewGuid().ToString("N")[..20];

    /// <summary>The run history table of the app instances that use <paramref name="lockContainer"/>.</summary>
    public static string RunsTableFor(string lockContainer) => "runs" + new string([.. lockContainer.Where(char.IsAsciiLetterOrDigit)]);

    public Task<EndpointResponse> PostAsync(JobDefinition job, string? query = null, string? authorization = "Bearer " + Token) =>
        CallAsync(job, "POST", query, authorization);

    public Task<EndpointResponse> CallAsync(JobDefinition job, string method, string? query = null, string? authorization = "Bearer " + Token, IDictionary<string, string>? headers = null, string? body = null) =>
        InvokeAsync<CronEndpoints>(job.FunctionName, method, query, authorization, headers, body);

    public Task<EndpointResponse> GetRunsAsync(string? query = null, string? authorization = "Bearer " + Token) =>
        InvokeAsync<RunsEndpoints>(nameof(RunsEndpoints.Runs), "GET", query, authorization);

    public Task<EndpointResponse> GetRunAsync(string runId, string? authorization = "Bearer " + Token) =>
        InvokeAsync<RunsEndpoints>(nameof(RunsEndpoints.RunById), "GET", null, authorization, extraArgument: runId);

    public Task<EndpointResponse> HealthAsync(IDictionary<string, string>? headers = null) =>
        InvokeAsync<HealthEndpoint>(nameof(HealthEndpoint.Health), "GET", null, null, headers);

    /// <summary>Calls a function method as the worker would: a request in, its <see cref="IActionResult"/> executed to bytes.</summary>
    public async Task<EndpointResponse> InvokeAsync<TFunctions>(string function, string method, string? query, string? authorization, IDictionary<string, string>? headers = null, string? body = null, string? extraArgument = null)
        where TFunctions : class
    {
        var context = new DefaultHttpContext { RequestServices = _services };
        context.Request.Method = method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("localhost");
        if (query is not null)
        {
            context.Request.QueryString = new QueryString(query);
        }

        if (authorization is not null)
        {
            context.Request.Headers.Authorization = authorization;
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            context.Request.Headers[name] = value;
        }

        if (body is not null)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(body);
            context.Request.Body = new MemoryStream(bytes);
            context.Request.ContentLength = bytes.Length;
            context.Request.ContentType = "application/json";
        }

        var responseBody = await FunctionInvoker.InvokeAsync<TFunctions>(
            context, function, extraArgument is null ? [] : [extraArgument], CancellationToken.None);
        using var json = JsonDocument.Parse(responseBody);
        var response = new EndpointResponse(context.Response.StatusCode, json.RootElement.Clone(), context.Response.Headers);
        if (response.Int("pid") is { } pid)
        {
            _startedPids.Add(pid);
        }

        return response;
    }

    /// <summary>Waits for the runs this instance started to end and release their locks.</summary>
    public async Task WaitForRunsAsync()
    {
        var runner = _services.GetRequiredService<LocalProcessRunner>();
        await Task.WhenAll(runner.ActiveWatchers).WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Ends the test: kills the runs this instance started that are still going, then lets their watchers finish.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var pid in _startedPids)
        {
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                process.Kill(entireProcessTree: true);
            }
            catch (ArgumentException)
            {
                // already gone
            }
            catch (InvalidOperationException)
            {
                // already gone
            }
        }

        await WaitForRunsAsync();
        await _services.DisposeAsync();
    }
}
