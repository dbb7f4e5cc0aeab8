using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CronFunctions.Testing;

/// <summary>
/// Calls a function method the way the Functions worker does with ASP.NET Core integration: the class activated from
/// the app's services, the method given the request (plus route values) and a cancellation token, and the
/// <see cref="IActionResult"/> it returns executed into the response.
/// </summary>
internal static class FunctionInvoker
{
    /// <summary>Invokes <paramref name="function"/> of <paramref name="functions"/> (a class, static or not) and returns the response body.</summary>
    public static async Task<byte[]> InvokeAsync(Type functions, HttpContext context, string function, IReadOnlyList<object?> routeValues, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream();
        context.Response.Body = body;
        var method = functions.GetMethod(function)
            ?? throw new InvalidOperationException($"{functions.Name} has no function method {function}.");
        var instance = method.IsStatic ? null : ActivatorUtilities.CreateInstance(context.RequestServices, functions);
        object?[] arguments = [context.Request, .. routeValues, cancellationToken];
        var result = await ((Task<IActionResult>)method.Invoke(instance, arguments)!).ConfigureAwait(false);
        await result.ExecuteResultAsync(new ActionContext(context, new RouteData(), new ActionDescriptor())).ConfigureAwait(false);
        return body.ToArray();
    }
}
