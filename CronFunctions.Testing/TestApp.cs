using System.Collections.Concurrent;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using CronFunctions.Functions;
using CronFunctions.Jobs;
using CronFunctions.Locking;
using CronFunctions.Runs;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace CronFunctions.Testing;

/// <summary>What an endpoint answered.</summary>
internal sealed record EndpointResponse(int Status, JsonElement Body, IHeaderDictionary Headers)
{
    public string? Str(string name) => Body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public int? Int(string name) => Body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;

    public override string ToString() => $"{Status} {Body}";
}

/// <summary>
/// One app instance composed exactly as the Functions worker composes it (<c>AddCronFunctions</c>), with its own
/// service provider and storage clients, so several of these are independent app instances sharing one Azurite. Its
/// hosted services (the run history's writer) run as under the worker's host: started here, stopped on dispose. Calls
/// go through the real function methods, their <see cref="Microsoft.AspNetCore.Mvc.IActionResult"/> executed to
/// bytes. The app's log records are collected (<see cref="Logs"/>) unless <c>services</c> replaces the providers.
/// </summary>
internal sealed class TestApp : IAsyncDisposable
{
    public const string Token = "test-token-0123456789abcdef-0123456789";
    public const string Authorization = "Bearer " + Token;

    private static readonly TimeSpan RunsTimeout = TimeSpan.FromSeconds(30);

    private readonly ServiceProvider _services;
    private readonly IConfiguration _configuration;
    private readonly IReadOnlyList<IHostedService> _hostedServices;
    private readonly ConcurrentBag<int> _startedPids = [];

    /// <summary>
    /// An instance on <paramref name="storageConnectionString"/> running jobs from <paramref name="backendDirectory"/>
    /// with its locks in <paramref name="lockContainer"/> (<see cref="Settings"/>); <paramref name="settings"/> add to or
    /// override those (a null value removes one).
    /// </summary>
    public TestApp(string storageConnectionString, string backendDirectory, string lockContainer, IDictionary<string, string?>? settings = null, TimeProvider? timeProvider = null, Action<IServiceCollection>? services = null)
        : this(Configuration(storageConnectionString, backendDirectory, lockContainer, settings), timeProvider, services)
    {
    }

    /// <summary>An instance configured by <paramref name="configuration"/> (e.g. environment variables, as in Azure).</summary>
    public TestApp(IConfiguration configuration, TimeProvider? timeProvider = null, Action<IServiceCollection>? services = null)
    {
        _configuration = configuration;
        var collection = new ServiceCollection();
        collection.AddSingleton(configuration);
        collection.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace));
        collection.AddFakeLogging(o => o.CollectRecordsForDisabledLogLevels = false);
        if (timeProvider is not null)
        {
            // Simulated time decides slots and deadlines too (in production the storage service's clock does).
            collection.AddSingleton(timeProvider);
            collection.AddSingleton<ILockClock>(new TimeProviderClock(timeProvider));
        }

        services?.Invoke(collection);
        collection.AddCronFunctions(configuration);
        _services = collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        _hostedServices = [.. _services.GetServices<IHostedService>()];
        foreach (var hosted in _hostedServices)
        {
            // BackgroundService.StartAsync returns once ExecuteAsync first awaits: nothing here blocks on I/O.
            hosted.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
    }

    public IServiceProvider Services => _services;

    /// <summary>The app's log records (Trace and up), unless the providers were replaced.</summary>
    public FakeLogCollector Logs => _services.GetFakeLogCollector();

    /// <summary>The app's warnings and errors so far, one per line (event, message, exception): for assertion messages.</summary>
    public string WarningsAndErrors() => string.Join(
        Environment.NewLine,
        Logs.GetSnapshot().Where(r => r.Level >= LogLevel.Warning).Select(r => $"{r.Level} {r.Id.Id} {r.Message} {r.Exception?.GetType().Name}: {r.Exception?.Message}"));

    /// <summary>The lock container this instance uses.</summary>
    public string LockContainer => _configuration["Cron:Lock:ContainerName"] ?? "cron-locks";

    /// <summary>
    /// The settings an app instance needs, by their configuration keys (environment form: <c>__</c> for <c>:</c>):
    /// storage, the token, the fake backend as the local runner's Python, its lock container and a run history
    /// table of its own (<see cref="RunsTableFor"/>).
    /// </summary>
    public static Dictionary<string, string?> Settings(string storageConnectionString, string backendDirectory, string lockContainer) => new()
    {
        ["AzureWebJobsStorage"] = storageConnectionString,
        ["ERIFY_CRON_TOKEN"] = Token,
        ["Cron:Local:PythonExecutable"] = "/bin/sh",
        ["Cron:Local:BackendDirectory"] = backendDirectory,
        ["Cron:Lock:ContainerName"] = lockContainer,
        ["Cron:Lock:LeaseDuration"] = "00:00:15", // the shortest lease Azure allows: a dead owner's lock is free soonest
        ["Cron:Runs:TableName"] = RunsTableFor(lockContainer), // instances sharing locks share their history
    };

    /// <summary>The run history table of the instances that use <paramref name="lockContainer"/> (a valid table name).</summary>
    public static string RunsTableFor(string lockContainer) => "runs" + new string([.. lockContainer.Where(char.IsAsciiLetterOrDigit)]);

    /// <summary>
    /// For an instance in a process of its own (<c>services</c> argument): the app's warnings and errors on stderr, in
    /// place of the collected logs, so stdout carries only what the process prints.
    /// </summary>
    public static void LogWarningsToStandardError(IServiceCollection services) =>
        services.AddLogging(b => b
            .ClearProviders()
            .AddSimpleConsole(o => o.SingleLine = true)
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
            .SetMinimumLevel(LogLevel.Warning));

    /// <summary>A fresh, valid container name (<paramref name="prefix"/> plus 20 hex digits).</summary>
    public static string NewContainerName(string prefix = "t") => prefix + Guid.NewGuid().ToString("N")[..20];

    public Task<EndpointResponse> PostAsync(JobDefinition job, string? query = null, string? authorization = Authorization) =>
        CallAsync(job, "POST", query, authorization);

    public Task<EndpointResponse> CallAsync(JobDefinition job, string method, string? query = null, string? authorization = Authorization, IDictionary<string, string>? headers = null, string? body = null, CancellationToken cancellationToken = default) =>
        InvokeAsync(typeof(CronEndpoints), job.FunctionName, method, query, authorization, headers, body, cancellationToken: cancellationToken);

    public Task<EndpointResponse> GetRunsAsync(string? query = null, string? authorization = Authorization) =>
        InvokeAsync(typeof(RunsEndpoints), nameof(RunsEndpoints.Runs), "GET", query, authorization);

    public Task<EndpointResponse> GetRunAsync(string runId, string? authorization = Authorization) =>
        InvokeAsync(typeof(RunsEndpoints), nameof(RunsEndpoints.RunById), "GET", null, authorization, extraArgument: runId);

    public Task<EndpointResponse> HealthAsync(IDictionary<string, string>? headers = null) =>
        InvokeAsync(typeof(HealthEndpoint), nameof(HealthEndpoint.Health), "GET", null, null, headers);

    /// <summary>
    /// Calls a function method of <paramref name="functions"/> as the worker would: a request in (from loopback, as
    /// the Functions host's proxy calls its worker), its result executed to bytes. <paramref name="cancellationToken"/>
    /// plays the caller hanging up.
    /// </summary>
    public async Task<EndpointResponse> InvokeAsync(Type functions, string function, string method, string? query, string? authorization, IDictionary<string, string>? headers = null, string? body = null, string? extraArgument = null, CancellationToken cancellationToken = default)
    {
        var context = new DefaultHttpContext { RequestServices = _services };
        context.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
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

        var responseBody = await FunctionInvoker.InvokeAsync(
            functions, context, function, extraArgument is null ? [] : [extraArgument], cancellationToken).ConfigureAwait(false);
        using var json = JsonDocument.Parse(responseBody);
        var response = new EndpointResponse(context.Response.StatusCode, json.RootElement.Clone(), context.Response.Headers);
        if (response.Int("pid") is { } pid)
        {
            _startedPids.Add(pid);
        }

        return response;
    }

    /// <summary>
    /// The job's lock blob as storage has it now (lease state and record), or null when there is none: a run is only
    /// ever started under a lease on it, so "no blob" proves no run of that job was started through this lock container.
    /// </summary>
    public async Task<BlobProperties?> LockBlobAsync(JobDefinition job)
    {
        var blob = new BlobContainerClient(_configuration["AzureWebJobsStorage"], LockContainer).GetBlobClient(job.Name);
        try
        {
            return (await blob.GetPropertiesAsync().ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Waits until the runs this instance owns have ended and their locks are freed (or given up).</summary>
    public async Task WaitForRunsAsync(TimeSpan? timeout = null)
    {
        var supervisor = _services.GetRequiredService<RunSupervisor>();
        await Task.WhenAll(supervisor.Active).WaitAsync(timeout ?? RunsTimeout).ConfigureAwait(false);
    }

    /// <summary>
    /// Ends the instance as the host stops its worker: stops its hosted services (the run supervisor stops its local
    /// runs, records them as interrupted and frees their locks, and hands remote runs over; the run history writes
    /// what it holds), kills anything it started that is somehow still going, and disposes its services.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(RunsTimeout);
        foreach (var hosted in _hostedServices.Reverse())
        {
            await hosted.StopAsync(timeout.Token).ConfigureAwait(false);
        }

        foreach (var pid in _startedPids)
        {
            ProcessTools.KillWithDescendants(pid);
        }

        await _services.DisposeAsync().ConfigureAwait(false);
    }

    private static IConfiguration Configuration(string storageConnectionString, string backendDirectory, string lockContainer, IDictionary<string, string?>? settings)
    {
        var values = Settings(storageConnectionString, backendDirectory, lockContainer);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        return new ConfigurationBuilder().AddInMemoryCollection(values).Build();
    }
}
