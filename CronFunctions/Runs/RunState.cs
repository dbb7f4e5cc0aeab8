namespace CronFunctions.Runs;

/// <summary>
/// Where a run is in its life (see <c>shared/design/run-lifecycle.md</c>). One closed set, stored in the lock blob's
/// record; every decision over it is in <see cref="LockDecisions"/>.
/// </summary>
internal enum RunState
{
    /// <summary>The lease is taken and the record written; the runner has not answered yet.</summary>
    Starting,

    /// <summary>A remote start whose answer was lost: the lock is held until the runner proves it started or not.</summary>
    StartUnknown,

    /// <summary>The runner accepted the run: it uses up its schedule slot.</summary>
    Running,

    /// <summary>The run ended (any outcome) after running.</summary>
    Ended,

    /// <summary>The runner refused or never started the run: its slot is not used, the job is still due.</summary>
    FailedToStart,

    /// <summary>The run was stopped by its owner's shutdown (or lost its owner) after running.</summary>
    Interrupted,
}

/// <summary>How runs end, as recorded in the lock's record and the run history.</summary>
internal static class RunOutcomes
{
    public const string Succeeded = "Succeeded";
    public const string Failed = "Failed";
    public const string TimedOut = "TimedOut";
    public const string Interrupted = "Interrupted";

    /// <summary>Its owner died or lost the lock, so the run was stopped by its lifeline; found by a later caller.</summary>
    public const string Abandoned = "Abandoned";

    /// <summary>A remote execution stopped at its deadline.</summary>
    public const string Stopped = "Stopped";

    public const string FailedToStart = "FailedToStart";

    /// <summary>Its owner lost the lock (the lease broken, or not renewed in time), so it stopped the run.</summary>
    public const string LockLost = "LockLost";
}

internal static class RunStates
{
    /// <summary>Whether a record in this state names a run that may be alive.</summary>
    public static bool IsLive(this RunState state) => state is RunState.Starting or RunState.StartUnknown or RunState.Running;

    /// <summary>Whether the run really started, so that it uses up its schedule slot.</summary>
    public static bool CountsAsStarted(this RunState state) => state is RunState.Running or RunState.Ended or RunState.Interrupted;

    public static string ToMetadata(this RunState state) => state switch
    {
        RunState.Starting => "starting",
        RunState.StartUnknown => "unknown",
        RunState.Running => "running",
        RunState.Ended => "ended",
        RunState.FailedToStart => "failed",
        RunState.Interrupted => "interrupted",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    public static RunState? FromMetadata(string? value) => value?.ToLowerInvariant() switch
    {
        "starting" => RunState.Starting,
        "unknown" => RunState.StartUnknown,
        "running" => RunState.Running,
        "ended" => RunState.Ended,
        "failed" => RunState.FailedToStart,
        "interrupted" => RunState.Interrupted,
        _ => null,
    };
}
