using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure.Core;
using Azure.Core.Pipeline;
using CronFunctions.Runners.ContainerApps;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CronFunctions.Tests.ContainerApps;

/// <summary>
/// A real HTTP server on loopback that plays Azure Resource Manager for one Container Apps Job: it records every
/// request (method, path, query, Authorization, body), serves the job and its executions, creates an execution for
/// each start, and lets a test replace any answer.
/// </summary>
internal sealed partial class FakeArm : IAsyncDisposable
{
    public const string Token = "fake-arm-token-do-not-log-6f1c";
    public const string SubscriptionId = "0b5c8a3e-1111-4222-8333-944444444444";
    public const string ResourceGroup = "rg-cron";
    public const string JobName = "cron-job";

    private readonly WebApplication _app;
    private readonly object _sync = new();
    private readonly List<JsonObject> _executions = [];
    private int _sequence;

    private FakeArm(WebApplication app) => _app = app;

    /// <summary>https://127.0.0.1:port: what the runner is configured with (the test transport sends it as http).</summary>
    public Uri Endpoint { get; private set; } = null!;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>The job's <c>properties.template</c> as GET returns it.</summary>
    public JsonObject JobTemplate { get; set; } = DefaultTemplate();

    /// <summary>
    /// A test's own answer, tried first; return false to fall through to the default behaviour.
    /// </summary>
    public Func<HttpContext, RecordedRequest, Task<bool>>? Handler { get; set; }

    public static string JobPath => $"/subscriptions/{SubscriptionId}/resourceGroups/{ResourceGroup}/providers/Microsoft.App/jobs/{JobName}";

    public IReadOnlyList<string> ExecutionNames
    {
        get
        {
            lock (_sync)
            {
                return _executions.Select(e => e["name"]!.GetValue<string>()).ToList();
            }
        }
    }

    /// <summary>Moves an execution to another status, as Azure does when it ends.</summary>
    public void SetExecutionStatus(string name, string status)
    {
        lock (_sync)
        {
            _executions.Single(e => e["name"]!.GetValue<string>() == name)["properties"]!["status"] = status;
        }
    }

    /// <summary>The start requests (not stops).</summary>
    public IReadOnlyList<RecordedRequest> Posts => Requests.Where(r => r.Method == "POST" && r.Path.EndsWith("/start", StringComparison.Ordinal)).ToList();

    public IReadOnlyList<RecordedRequest> Stops => Requests.Where(r => r.Method == "POST" && r.Path.EndsWith("/stop", StringComparison.Ordinal)).ToList();

    /// <summary>Executions ARM does not show yet (a new execution can take a moment to be listed or read).</summary>
    public HashSet<string> Hidden { get; } = [];

    /// <summary>How many executions are Running or Processing now.</summary>
    public int RunningCount
    {
        get
        {
            lock (_sync)
            {
                return _executions.Count(e => e["properties"]!["status"]!.GetValue<string>() is "Running" or "Processing");
            }
        }
    }

    public string StatusOf(string name)
    {
        lock (_sync)
        {
            return _executions.Single(e => e["name"]!.GetValue<string>() == name)["properties"]!["status"]!.GetValue<string>();
        }
    }

    /// <summary>The settings that make an app's default runner the Container Apps runner, starting this fake's job.</summary>
    public Dictionary<string, string?> AppSettings() => new()
    {
        ["Cron:DefaultRunner"] = "containerapp",
        ["Cron:ContainerApps:SubscriptionId"] = SubscriptionId,
        ["Cron:ContainerApps:ResourceGroup"] = ResourceGroup,
        ["Cron:ContainerApps:JobName"] = JobName,
        ["Cron:ContainerApps:ResourceManagerEndpoint"] = Endpoint.ToString(),
        ["Cron:ContainerApps:StatusPollInterval"] = "00:00:01",
    };

    /// <summary>Gives an app an ARM client that reaches this fake over loopback with a fake token.</summary>
    public static void AddArmClient(IServiceCollection services) =>
        services.AddSingleton<IContainerAppsArmClient>(p => new ArmContainerAppsClient(
            p.GetRequiredService<IOptions<ContainerAppsOptions>>(), _ => new FakeTokenCredential(), TimeProvider.System, new LoopbackHttpsTransport()));

    public static async Task<FakeArm> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeArm(app);
        app.Run(fake.HandleAsync);
        await app.StartAsync();
        var bound = new Uri(app.Urls.First());
        fake.Endpoint = new UriBuilder(bound) { Scheme = Uri.UriSchemeHttps, Port = bound.Port }.Uri;
        return fake;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public static JsonObject DefaultTemplate() => (JsonObject)JsonNode.Parse("""
        {
          "containers": [
            {
              "name": "web",
              "image": "registry.example/candidates:2025.06.1",
              "command": ["gunicorn"],
              "args": ["ynr.wsgi"],
              "env": [
                { "name": "DJANGO_SETTINGS_MODULE", "value": "ynr.settings.production" },
                { "name": "DATABASE_PASSWORD", "secretRef": "database-password" }
              ],
              "resources": { "cpu": 0.5, "memory": "1Gi" },
              "probes": [ { "type": "Liveness", "httpGet": { "path": "/healthz", "port": 8000 }, "periodSeconds": 30 } ],
              "volumeMounts": [ { "volumeName": "media", "mountPath": "/app/media" } ]
            }
          ],
          "initContainers": [
            { "name": "wait-for-db", "image": "registry.example/wait:1", "command": ["/wait"], "args": ["db:5432"], "resources": { "cpu": 0.25, "memory": "0.5Gi" } }
          ],
          "volumes": [ { "name": "media", "storageType": "AzureFile", "storageName": "media" } ]
        }
        """)!;

    /// <summary>Adds an execution as ARM lists it, and returns its name.</summary>
    public string AddExecution(JsonNode? template, string status = "Running", DateTimeOffset? startTime = null)
    {
        lock (_sync)
        {
            var name = $"{JobName}-{Interlocked.Increment(ref _sequence):D3}x{Random.Shared.Next(1000, 9999)}";
            _executions.Add(new JsonObject
            {
                ["name"] = name,
                ["id"] = $"{JobPath}/executions/{name}",
                ["type"] = "Microsoft.App/jobs/executions",
                ["properties"] = new JsonObject
                {
                    ["status"] = status,
                    ["startTime"] = (startTime ?? DateTimeOffset.UtcNow).ToString("o"),
                    ["template"] = template?.DeepClone(),
                },
            });
            return name;
        }
    }

    public static async Task WriteJsonAsync(HttpContext context, int status, JsonNode? body, string? requestId = null)
    {
        context.Response.StatusCode = status;
        context.Response.Headers["x-ms-request-id"] = requestId ?? $"req-{Guid.NewGuid():n}";
        context.Response.Headers["x-ms-correlation-request-id"] = $"corr-{Guid.NewGuid():n}";
        if (body is not null)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(body.ToJsonString());
        }
    }

    public static JsonObject Error(string code, string message) =>
        new() { ["error"] = new JsonObject { ["code"] = code, ["message"] = message } };

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var recorded = new RecordedRequest(
            context.Request.Method,
            context.Request.Path.Value ?? "",
            context.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString()),
            context.Request.Headers.Authorization.ToString(),
            await reader.ReadToEndAsync(),
            DateTimeOffset.UtcNow);
        Requests.Enqueue(recorded);

        if (Handler is { } handler && await handler(context, recorded))
        {
            return;
        }

        var match = RouteRegex().Match(recorded.Path);
        if (!match.Success || !recorded.Path.StartsWith(JobPath, StringComparison.Ordinal))
        {
            await WriteJsonAsync(context, 404, Error("ResourceNotFound", "No such resource."));
            return;
        }

        var rest = match.Groups["rest"].Value;
        switch (recorded.Method, rest)
        {
            case ("GET", ""):
                await WriteJsonAsync(context, 200, new JsonObject
                {
                    ["id"] = JobPath,
                    ["name"] = JobName,
                    ["type"] = "Microsoft.App/jobs",
                    ["properties"] = new JsonObject
                    {
                        ["provisioningState"] = "Succeeded",
                        ["configuration"] = new JsonObject { ["triggerType"] = "Manual", ["replicaTimeout"] = 7200 },
                        ["template"] = JobTemplate.DeepClone(),
                    },
                });
                return;

            case ("POST", "/start"):
                var name = AddExecution(JsonNode.Parse(recorded.Body));
                await WriteJsonAsync(context, 200, new JsonObject { ["name"] = name, ["id"] = $"{JobPath}/executions/{name}" });
                return;

            case ("GET", "/executions"):
                JsonArray value;
                lock (_sync)
                {
                    value = new JsonArray(_executions.Where(e => !Hidden.Contains(e["name"]!.GetValue<string>())).Select(e => (JsonNode)e.DeepClone()).ToArray());
                }

                await WriteJsonAsync(context, 200, new JsonObject { ["value"] = value, ["nextLink"] = null });
                return;

            case ("POST", _) when rest.StartsWith("/executions/", StringComparison.Ordinal) && rest.EndsWith("/stop", StringComparison.Ordinal):
                bool stopped;
                lock (_sync)
                {
                    var target = _executions.FirstOrDefault(e => "/executions/" + e["name"]!.GetValue<string>() + "/stop" == rest);
                    stopped = target is not null;
                    if (target is not null)
                    {
                        target["properties"]!["status"] = "Stopped";
                    }
                }

                await WriteJsonAsync(context, stopped ? 202 : 404, stopped ? null : Error("ResourceNotFound", "The execution was not found."));
                return;

            case ("GET", _) when rest.StartsWith("/executions/", StringComparison.Ordinal):
                JsonObject? execution;
                lock (_sync)
                {
                    execution = _executions.FirstOrDefault(e => "/executions/" + e["name"]!.GetValue<string>() == rest && !Hidden.Contains(e["name"]!.GetValue<string>()));
                }

                await WriteJsonAsync(
                    context,
                    execution is null ? 404 : 200,
                    execution?.DeepClone() ?? Error("ResourceNotFound", "The execution was not found."));
                return;

            default:
                await WriteJsonAsync(context, 404, Error("ResourceNotFound", "No such resource."));
                return;
        }
    }

    [GeneratedRegex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.App/jobs/[^/]+(?<rest>.*)$")]
    private static partial Regex RouteRegex();
}

internal sealed record RecordedRequest(
    string Method, string Path, IReadOnlyDictionary<string, string> Query, string Authorization, string Body, DateTimeOffset At)
{
    public string? ApiVersion => Query.TryGetValue("api-version", out var value) ? value : null;
}

/// <summary>A credential that hands out one known token, as a managed identity would.</summary>
internal sealed class FakeTokenCredential : TokenCredential
{
    private int _calls;

    public int Calls => _calls;

    public IReadOnlyList<string> LastScopes { get; private set; } = [];

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        LastScopes = requestContext.Scopes;
        return new AccessToken(FakeArm.Token, DateTimeOffset.UtcNow.AddHours(1));
    }

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        new(GetToken(requestContext, cancellationToken));
}

/// <summary>
/// Test-only transport: the pipeline (and its bearer policy, which refuses anything but https) sees
/// https://127.0.0.1:port; this sends the request as plain http to that loopback port, and nowhere else.
/// </summary>
internal sealed class LoopbackHttpsTransport : HttpPipelineTransport
{
    private static readonly HttpClientTransport Inner = new(new HttpClient(new SocketsHttpHandler()));

    public override Request CreateRequest() => Inner.CreateRequest();

    public override void Process(HttpMessage message)
    {
        Downgrade(message);
        try
        {
            Inner.Process(message);
        }
        finally
        {
            message.Request.Uri.Scheme = Uri.UriSchemeHttps;
        }
    }

    public override async ValueTask ProcessAsync(HttpMessage message)
    {
        Downgrade(message);
        try
        {
            await Inner.ProcessAsync(message);
        }
        finally
        {
            // A retried request goes through the bearer policy again, which must see https.
            message.Request.Uri.Scheme = Uri.UriSchemeHttps;
        }
    }

    private static void Downgrade(HttpMessage message)
    {
        var uri = message.Request.Uri;
        if (uri.Scheme != Uri.UriSchemeHttps || !IPAddress.TryParse(uri.Host, out var address) || !IPAddress.IsLoopback(address))
        {
            throw new InvalidOperationException($"The test transport only sends to loopback, not to {uri.Host}.");
        }

        uri.Scheme = Uri.UriSchemeHttp;
    }
}
