using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace CronFunctions.Http;

/// <summary>A status code, optional headers and a JSON body (source-generated serialization), written without MVC.</summary>
internal sealed class CronResult : IActionResult
{
    private readonly Func<Stream, CancellationToken, Task> _writeBody;

    public CronResult(int statusCode, CronResponse body, params (string Name, string Value)[] headers)
        : this(statusCode, (stream, ct) => JsonSerializer.SerializeAsync(stream, body, CronJsonContext.Default.CronResponse, ct), headers)
    {
    }

    private CronResult(int statusCode, Func<Stream, CancellationToken, Task> writeBody, (string Name, string Value)[] headers)
    {
        StatusCode = statusCode;
        _writeBody = writeBody;
        Headers = headers;
    }

    public int StatusCode { get; }

    public IReadOnlyList<(string Name, string Value)> Headers { get; }

    public static CronResult Json<T>(int statusCode, T body, JsonTypeInfo<T> typeInfo) =>
        new(statusCode, (stream, ct) => JsonSerializer.SerializeAsync(stream, body, typeInfo, ct), []);

    /// <summary>
    /// An answer whose body never changes, serialized once: refusals are answered thousands of times a second in a
    /// flood, and should cost no more than writing a few bytes. Immutable, so one instance serves every call.
    /// </summary>
    public static CronResult Fixed(int statusCode, CronResponse body, params (string Name, string Value)[] headers)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(body, CronJsonContext.Default.CronResponse);
        return new(statusCode, (stream, ct) => stream.WriteAsync(bytes, ct).AsTask(), headers);
    }

    public async Task ExecuteResultAsync(ActionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = context.HttpContext.Response;
        response.StatusCode = StatusCode;
        foreach (var (name, value) in Headers)
        {
            response.Headers[name] = value;
        }

        response.Headers.CacheControl = "no-store";
        response.ContentType = "application/json; charset=utf-8";
        await _writeBody(response.Body, context.HttpContext.RequestAborted).ConfigureAwait(false);
    }
}
