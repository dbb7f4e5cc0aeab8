using System.ComponentModel.DataAnnotations;

namespace CronFunctions.Http;

/// <summary>The <c>Cron:RateLimit</c> settings. Limits are per app instance; the token, not the address, is the gate.</summary>
internal sealed class RateLimitOptions
{
    public const string Section = "Cron:RateLimit";

    /// <summary>Requests a client may make per minute (a sliding window of six 10-second segments).</summary>
    [Range(1, 100_000)]
    public int PermitsPerMinute { get; set; } = 60;
}
