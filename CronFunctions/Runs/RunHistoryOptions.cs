using System.ComponentModel.DataAnnotations;

namespace CronFunctions.Runs;

/// <summary>The <c>Cron:Runs</c> settings: where run records are kept and for how long.</summary>
internal sealed class RunHistoryOptions
{
    public const string Section = "Cron:Runs";

    /// <summary>Blob container of the run history: one append blob of JSON lines per hour (<c>yyyy/MM/dd/HH.jsonl</c>).</summary>
    [Required]
    [RegularExpression("^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", ErrorMessage = "ContainerName must be a valid blob container name.")]
    public string ContainerName { get; set; } = "cron-runs";

    /// <summary>How many days of records are kept; older hour blobs are deleted.</summary>
    [Range(1, 366)]
    public int RetentionDays { get; set; } = 14;

    /// <summary>How often buffered records are written (they are also written before the app stops).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Records buffered in memory at most; past this the oldest pending record is dropped and an error logged.</summary>
    [Range(100, 1_000_000)]
    public int MaxPending { get; set; } = 10_000;
}
