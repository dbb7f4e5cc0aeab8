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
