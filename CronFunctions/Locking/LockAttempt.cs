using CronFunctions.Runs;

namespace CronFunctions.Locking;

/// <summary>The outcome of asking for a job's lock. Busy and not-due are expected outcomes, not exceptions.</summary>
internal abstract record LockAttempt
{
    private LockAttempt()
    {
    }

    /// <summary>The lock is ours, owned by the run supervisor: start the run and tell <see cref="Run"/> how it went.</summary>
    public sealed record Acquired(OwnedRun Run) : LockAttempt;

    /// <summary>Another run holds the lock and is alive (or cannot be proved dead yet).</summary>
    public sealed record Busy(string? RunningRunId) : LockAttempt;

    /// <summary>No scheduled time has passed since the last run really started.</summary>
    public sealed record NotDue(DateTimeOffset NextDue, string? LastRunId) : LockAttempt;
}

/// <summary>The lock store (blob storage) could not be reached or answered unexpectedly: never run without the lock.</summary>
internal sealed class LockUnavailableException(string message, Exception innerException) : Exception(message, innerException);
