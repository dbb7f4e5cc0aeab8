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
    /// The lease on a job's lock blob (Azure allows 15–60 s). Its owner renews it every tenth of this while the run
    /// lives; when the owner dies, the lock is free again within this time. A local run dies a quarter of it before
    /// its owner's lease can expire, so a storage outage of up to 0.65 of it (32 s with the default) does not stop a
    /// run. The default, 50 s, leaves a once-a-minute caller a margin: the call after an owner is lost starts the job.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:15", "00:01:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(50);

    /// <summary>How many read-decide-act rounds one call tries under contention before answering busy.</summary>
    [Range(2, 20)]
    public int MaxAttempts { get; set; } = 6;

    /// <summary>How often the owner renews the lease (one request: 12 a minute per live run with the default).</summary>
    public TimeSpan RenewInterval => LeaseDuration / 10;

    /// <summary>How long after a renewal (or the acquire) was sent a local run may live unless renewed again.</summary>
    public TimeSpan LifelineBudget => LeaseDuration - (LeaseDuration / 4);
}
