using CronFunctions.Jobs;
using CronFunctions.Runners.Local;
using CronFunctions.Runs;

namespace CronFunctions.Runners;

/// <summary>
/// Starts a job run somewhere (a local process, a Container Apps Job execution), and for runs that outlive the app
/// instance that started them (<see cref="IsRemote"/>) answers what became of one and stops it.
/// </summary>
internal interface IJobRunner
{
    /// <summary>The runner kind written into run records and matched against <see cref="RunHandle.Runner"/>.</summary>
    string Kind { get; }

    /// <summary>
    /// Whether runs of this kind outlive the instance that started them (a remote execution): any instance may then ask
    /// about one (<see cref="ProbeAsync"/>) and adopt it. A local run lives and dies with its owner instead.
    /// </summary>
    bool IsRemote { get; }

    /// <summary>How often the instance that owns a remote run asks about it (<see cref="ProbeAsync"/>).</summary>
    TimeSpan PollInterval { get; }

    /// <summary>
    /// Starts the run. Returns once the run is started, or once its start is known to be ambiguous
    /// (<see cref="RunStart.Unknown"/>: the request may have started it). Throws <see cref="RunnerException"/> with a
    /// caller-safe message when it certainly did not start.
    /// </summary>
    Task<RunStart> StartAsync(RunRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// What became of run <paramref name="runId"/> (with its handle when the start was seen; without one after an
    /// ambiguous start), asked by an instance that does not watch it. Never throws for a remote failure: that is
    /// <see cref="RunProbe.Unknown"/>. Only remote runners are asked.
    /// </summary>
    Task<RunProbe> ProbeAsync(
        JobDefinition job, string runId, RunHandle? handle, DateTimeOffset attemptedAt, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Asks the run to stop (a remote run past its deadline). True when the request was accepted.</summary>
    Task<bool> StopAsync(RunHandle handle, CancellationToken cancellationToken);
}

/// <summary>What to run: the job, its full argument list after <c>manage.py</c>, and the run's identity and lease.</summary>
/// <param name="LifelineDeadline">
/// A <see cref="System.Diagnostics.Stopwatch"/> timestamp, a little before the run's lease can expire: a local run must
/// be dead by then unless its owner extends it after renewing the lease.
/// </param>
internal sealed record RunRequest(
    string RunId,
    JobDefinition Job,
    IReadOnlyList<string> Arguments,
    DateTimeOffset StartedAt,
    TimeSpan MaxRuntime,
    long LifelineDeadline);

/// <summary>The answer to a start.</summary>
internal abstract record RunStart
{
    private RunStart()
    {
    }

    /// <summary>Started: the handle to record, and for a local run the process under its lifeline.</summary>
    public sealed record Started(RunHandle Handle, LocalRun? Local = null) : RunStart;

    /// <summary>The start request may or may not have started the run: the lock is held until the runner can tell.</summary>
    public sealed record Unknown(string Why, int StatusCode) : RunStart;
}

/// <summary>
/// A started run as the lock stores it: which runner, its handle (a pid, an execution path), and where.
/// <see cref="Pid"/> is set for local processes, <see cref="Execution"/> for container executions.
/// </summary>
internal sealed record RunHandle(string Runner, string Id, string? Host = null, int? Pid = null, string? Execution = null, long? ProcessStartTicks = null);

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
