using CronFunctions.Diagnostics;
using CronFunctions.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace CronFunctions.Http;

/// <summary>Why a call was turned away before reaching its endpoint's work.</summary>
internal enum Refusal
{
    None,
    RateLimited,
    MethodNotAllowed,
    Unauthorized,
}

/// <summary>
/// What every endpoint checks first, in this order: the client's rate limit (so a flood costs nothing more), the
/// method (405 with <c>Allow</c>), then the bearer token (401 with <c>WWW-Authenticate: Bearer</c>; a failure also
/// costs the client a second permit).
/// </summary>
internal sealed class RequestGate(ClientRateLimiter limiter, BearerTokenValidator tokens, ILogger<RequestGate> logger)
{
    public (Refusal Refusal, CronResult? Result, Caller Caller) Admit(HttpRequest request, string endpoint, string method, bool requireToken = true)
    {
        var caller = Caller.From(request);
        if (!limiter.TryAcquire(caller.Client, out var retryAfter))
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            Log.RateLimited(logger, caller.Client, endpoint, seconds);
            return (Refusal.RateLimited, new CronResult(
                StatusCodes.Status429TooManyRequests,
                CronResponse.ClientError("Rate limit exceeded"),
                (HeaderNames.RetryAfter, seconds.ToString(System.Globalization.CultureInfo.InvariantCulture))), caller);
        }

        if (!string.Equals(request.Method, method, StringComparison.OrdinalIgnoreCase))
        {
            Log.MethodNotAllowed(logger, endpoint, request.Method);
            return (Refusal.MethodNotAllowed, new CronResult(
                StatusCodes.Status405MethodNotAllowed,
                CronResponse.ClientError($"Method not allowed; use {method}."),
                (HeaderNames.Allow, method)), caller);
        }

        if (requireToken)
        {
            var token = tokens.Check(request);
            if (token != TokenCheck.Accepted)
            {
                limiter.Penalize(caller.Client);
                Log.Refused(logger, endpoint, token.ToString());
                return (Refusal.Unauthorized, new CronResult(
                    StatusCodes.Status401Unauthorized,
                    CronResponse.ClientError("Unauthorized"),
                    (HeaderNames.WWWAuthenticate, "Bearer")), caller);
            }
        }

        return (Refusal.None, null, caller);
    }
}
