using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace CronFunctions.Http;

/// <summary>A status code, optional headers and a <see cref="CronResponse"/> body, written without MVC.</summary>
internal sealed class CronResult(int statusCode, CronResponse body, params (string Name, string Value)[] headers) : IActionResult
{
    public int StatusCode { get; } = statusCode;

    public CronResponse Body { get; } = body;

    public IReadOnlyList<(string Name, string Value)> Headers { get; } = headers;

    public async Task ExecuteResultAsync(ActionContext context)
    {
        var response = context.HttpContext.Response;
        response.StatusCode = StatusCode;
        foreach (var (name, value) in Headers)
        {
            response.Headers[name] = value;
        }

        response.Headers.CacheControl = "no-store";
        response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(response.Body, Body, CronJsonContext.Default.CronResponse, context.HttpContext.RequestAborted)
            .ConfigureAwait(false);
    }
}
