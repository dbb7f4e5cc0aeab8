using System.ComponentModel.DataAnnotations;

namespace CronFunctions.Http;

/// <summary>
/// The <c>Cron:RateLimit</c> settings: three separate budgets, so that refusals can never use up what authenticated
/// callers need. Limits are per app instance; the token, not the budget, is what keeps callers out.
/// </summary>
internal sealed class RateLimitOptions
{
    public const string Section = "Cron:RateLimit";

    /// <summary>
    /// Authenticated calls per endpoint (job) per minute, whoever makes them: far above what a schedule needs (one call
    /// a minute, plus retries and manual runs), so only a runaway caller with the token ever meets it.
    /// </summary>
    [Range(1, 100_000)]
    public int PermitsPerMinute { get; set; } = 120;

    /// <summary>Refused calls (bad or missing token, wrong method) per client per minute; past it they answer 429.</summary>
    [Range(1, 100_000)]
    public int RefusalsPerMinute { get; set; } = 30;

    /// <summary>Calls to endpoints without a token (health) per client per minute.</summary>
    [Range(1, 100_000)]
    public int PublicPerMinute { get; set; } = 60;

    /// <summary>How often the count of refused calls is logged (one line per interval, never one per call).</summary>
    [Range(typeof(TimeSpan), "00:00:10", "01:00:00")]
    public TimeSpan RefusalSummaryInterval { get; set; } = TimeSpan.FromMinutes(1);
}
