using CronFunctions.Jobs;

namespace CronFunctions.Runners;

/// <summary>
/// Starts a job run somewhere (a local process, a Container Apps Job execution) and answers whether a run
/// it started is still alive. The lock calls <see cref="GetStatusAsync"/> to decide whether a held lock may be
/// taken over, so a runner must never answer <see cref="RunLiveness.Ended"/> for a run that may still run.
/// </summary>
internal interface IJobRunner
{
    /// <summary>The runner kind written into run records and matched against <see cref="RunHandle.Runner"/>.</summary>
    string Kind { get; }

    /// <summary>
    /// Starts the run. Returns once the run is started (never waits for it to end). A runner that can observe
    /// the end of its run calls <see cref="RunRequest.OnEnded"/> exactly once when it ends.
    /// Throws <see cref="RunnerException"/> with a caller-safe message when the run could not be started.
    /// </summary>
    Task<RunHandle> StartAsync(RunRequest request, CancellationToken cancellationToken);

    /// <summary>Whether the run behind <paramref name="handle"/> is still alive, as far as this runner can tell.</summary>
    Task<RunStatus> GetStatusAsync(RunHandle handle, CancellationToken cancellationToken);
}

/// <summary>What to run: the job, its full argument list after <c>manage.py</c>, and the run's identity and deadline.</summary>
internal sealed record RunRequest(
    string RunId,
    JobDefinition Job,
    IReadOnlyList<string> Arguments,
    DateTimeOffset StartedAt,
    TimeSpan MaxRuntime,
    Func<RunOutcome, Task> OnEnded);

/// <summary>
/// A started run as the lock stores it: which runner, its handle (a pid, an execution name), and where.
/// <see cref="Pid"/> is set for local processes, <see cref="Execution"/> for container executions.
/// </summary>
internal sealed record RunHandle(string Runner, string Id, string? Host = null, int? Pid = null, string? Execution = null, long? ProcessStartTicks = null);

internal enum RunLiveness
{
    /// <summary>The run is still going.</summary>
    Alive,

    /// <summary>The run has ended (or its process is gone): the lock may be taken over.</summary>
    Ended,

    /// <summary>The runner cannot tell (e.g. a process on another host): treated as alive until the run's deadline.</summary>
    Unknown,
}

/// <summary>What a runner knows about a run: liveness, and the final outcome when it has ended.</summary>
internal sealed record RunStatus(RunLiveness Liveness, string? Outcome = null, int? ExitCode = null);

/// <summary>How a run ended, as seen by a runner that observed it.</summary>
internal sealed record RunOutcome(string Outcome, int? ExitCode, TimeSpan Duration, IReadOnlyList<string> LastLines);

/// <summary>
/// The runner could not start a run. <see cref="SafeMessage"/> is returned to the caller as is, so it must never
/// carry a secret; <see cref="StatusCode"/> is 500 (our side), 502 (the remote API failed) or 503 (throttled/unavailable).
/// </summary>
internal sealed class RunnerException(string safeMessage, int statusCode = 500, Exception? innerException = null)
    : Exception(safeMessage, innerException)
{
    public string SafeMessage { get; } = safeMessage;

    public int StatusCode { get; } = statusCode;
}
