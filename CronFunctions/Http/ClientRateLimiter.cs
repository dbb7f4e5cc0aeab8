using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace CronFunctions.Http;

/// <summary>Which budget a call is charged to.</summary>
internal enum Budget
{
    /// <summary>A call with a valid token, charged to its endpoint: refusals can never use it up.</summary>
    Authenticated,

    /// <summary>A refused call (bad or missing token, wrong method), charged to its client.</summary>
    Refused,

    /// <summary>A call to an endpoint that needs no token (health), charged to its client.</summary>
    Public,
}

/// <summary>
/// Request limits (<see cref="System.Threading.RateLimiting"/>): a sliding window per (budget, key), where the key is
/// the endpoint for authenticated calls and the client's address otherwise. Idle windows are dropped by the limiter.
/// </summary>
internal sealed class ClientRateLimiter : IDisposable
{
    private const int Segments = 6;
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly PartitionedRateLimiter<(Budget Budget, string Key)> _limiter;

    public ClientRateLimiter(IOptions<RateLimitOptions> options)
    {
        var settings = options.Value;
        _limiter = PartitionedRateLimiter.Create<(Budget Budget, string Key), (Budget, string)>(key => RateLimitPartition.GetSlidingWindowLimiter(
            key,
            k => new SlidingWindowRateLimiterOptions
            {
                PermitLimit = k.Item1 switch
                {
                    Budget.Authenticated => settings.PermitsPerMinute,
                    Budget.Refused => settings.RefusalsPerMinute,
                    _ => settings.PublicPerMinute,
                },
                Window = Window,
                SegmentsPerWindow = Segments,
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    /// <summary>Takes a permit from <paramref name="budget"/> for <paramref name="key"/>; when none is left, says how long to wait.</summary>
    public bool TryAcquire(Budget budget, string key, out TimeSpan retryAfter)
    {
        using var lease = _limiter.AttemptAcquire((budget, key));
        retryAfter = lease.IsAcquired ? TimeSpan.Zero
            : lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) && wait > TimeSpan.Zero ? wait : Window / Segments;
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}
