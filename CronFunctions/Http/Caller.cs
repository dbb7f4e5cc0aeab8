using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace CronFunctions.Http;

/// <summary>
/// Who called, for logs and run records: client address (<see cref="ClientAddress"/>), correlation id
/// (<c>X-Correlation-ID</c>), the Cloudflare zone (<c>CF-Worker</c>), the trigger's slot (<c>X-Scheduled-Time</c>, as
/// the scheduler sent it: recorded, never used to decide — slots are decided on the lock's clock) and the body's
/// <c>source</c>. Every value is bounded and printable so a caller cannot forge log lines; none is trusted for anything.
/// </summary>
internal sealed record Caller(string Client, string? CorrelationId, string? CfWorker, string? ScheduledTime = null, string? Source = null)
{
    public const string CorrelationHeader = "X-Correlation-ID";
    public const string CfWorkerHeader = "CF-Worker";
    public const string ScheduledTimeHeader = "X-Scheduled-Time";
    private const int MaxBody = 4096;

    public static Caller From(HttpRequest request, string client) => new(
        client,
        Printable(request.Headers[CorrelationHeader].ToString(), 128),
        Printable(request.Headers[CfWorkerHeader].ToString(), 128),
        ScheduledTimeOf(request.Headers[ScheduledTimeHeader].ToString()));

    /// <summary>The header as the scheduler sent it when it is a printable date and time (ISO 8601), else null.</summary>
    private static string? ScheduledTimeOf(string value) =>
        Printable(value, 64) is { } printable
        && DateTimeOffset.TryParse(printable, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out _)
            ? printable
            : null;

    /// <summary>Reads <c>{"source": "..."}</c> from a small JSON body; anything else is ignored (the body is optional).</summary>
    public async Task<Caller> WithSourceAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var declared = request.ContentLength;
        if (declared is 0 or > MaxBody || (declared is null && request.Headers.TransferEncoding.Count == 0))
        {
            return this;
        }

        var buffer = new byte[MaxBody];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
        {
            length += read;
        }

        try
        {
            var reader = new Utf8JsonReader(buffer.AsSpan(0, length));
            using var document = JsonDocument.ParseValue(ref reader);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("source", out var source)
                && source.ValueKind == JsonValueKind.String
                    ? this with { Source = Printable(source.GetString(), 64) }
                    : this;
        }
        catch (JsonException)
        {
            return this;
        }
    }

    private static string? Printable(string? value, int maxLength) =>
        !string.IsNullOrEmpty(value) && value.Length <= maxLength
            && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':' or '/' or '@' or '+' or ' ')
            ? value
            : null;
}
