using System.Collections.Concurrent;
using System.Diagnostics;
using CronFunctions.Diagnostics;
using CronFunctions.History;
using CronFunctions.Jobs;
using CronFunctions.Locking;
using CronFunctions.Runners;
using CronFunctions.Runners.Local;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace CronFunctions.Runs;

/// <summary>
/// The one owner of every run whose lock this app instance holds (a hosted service): it renews each lease while the
/// run lives and extends the run's lifeline after each renewal; writes the record; watches the run (a local process's
/// exit, a remote execution's status), stops it at its deadline, writes its end and frees the lock. When a lease is
/// lost it acts at once (a local run is killed; a remote one is left to whoever adopts it). On shutdown it stops local
/// runs (recorded as interrupted, locks freed) and hands remote ones over by releasing their leases. Nothing here is
/// fire-and-forget and no exception escapes a run's loop.
/// </summary>
internal sealed class RunSupervisor(
    LockStore store,
    ILockClock clock,
    RunHistory history,
    IOptions<LockOptions> lockOptions,
    IOptions<LocalRunnerOptions> localOptions,
    ILogger<RunSupervisor> logger) : IHostedService, IAsyncDisposable
{
    private readonly ConcurrentDictionary<OwnedRun, Task> _runs = new();
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;

    /// <summary>Retries of a run's final write through a storage outage, bounded by the lease time left.</summary>
    private static readonly ResiliencePipeline FinalWrite = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<LockUnavailableException>(),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(500),
            MaxDelay = TimeSpan.FromSeconds(5),
            MaxRetryAttempts = int.MaxValue,
        })
        .Build();

    private LockOptions Options => lockOptions.Value;

    /// <summary>Whether the app is shutting down: no new run may start.</summary>
    public bool IsStopping => Volatile.Read(ref _disposed) == 1 || _stopping.IsCancellationRequested;

    /// <summary>The loops of the runs this instance owns (for tests and graceful waits).</summary>
    internal IReadOnlyCollection<Task> Active => [.. _runs.Values];

    /// <summary>Takes ownership of a lock just acquired for a new run (its record says Starting).</summary>
    public OwnedRun Own(JobSettings settings, IJobRunner runner, string leaseId, LockRecord record, long leaseSentAt) =>
        Begin(new OwnedRun(settings, runner, leaseId, record, leaseSentAt, leaseSentAt + Ticks(Options.LifelineBudget), adopted: false));

    /// <summary>Takes ownership of a live remote run another instance started and nobody watches.</summary>
    public OwnedRun Adopt(JobSettings settings, IJobRunner runner, string leaseId, LockRecord record, long leaseSentAt)
    {
        var run = new OwnedRun(settings, runner, leaseId, record, leaseSentAt, leaseSentAt + Ticks(Options.LifelineBudget), adopted: true);
        Log.RunAdopted(logger, run.Job, run.RunId, record.Handle?.Id);
        return Begin(run);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_runs.IsEmpty)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            return;
        }

        Log.SupervisorStopping(logger, _runs.Count);
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_runs.Values).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The host would not wait longer: local runs die with us (their lifelines), remote ones get adopted.
            Log.SupervisorStopTimedOut(logger, _runs.Count);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            _stopping.Dispose();
        }
    }

    private OwnedRun Begin(OwnedRun run)
    {
        // Registered before its loop starts, so a run that ends at once is never missing from Active.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _runs[run] = started.Task;
        _ = Task.Run(async () =>
        {
            try
            {
                await SuperviseAsync(run).ConfigureAwait(false);
            }
            finally
            {
                _runs.TryRemove(run, out _);
                started.TrySetResult();
            }
        });
        return run;
    }

    private async Task SuperviseAsync(OwnedRun run)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["Job"] = run.Job, ["RunId"] = run.RunId });
        try
        {
            var nextRenew = run.LeaseSentAt + Ticks(Options.RenewInterval);
            var nextPoll = Stopwatch.GetTimestamp();
            var stopSent = false;
            var shutdownHandled = false;
            string? stopOutcome = null;
            while (true)
            {
                var now = Stopwatch.GetTimestamp();

                // The run ended (local): write its end and free the lock.
                if (run.Local is { Completion.IsCompleted: true } local)
                {
                    var exit = await local.Completion.ConfigureAwait(false);
                    await EndAsync(run, OutcomeOf(exit, stopOutcome), exit.ExitCode, exit.Duration, exit.LastLines).ConfigureAwait(false);
                    return;
                }

                // The runner refused the start: record it (the slot stays due) and free the lock.
                if (run.TakeFailedStart())
                {
                    await FailedToStartAsync(run, error: null).ConfigureAwait(false); // the request records why
                    return;
                }

                if (IsStopping && !shutdownHandled)
                {
                    shutdownHandled = true;
                    if (run.Local is { } stopping)
                    {
                        Log.RunStopping(logger, run.Job, run.RunId, "the app is shutting down");
                        stopping.Stop(localOptions.Value.ShutdownGrace);
                        stopSent = true;
                        stopOutcome = RunOutcomes.Interrupted;
                    }
                    else if (run.Runner.IsRemote && run.Record.State is RunState.Running or RunState.StartUnknown)
                    {
                        // A remote run outlives us: free the lease now, so the next call adopts it without waiting.
                        await HandOverAsync(run).ConfigureAwait(false);
                        return;
                    }
                    else
                    {
                        shutdownHandled = false; // still starting: decide once the runner has answered
                    }
                }

                // Lease upkeep: renew, then write what changed.
                if (now >= nextRenew)
                {
                    var sent = Stopwatch.GetTimestamp();
                    var renewed = await TryAsync(Options.RenewInterval, ct => store.RenewAsync(run.Job, run.LeaseId, ct)).ConfigureAwait(false);
                    if (renewed == LockWrite.Done)
                    {
                        run.ValidUntil = sent + Ticks(Options.LifelineBudget);
                        run.Local?.Extend(run.ValidUntil);
                        nextRenew = sent + Ticks(Options.RenewInterval);
                    }
                    else if (renewed == LockWrite.Conflict)
                    {
                        await LostAsync(run, "the lease was taken or broken").ConfigureAwait(false);
                        return;
                    }
                    else
                    {
                        if (Stopwatch.GetTimestamp() >= run.ValidUntil)
                        {
                            await LostAsync(run, "the lease could not be renewed in time").ConfigureAwait(false);
                            return;
                        }

                        nextRenew = Stopwatch.GetTimestamp() + Ticks(RetryDelay);
                    }
                }

                if (run.TakeDirty() is { } record)
                {
                    var written = await TryAsync(Options.RenewInterval, ct => store.WriteAsync(run.Job, run.LeaseId, record, ct)).ConfigureAwait(false);
                    if (written == LockWrite.Done)
                    {
                        run.NotifyWritten();
                    }
                    else if (written == LockWrite.Conflict)
                    {
                        await LostAsync(run, "the lease was taken or broken before the record was written").ConfigureAwait(false);
                        return;
                    }
                    else
                    {
                        run.WriteFailed();
                        nextRenew = Math.Min(nextRenew, Stopwatch.GetTimestamp() + Ticks(RetryDelay));
                    }
                }

                // Run upkeep: the deadline, and a remote run's status.
                if (!stopSent && run.Local is { } timedOut && clock.Now >= run.Record.Deadline)
                {
                    Log.RunStopping(logger, run.Job, run.RunId, "it passed its maximum runtime");
                    timedOut.Stop(localOptions.Value.StopGrace);
                    stopSent = true;
                    stopOutcome = RunOutcomes.TimedOut;
                }

                if (run.Runner.IsRemote && run.Record.State is RunState.Running or RunState.StartUnknown && Stopwatch.GetTimestamp() >= nextPoll)
                {
                    nextPoll = Stopwatch.GetTimestamp() + Ticks(run.Runner.PollInterval);
                    if (await PollRemoteAsync(run, stopSent).ConfigureAwait(false) is { } polled)
                    {
                        if (polled.Done)
                        {
                            return;
                        }

                        stopSent |= polled.StopSent;
                    }
                }

                var wake = Math.Min(nextRenew, run.Runner.IsRemote ? nextPoll : long.MaxValue);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), wake);
                wait = wait < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : wait > Options.RenewInterval ? Options.RenewInterval : wait;
                // Wake on a change, the run's end, shutdown, or the next renewal/poll, whichever comes first.
                var woke = run.ChangedAsync(wait, shutdownHandled || IsStopping ? CancellationToken.None : _stopping.Token);
                await (run.Local is { } watched ? Task.WhenAny(woke, watched.Completion) : Task.WhenAny(woke)).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            // Never let a run's loop die silently: say so, and make sure a local run does not outlive its watcher.
            Log.SupervisorFailed(logger, ex, run.Job, run.RunId);
            run.Local?.Kill();
        }
    }

    private static TimeSpan RetryDelay => TimeSpan.FromSeconds(1);

    /// <summary>How long a run's owner keeps trying to write its end through an outage (then the next caller closes it).</summary>
    private TimeSpan FinalWriteBudget => Options.LeaseDuration * 4;

    /// <summary>A local run's outcome from how its lifeline ended and why we stopped it, if we did.</summary>
    private static string OutcomeOf(LocalExit exit, string? stopOutcome) => exit.Reason switch
    {
        LocalExit.Deadline => RunOutcomes.LockLost,
        LocalExit.LifelineLost => RunOutcomes.Failed,
        _ => stopOutcome ?? (exit.ExitCode == 0 ? RunOutcomes.Succeeded : RunOutcomes.Failed),
    };

    private async Task<(bool Done, bool StopSent)?> PollRemoteAsync(OwnedRun run, bool stopSent)
    {
        var record = run.Record;
        var now = clock.Now;
        RunProbe probe;
        using (var bounded = new CancellationTokenSource(Options.LeaseDuration))
        {
            try
            {
                probe = await run.Runner.ProbeAsync(run.Settings.Job, record.RunId, record.Handle, record.Started, now, bounded.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                probe = new RunProbe.Unknown("the runner did not answer in time");
            }
        }

        switch (probe)
        {
            case RunProbe.Alive alive:
                if (record.State == RunState.StartUnknown || record.Handle is null)
                {
                    Log.StartResolved(logger, run.Job, run.RunId, "started", alive.Handle.Id);
                    run.Update(r => r with { State = RunState.Running, Handle = alive.Handle });
                }

                if (!stopSent && now >= record.Deadline)
                {
                    Log.RunStopping(logger, run.Job, run.RunId, "it passed its maximum runtime");
                    using var bounded = new CancellationTokenSource(Options.LeaseDuration);
                    try
                    {
                        return (false, await run.Runner.StopAsync(alive.Handle, bounded.Token).ConfigureAwait(false));
                    }
                    catch (OperationCanceledException)
                    {
                        return (false, false);
                    }
                }

                return (false, false);

            case RunProbe.Ended ended:
                if (record.State == RunState.StartUnknown)
                {
                    Log.StartResolved(logger, run.Job, run.RunId, "started and ended", ended.Handle?.Id);
                    run.Update(r => r with { State = RunState.Running, Handle = ended.Handle ?? r.Handle });
                }

                var outcome = stopSent && ended.Outcome == "Stopped" ? RunOutcomes.Stopped : ended.Outcome;
                await EndAsync(run, outcome, ended.ExitCode, clock.Now - record.Started, []).ConfigureAwait(false);
                return (true, stopSent);

            case RunProbe.Absent when record.State == RunState.StartUnknown:
                Log.StartResolved(logger, run.Job, run.RunId, "never started", null);
                await FailedToStartAsync(run, "Azure shows no execution of this run: it never started.").ConfigureAwait(false);
                return (true, stopSent);

            case RunProbe.Absent:
                await EndAsync(run, "NotFound", null, clock.Now - record.Started, []).ConfigureAwait(false);
                return (true, stopSent);

            default:
                return null; // unknown: keep the lock and ask again later
        }
    }

    /// <summary>The run ended: write the end under our lease, release it, and record the end in the history.</summary>
    private async Task EndAsync(OwnedRun run, string outcome, int? exitCode, TimeSpan duration, IReadOnlyList<string> lastLines)
    {
        var ended = clock.Now;
        var state = outcome is RunOutcomes.Interrupted or RunOutcomes.LockLost ? RunState.Interrupted : RunState.Ended;
        run.Update(r => r with { State = state, Ended = ended, Outcome = outcome, ExitCode = exitCode });
        Log.RunEnded(logger, run.Job, run.RunId, outcome, exitCode, duration.TotalSeconds);
        await history.RecordAsync(
            RunRecord.EndOf(run.RunId, run.Job, ended, outcome) with
            {
                ExitCode = exitCode,
                DurationSeconds = Math.Round(duration.TotalSeconds, 3),
                LastLines = lastLines,
            },
            CancellationToken.None).ConfigureAwait(false);
        await WriteAndReleaseAsync(run).ConfigureAwait(false);
    }

    /// <summary>The run never started: its slot stays due. <paramref name="error"/>: why, when no request is there to record it.</summary>
    private async Task FailedToStartAsync(OwnedRun run, string? error)
    {
        var ended = clock.Now;
        run.Update(r => r with { State = RunState.FailedToStart, Ended = ended, Outcome = RunOutcomes.FailedToStart });
        if (error is not null)
        {
            await history.RecordAsync(RunRecord.EndOf(run.RunId, run.Job, ended, RunOutcomes.FailedToStart) with { Error = error }, CancellationToken.None)
                .ConfigureAwait(false);
        }

        await WriteAndReleaseAsync(run).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes the final record and releases the lease, retrying through a storage outage. Past our lease time the lease
    /// is renewed first: the service lets its holder renew an expired lease that nobody took and nothing changed since,
    /// so an owner cut off from storage for longer than the lease still records its own run's end; if someone did act
    /// on the blob meanwhile (and closed the record), the renewal fails and we stop. Bounded: after that the next
    /// caller closes the record itself.
    /// </summary>
    private async Task WriteAndReleaseAsync(OwnedRun run)
    {
        using var budget = new CancellationTokenSource(FinalWriteBudget);
        try
        {
            await FinalWrite.ExecuteAsync(
                async ct =>
                {
                    if (Stopwatch.GetTimestamp() >= run.ValidUntil
                        && await store.RenewAsync(run.Job, run.LeaseId, ct).ConfigureAwait(false) == LockWrite.Conflict)
                    {
                        Log.LockLostBeforeRelease(logger, run.Job, run.RunId);
                        return;
                    }

                    var record = run.TakeDirty() ?? run.Record;
                    if (await store.WriteAsync(run.Job, run.LeaseId, record, ct).ConfigureAwait(false) == LockWrite.Conflict)
                    {
                        Log.LockLostBeforeRelease(logger, run.Job, run.RunId);
                        return;
                    }

                    run.NotifyWritten();
                    if (await store.ReleaseAsync(run.Job, run.LeaseId, ct).ConfigureAwait(false) == LockWrite.Done)
                    {
                        Log.LockReleased(logger, run.Job, run.RunId);
                    }
                },
                budget.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or LockUnavailableException)
        {
            run.WriteFailed();
            Log.LockWriteGaveUp(logger, ex, run.Job, run.RunId);
        }
    }

    /// <summary>Frees the lease of a remote run without touching its record: the next call adopts it.</summary>
    private async Task HandOverAsync(OwnedRun run)
    {
        if (run.TakeDirty() is { } record)
        {
            await TryAsync(Options.RenewInterval, ct => store.WriteAsync(run.Job, run.LeaseId, record, ct)).ConfigureAwait(false);
        }

        if (await TryAsync(Options.RenewInterval, ct => store.ReleaseAsync(run.Job, run.LeaseId, ct)).ConfigureAwait(false) == LockWrite.Done)
        {
            Log.RunHandedOver(logger, run.Job, run.RunId);
        }
    }

    /// <summary>The lease is no longer ours: a local run must stop now; a remote one is left to whoever adopts it.</summary>
    private async Task LostAsync(OwnedRun run, string why)
    {
        Log.LockLost(logger, run.Job, run.RunId, why);
        if (run.Local is { } local)
        {
            local.Kill();
            var exit = await local.Completion.ConfigureAwait(false);
            await history.RecordAsync(
                RunRecord.EndOf(run.RunId, run.Job, clock.Now, RunOutcomes.LockLost) with
                {
                    ExitCode = exit.ExitCode,
                    DurationSeconds = Math.Round(exit.Duration.TotalSeconds, 3),
                    LastLines = exit.LastLines,
                    Error = "The run was stopped: its lock was lost (" + why + ").",
                },
                CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>A lock write bounded by <paramref name="timeout"/>, with storage failures as null (logged by the store): the loop retries.</summary>
    private static async Task<LockWrite?> TryAsync(TimeSpan timeout, Func<CancellationToken, Task<LockWrite>> write)
    {
        using var bounded = new CancellationTokenSource(timeout);
        try
        {
            return await write(bounded.Token).ConfigureAwait(false);
        }
        catch (LockUnavailableException)
        {
            return null;
        }
    }

    private static long Ticks(TimeSpan time) => (long)(time.TotalSeconds * Stopwatch.Frequency);
}
