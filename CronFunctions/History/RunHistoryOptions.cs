using System.ComponentModel.DataAnnotations;

namespace CronFunctions.History;

/// <summary>The <c>Cron:Runs</c> settings: where run records are kept, for how long, and how failed writes are retried.</summary>
internal sealed class RunHistoryOptions
{
    public const string Section = "Cron:Runs";

    /// <summary>The table of run records (created on first use), in the <c>AzureWebJobsStorage</c> account.</summary>
    [Required]
    [RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "TableName must be 3-63 letters or digits, starting with a letter.")]
    public string TableName { get; set; } = "cronruns";

    /// <summary>How many days of run records are kept; older ones are deleted by the hourly cleanup.</summary>
    [Range(1, 366)]
    public int RetentionDays { get; set; } = 14;

    /// <summary>Records that could not be written, kept in memory for retry at most; past this the oldest is dropped (counted, logged as an error).</summary>
    [Range(100, 1_000_000)]
    public int MaxPending { get; set; } = 10_000;

    /// <summary>How often the background writer retries unwritten records and writes each job's last check (at most once a minute per job).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often records past the retention are deleted (the first cleanup runs at the writer's first round).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromHours(1);
}
