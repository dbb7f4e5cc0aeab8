using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;

namespace CronFunctions.Runners.ContainerApps;

/// <summary>
/// The few Azure Resource Manager calls the runner makes on a Container Apps Job, and nothing else.
/// Error statuses come back as <see cref="ArmResponse"/> values; transport failures, timeouts and credential
/// failures are thrown as the SDK throws them.
/// </summary>
internal interface IContainerAppsArmClient
{
    /// <summary><c>GET .../jobs/{job}</c>: the job, whose <c>properties.template</c> the start request is built from.</summary>
    Task<ArmResponse> GetJobAsync(ContainerAppsJobTarget job, CancellationToken cancellationToken);

    /// <summary>
    /// <c>POST .../jobs/{job}/start</c> with a <c>JobExecutionTemplate</c> body. Sent exactly once: never retried,
    /// because a repeated start can start a second execution.
    /// </summary>
    Task<ArmResponse> StartAsync(ContainerAppsJobTarget job, JsonObject executionTemplate, CancellationToken cancellationToken);

    /// <summary>GET on a <c>Location</c>/<c>Azure-AsyncOperation</c> or <c>nextLink</c> URL of the ARM endpoint itself.</summary>
    Task<ArmResponse> GetUrlAsync(Uri url, CancellationToken cancellationToken);

    /// <summary><c>GET .../jobs/{job}/executions</c> (first page).</summary>
    Task<ArmResponse> ListExecutionsAsync(ContainerAppsJobTarget job, CancellationToken cancellationToken);

    /// <summary><c>GET .../jobs/{job}/executions/{name}</c>.</summary>
    Task<ArmResponse> GetExecutionAsync(ContainerAppsJobTarget job, string executionName, CancellationToken cancellationToken);

    /// <summary><c>POST .../jobs/{job}/executions/{name}/stop</c>: stops a running execution (sent once, like a start).</summary>
    Task<ArmResponse> StopExecutionAsync(ContainerAppsJobTarget job, string executionName, CancellationToken cancellationToken);
}

/// <summary>One ARM response as the runner needs it: status, JSON body and the headers worth logging or following.</summary>
internal sealed record ArmResponse(
    int Status,
    JsonNode? Body,
    string? RequestId = null,
    string? CorrelationRequestId = null,
    string? Location = null,
    string? AzureAsyncOperation = null,
    TimeSpan? RetryAfter = null)
{
    public bool IsSuccess => Status is >= 200 and < 300;

    /// <summary>ARM's <c>error.code</c> (e.g. <c>AuthorizationFailed</c>), when the body has one.</summary>
    public string? ErrorCode => ReadString(Body?["error"]?["code"]);

    /// <summary>ARM's <c>error.message</c>, shortened: for logs only, never for callers.</summary>
    public string? ErrorMessage => ReadString(Body?["error"]?["message"]) is { } message
        ? (message.Length > 300 ? message[..300] : message)
        : null;

    public static ArmResponse From(Response response, DateTimeOffset now)
    {
        JsonNode? body = null;
        if (response.Content is { } content && !content.ToMemory().IsEmpty)
        {
            try
            {
                body = JsonNode.Parse(content.ToMemory().Span);
            }
            catch (JsonException)
            {
                // Not JSON (an HTML error page from a proxy): the status and headers still say what happened.
            }
        }

        return new ArmResponse(
            response.Status,
            body,
            Header(response, "x-ms-request-id"),
            Header(response, "x-ms-correlation-request-id"),
            Header(response, "Location"),
            Header(response, "Azure-AsyncOperation"),
            ParseRetryAfter(Header(response, "Retry-After"), now));
    }

    internal static TimeSpan? ParseRetryAfter(string? value, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(seconds);
        }

        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when)
            ? (when > now ? when - now : TimeSpan.Zero)
            : null;
    }

    private static string? Header(Response response, string name) =>
        response.Headers.TryGetValue(name, out var value) ? value : null;

    private static string? ReadString(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
}
