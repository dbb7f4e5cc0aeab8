using System.Globalization;
using CronFunctions.Diagnostics;
using CronFunctions.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace CronFunctions.Http;

/// <summary>
/// What every endpoint checks first: the method (405 with <c>Allow</c>) and the bearer token (401 with
/// <c>WWW-Authenticate: Bearer</c>), then the budgets. A refused call is only counted (<see cref="RefusalCounter"/>):
/// no log line, no record, no storage — and it is charged to the refusal budget of its client, never to the budget of
/// authenticated calls, so a flood of bad tokens cannot make a valid call answer 429.
/// </summary>
internal sealed class RequestGate(ClientRateLimiter limiter, BearerTokenValidator tokens, RefusalCounter refusals, ClientAddress addresses, ILogger<RequestGate> logger)
{
    private static readonly CronResult Unauthorized =
        CronResult.Fixed(StatusCodes.Status401Unauthorized, CronResponse.ClientError("Unauthorized"), (HeaderNames.WWWAuthenticate, "Bearer"));

    private static readonly CronResult?[] TooManyBySeconds = new CronResult?[61];
    private static readonly CronResult PostOnly = NotAllowed(HttpMethods.Post);
    private static readonly CronResult GetOnly = NotAllowed(HttpMethods.Get);

    /// <summary>Null when the call may go on (<paramref name="client"/> is its address), else the answer that refuses it.</summary>
    public CronResult? Admit(HttpRequest request, string endpoint, string method, out string client, bool requireToken = true)
    {
        client = addresses.Of(request);
        string? reason = null;
        CronResult? refused = null;
        if (!string.Equals(request.Method, method, StringComparison.OrdinalIgnoreCase))
        {
            reason = "method";
            refused = method == HttpMethods.Post ? PostOnly : method == HttpMethods.Get ? GetOnly : NotAllowed(method);
        }
        else if (requireToken && tokens.Check(request) is var token && token != TokenCheck.Accepted)
        {
            reason = token switch
            {
                TokenCheck.Missing => "token_missing",
                TokenCheck.Malformed => "token_malformed",
                TokenCheck.NotConfigured => "token_not_configured",
                _ => "token_invalid",
            };
            refused = Unauthorized;
        }

        if (refused is not null)
        {
            if (!limiter.TryAcquire(Budget.Refused, client, out var wait))
            {
                refusals.Count(endpoint, "rate_limited", client);
                return TooMany(wait);
            }

            refusals.Count(endpoint, reason!, client);
            return refused;
        }

        var (budget, key) = requireToken ? (Budget.Authenticated, endpoint) : (Budget.Public, client);
        if (!limiter.TryAcquire(budget, key, out var retryAfter))
        {
            var seconds = Seconds(retryAfter);
            Log.RateLimited(logger, client, endpoint, seconds);
            return TooMany(retryAfter);
        }

        return null;
    }

    private static CronResult NotAllowed(string method) =>
        CronResult.Fixed(StatusCodes.Status405MethodNotAllowed, CronResponse.ClientError($"Method not allowed; use {method}."), (HeaderNames.Allow, method));

    /// <summary>The 429 for a wait of so many seconds (one fixed answer per second of the one-minute window).</summary>
    private static CronResult TooMany(TimeSpan retryAfter)
    {
        var seconds = Math.Min(Seconds(retryAfter), TooManyBySeconds.Length - 1);
        return TooManyBySeconds[seconds] ??= CronResult.Fixed(
            StatusCodes.Status429TooManyRequests,
            CronResponse.ClientError("Rate limit exceeded"),
            (HeaderNames.RetryAfter, seconds.ToString(CultureInfo.InvariantCulture)));
    }

    private static int Seconds(TimeSpan wait) => Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
}
