using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.Options;

namespace CronFunctions.Runners.ContainerApps;

/// <summary>
/// <see cref="IContainerAppsArmClient"/> over an Azure.Core pipeline: bearer token from a <see cref="TokenCredential"/>,
/// reads retried by the usual policy, the start request never retried (<see cref="ReadsOnlyRetryPolicy"/>).
/// </summary>
/// <remarks>
/// Built on first use, not in the constructor, so that resolving the runner costs nothing (and needs no settings)
/// in a deployment where no job uses it.
/// </remarks>
internal sealed class ArmContainerAppsClient : IContainerAppsArmClient
{
    private readonly IOptions<ContainerAppsOptions> _options;
    private readonly Func<ContainerAppsOptions, TokenCredential> _credentialFactory;
    private readonly HttpPipelineTransport? _transport;
    private readonly TimeProvider _timeProvider;
    private readonly Lazy<Pipeline> _pipeline;

    /// <param name="options">The runner's settings (validated when first read).</param>
    /// <param name="credentialFactory">The identity that calls ARM.</param>
    /// <param name="timeProvider">The clock, for <c>Retry-After</c> dates.</param>
    /// <param name="transport">
    /// Where requests go; null for the default HTTP client. A seam for tests: the production path has no way to
    /// send the token over plain http.
    /// </param>
    public ArmContainerAppsClient(
        IOptions<ContainerAppsOptions> options,
        Func<ContainerAppsOptions, TokenCredential> credentialFactory,
        TimeProvider timeProvider,
        HttpPipelineTransport? transport = null)
    {
        _options = options;
        _credentialFactory = credentialFactory;
        _timeProvider = timeProvider;
        _transport = transport;

        // PublicationOnly: a failure (missing settings) is not cached, so fixing the settings needs no restart
        // of this object's owner.
        _pipeline = new Lazy<Pipeline>(CreatePipeline, LazyThreadSafetyMode.PublicationOnly);
    }

    public Task<ArmResponse> GetJobAsync(ContainerAppsJobTarget job, CancellationToken cancellationToken) =>
        SendAsync(RequestMethod.Get, ResourceUri(JobPath(job)), body: null, cancellationToken);

    public Task<ArmResponse> StartAsync(ContainerAppsJobTarget job, JsonObject executionTemplate, CancellationToken cancellationToken) =>
        SendAsync(RequestMethod.Post, ResourceUri(JobPath(job) + "/start"), executionTemplate, cancellationToken);

    public Task<ArmResponse> GetUrlAsync(Uri url, CancellationToken cancellationToken)
    {
        if (!IsResourceManagerUrl(url, _pipeline.Value.Options.ResourceManagerEndpoint))
        {
            // Never send the bearer token to a host a response named.
            throw new ArgumentException("Only URLs of the configured Resource Manager endpoint are followed.", nameof(url));
        }

        return SendAsync(RequestMethod.Get, url, body: null, cancellationToken);
    }

    public Task<ArmResponse> ListExecutionsAsync(ContainerAppsJobTarget job, CancellationToken cancellationToken) =>
        SendAsync(RequestMethod.Get, ResourceUri(JobPath(job) + "/executions"), body: null, cancellationToken);

    public Task<ArmResponse> GetExecutionAsync(ContainerAppsJobTarget job, string executionName, CancellationToken cancellationToken) =>
        SendAsync(
            RequestMethod.Get,
            ResourceUri(JobPath(job) + "/executions/" + Uri.EscapeDataString(executionName)),
            body: null,
            cancellationToken);

    public Task<ArmResponse> StopExecutionAsync(ContainerAppsJobTarget job, string executionName, CancellationToken cancellationToken) =>
        SendAsync(
            RequestMethod.Post,
            ResourceUri(JobPath(job) + "/executions/" + Uri.EscapeDataString(executionName) + "/stop"),
            body: null,
            cancellationToken);

    /// <summary>Whether <paramref name="url"/> is an https URL of the Resource Manager endpoint (same scheme, host and port).</summary>
    public static bool IsResourceManagerUrl(Uri url, Uri endpoint) =>
        url.IsAbsoluteUri
        && url.Scheme == Uri.UriSchemeHttps
        && Uri.Compare(url, endpoint, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;

    private static string JobPath(ContainerAppsJobTarget job) =>
        $"/subscriptions/{Uri.EscapeDataString(job.SubscriptionId)}"
        + $"/resourceGroups/{Uri.EscapeDataString(job.ResourceGroup)}"
        + $"/providers/Microsoft.App/jobs/{Uri.EscapeDataString(job.JobName)}";

    private Uri ResourceUri(string escapedPath)
    {
        var options = _pipeline.Value.Options;
        var builder = new UriBuilder(options.ResourceManagerEndpoint)
        {
            Path = escapedPath,
            Query = "api-version=" + Uri.EscapeDataString(options.ApiVersion),
        };
        return builder.Uri;
    }

    private async Task<ArmResponse> SendAsync(RequestMethod method, Uri uri, JsonObject? body, CancellationToken cancellationToken)
    {
        var (options, pipeline) = _pipeline.Value;
        using var message = pipeline.CreateMessage();
        message.NetworkTimeout = options.NetworkTimeout;

        var request = message.Request;
        request.Method = method;
        request.Uri.Reset(uri);
        request.Headers.SetValue(HttpHeader.Names.Accept, "application/json");
        if (body is not null)
        {
            request.Headers.SetValue(HttpHeader.Names.ContentType, "application/json");
            request.Content = RequestContent.Create(BinaryData.FromString(body.ToJsonString()));
        }

        await pipeline.SendAsync(message, cancellationToken).ConfigureAwait(false);
        return ArmResponse.From(message.Response, _timeProvider.GetUtcNow());
    }

    private Pipeline CreatePipeline()
    {
        var options = _options.Value;
        var clientOptions = new ArmClientOptions();
        clientOptions.Diagnostics.ApplicationId = "CronFunctions";
        clientOptions.Retry.NetworkTimeout = options.NetworkTimeout;
        clientOptions.RetryPolicy = new ReadsOnlyRetryPolicy(
            options.MaxReadRetries,
            DelayStrategy.CreateExponentialDelayStrategy(options.RetryDelay, maxDelay: TimeSpan.FromSeconds(30)));
        if (_transport is not null)
        {
            clientOptions.Transport = _transport;
        }

        var pipeline = HttpPipelineBuilder.Build(
            clientOptions,
            perCallPolicies: [],
            perRetryPolicies: [new BearerTokenAuthenticationPolicy(_credentialFactory(options), options.TokenScope)],
            new ResponseClassifier());
        return new Pipeline(options, pipeline);
    }

    private sealed record Pipeline(ContainerAppsOptions Options, HttpPipeline Http);

    private sealed class ArmClientOptions : ClientOptions;
}

/// <summary>
/// Azure.Core's retry policy, limited to requests that are safe to repeat. Its default retries a request on
/// 408/429/5xx, timeouts and IO errors whatever the method; a repeated <c>jobs/start</c> POST can start a second
/// execution, so a POST is sent once and its failures are left to the caller.
/// </summary>
internal sealed class ReadsOnlyRetryPolicy(int maxRetries, DelayStrategy delayStrategy) : RetryPolicy(maxRetries, delayStrategy)
{
    protected override bool ShouldRetry(HttpMessage message, Exception? exception) =>
        IsSafeToRepeat(message) && base.ShouldRetry(message, exception);

    protected override ValueTask<bool> ShouldRetryAsync(HttpMessage message, Exception? exception) =>
        IsSafeToRepeat(message) ? base.ShouldRetryAsync(message, exception) : new ValueTask<bool>(false);

    private static bool IsSafeToRepeat(HttpMessage message) =>
        message.Request.Method == RequestMethod.Get || message.Request.Method == RequestMethod.Head;
}
