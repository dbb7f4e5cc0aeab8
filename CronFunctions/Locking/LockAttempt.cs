namespace CronFunctions.Locking;

/// <summary>The outcome of asking for a job's lock. Busy and not-due are expected outcomes, not exceptions.</summary>
internal abstract record LockAttempt
{
    private LockAttempt()
    {
    }

    /// <summary>The lock is ours: start the run, then record its handle on <see cref="Lease"/>.</summary>
    public sealed record Acquired(JobLease Lease) : LockAttempt;

    /// <summary>Another run holds the lock and is alive (or cannot be proved dead before its deadline).</summary>
    public sealed record Busy(string? RunningRunId) : LockAttempt;

    /// <summary>No scheduled time has passed since the last run started.</summary>
    public sealed record NotDue(DateTimeOffset NextDue, string? LastRunId) : LockAttempt;
}

/// <summary>The lock store (blob storage) could not be reached or answered unexpectedly: never run without the lock.</summary>
internal sealed class LockUnavailableException(string message, Exception innerException) : Exception(message, innerException);
