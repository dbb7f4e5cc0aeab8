using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Net.Http.Headers;

namespace TrivialApp;

/// <summary>
/// The floor CronFunctions' refused path is measured against: what the platform costs for a call that is answered
/// 401 <c>{"error":"Unauthorized"}</c> with <c>WWW-Authenticate: Bearer</c>, and nothing else.
/// </summary>
/// <remarks>
/// Public on purpose: the Worker SDK's generated <c>DirectFunctionExecutor</c> calls a function directly only when its
/// class is public; for an internal class it builds a <c>DefaultFunctionExecutor</c> per call, which compiles the
/// invoker's expression tree on every invocation (Worker.Sdk 2.1.0, Worker 2.52.0).
/// </remarks>
public sealed class TrivialFunction
{
    private const string Body = """{"error":"Unauthorized"}""";

    [Function("Trivial")]
    public static IActionResult Run([HttpTrigger(AuthorizationLevel.Anonymous, Route = "cron/trivial")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.HttpContext.Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer";
        return new ContentResult { StatusCode = StatusCodes.Status401Unauthorized, Content = Body, ContentType = "application/json; charset=utf-8" };
    }
}
