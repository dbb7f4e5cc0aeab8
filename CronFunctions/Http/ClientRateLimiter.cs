using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace CronFunctions.Http;

/// <summary>
/// Per-client request limits (<see cref="System.Threading.RateLimiting"/>): a sliding window per client address,
/// where a failed token check costs a second permit, so guessing tokens runs out twice as fast.
/// The address is the first <c>X-Forwarded-For</c> entry (as Azure's front end sets it), port stripped; limits are
/// per app instance and only slow a client down: the bearer token is what keeps callers out.
/// </summary>
internal sealed class ClientRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;
    private readonly TimeSpan _segment;

    public ClientRateLimiter(IOptions<RateLimitOptions> options)
    {
        var permits = options.Value.PermitsPerMinute;
        var window = TimeSpan.FromMinutes(1);
        const int segments = 6;
        _segment = window / segments;
        _limiter = PartitionedRateLimiter.Create<string, string>(client => RateLimitPartition.GetSlidingWindowLimiter(
            client,
            _ => new SlidingWindowRateLimiterOptions
            {
                PermitLimit = permits,
                Window = window,
                SegmentsPerWindow = segments,
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    /// <summary>Takes a permit for <paramref name="client"/>; when none is left, says how long to wait.</summary>
    public bool TryAcquire(string client, out TimeSpan retryAfter)
    {
        using var lease = _limiter.AttemptAcquire(client);
        retryAfter = lease.IsAcquired ? TimeSpan.Zero
            : lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) && wait > TimeSpan.Zero ? wait : _segment;
        return lease.IsAcquired;
    }

    /// <summary>Charges a failed token check a second permit.</summary>
    public void Penalize(string client)
    {
        using var lease = _limiter.AttemptAcquire(client);
    }

    public void Dispose() => _limiter.Dispose();

    /// <summary>
    /// The client's address: the first <c>X-Forwarded-For</c> entry with any port removed (<c>1.2.3.4:5678</c>,
    /// <c>[2001:db8::1]:443</c>, <c>2001:db8::1</c>), else the connection's remote address.
    /// </summary>
    public static string ClientOf(HttpRequest request)
    {
        var forwarded = request.Headers["X-Forwarded-For"].ToString();
        if (forwarded.Length > 0)
        {
            var first = forwarded.Split(',')[0].Trim();
            if (IPAddress.TryParse(first, out var address) || (IPEndPoint.TryParse(first, out var endpoint) && (address = endpoint.Address) is not null))
            {
                return (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();
            }
        }

        return request.HttpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
    }
}
