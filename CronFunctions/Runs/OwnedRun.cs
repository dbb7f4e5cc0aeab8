using System.Diagnostics;
using CronFunctions.Jobs;
using CronFunctions.Locking;
using CronFunctions.Runners;
using CronFunctions.Runners.Local;

namespace CronFunctions.Runs;

/// <summary>
/// A run whose lock this app instance holds, owned by the <see cref="RunSupervisor"/> from the moment the lease is
/// taken: the supervisor renews the lease, writes the record, watches the run and frees the lock. The request that
/// took the lock only tells it how the start went (<see cref="MarkRunningAsync"/>, <see cref="MarkUnknownAsync"/>,
/// <see cref="FailStartAsync"/>); it can then hang up without leaving anything behind.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2213", Justification = "Only WaitAsync is used: the SemaphoreSlim never allocates a wait handle.")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "Only WaitAsync is used: the SemaphoreSlim never allocates a wait handle, so it holds nothing to dispose.")]
internal sealed class OwnedRun
{
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);
    private TaskCompletionSource _written = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private LockRecord _record;
    private bool _dirty;
    private bool _finishStart;
    private long _validUntil;

    /// <param name="validUntil">A <see cref="Stopwatch"/> timestamp: see <see cref="ValidUntil"/>.</param>
    /// <param name="adopted">
    /// Whether this instance took over a live remote run from another instance rather than starting it: then the
    /// record is written under our lease at once, with its handle as the runner found it.
    /// </param>
    internal OwnedRun(JobSettings settings, IJobRunner runner, string leaseId, LockRecord record, long leaseSentAt, long validUntil, bool adopted)
    {
        Settings = settings;
        Runner = runner;
        LeaseId = leaseId;
        _record = record;
        LeaseSentAt = leaseSentAt;
        ValidUntil = validUntil;
        _dirty = adopted;
    }

    public JobSettings Settings { get; }

    public string Job => Settings.Job.Name;

    public IJobRunner Runner { get; }

    public string LeaseId { get; }

    public string RunId => Record.RunId;

    /// <summary>The record as it should be in storage (written by the supervisor).</summary>
    public LockRecord Record
    {
        get
        {
            lock (_gate)
            {
                return _record;
            }
        }
    }

    internal long LeaseSentAt { get; }

    /// <summary>
    /// When our lease time is over for sure, a margin before the service expires it (a <see cref="Stopwatch"/>
    /// timestamp): a local run must be dead by then unless the lease is renewed.
    /// </summary>
    internal long ValidUntil
    {
        get => Volatile.Read(ref _validUntil);
        set => Volatile.Write(ref _validUntil, value);
    }

    internal LocalRun? Local { get; private set; }

    internal Task ChangedAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);

    internal void Signal() => _signal.Release();

    /// <summary>The run started: record its handle (the run now uses its schedule slot) and watch it.</summary>
    public Task MarkRunningAsync(RunHandle handle, LocalRun? local, TimeSpan waitForWrite)
    {
        lock (_gate)
        {
            _record = _record with { State = RunState.Running, Handle = handle, Runner = handle.Runner };
            Local = local;
            _dirty = true;
        }

        Signal();
        return WaitWrittenAsync(waitForWrite);
    }

    /// <summary>The start's answer was lost: hold the lock until the runner can tell whether the run exists.</summary>
    public Task MarkUnknownAsync(TimeSpan waitForWrite)
    {
        Update(r => r with { State = RunState.StartUnknown });
        Signal();
        return WaitWrittenAsync(waitForWrite);
    }

    /// <summary>The runner refused: record it (the slot stays due) and free the lock.</summary>
    public Task FailStartAsync(TimeSpan waitForWrite)
    {
        lock (_gate)
        {
            _finishStart = true;
        }

        Signal();
        return WaitWrittenAsync(waitForWrite);
    }

    /// <summary>Sets what the record should become; the supervisor writes it.</summary>
    internal void Update(Func<LockRecord, LockRecord> change)
    {
        lock (_gate)
        {
            _record = change(_record);
            _dirty = true;
        }
    }

    /// <summary>The record to write, if it changed since the last write.</summary>
    internal LockRecord? TakeDirty()
    {
        lock (_gate)
        {
            if (!_dirty)
            {
                return null;
            }

            _dirty = false;
            return _record;
        }
    }

    internal void WriteFailed()
    {
        lock (_gate)
        {
            _dirty = true;
        }
    }

    internal void NotifyWritten()
    {
        TaskCompletionSource written;
        lock (_gate)
        {
            written = _written;
            _written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        written.TrySetResult();
    }

    /// <summary>Whether the pipeline reported a refused start, once (the pipeline records why).</summary>
    internal bool TakeFailedStart()
    {
        lock (_gate)
        {
            var failed = _finishStart;
            _finishStart = false;
            return failed;
        }
    }

    private async Task WaitWrittenAsync(TimeSpan wait)
    {
        Task written;
        lock (_gate)
        {
            written = _written.Task;
        }

        // Best effort: the supervisor keeps writing in the background if storage is slow; the caller need not wait.
        await Task.WhenAny(written, Task.Delay(wait)).ConfigureAwait(false);
    }
}
