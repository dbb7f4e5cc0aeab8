using System.ComponentModel.DataAnnotations;

namespace CronFunctions.Locking;

/// <summary>The <c>Cron:Lock</c> settings.</summary>
internal sealed class LockOptions
{
    public const string Section = "Cron:Lock";

    /// <summary>The blob container holding one lock blob per job (created on first use).</summary>
    [Required]
    [RegularExpression("^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", ErrorMessage = "ContainerName must be a valid blob container name.")]
    public string ContainerName { get; set; } = "cron-locks";

    /// <summary>
    /// How long a caller waits for a lease holder that has not yet written its run record before it breaks the lease.
    /// A holder only starts its run after writing that record under its lease, so breaking never causes a second run.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan RecordGrace { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long after a run started its runner's "not found" is not yet believed (a remote API may take a moment to
    /// list an execution it accepted); until then the run counts as alive.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan NotFoundGrace { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How many read-decide-act rounds one call tries under contention before answering busy.</summary>
    [Range(2, 20)]
    public int MaxAttempts { get; set; } = 6;
}
