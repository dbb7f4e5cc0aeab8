using System.Collections.Concurrent;
using System.Diagnostics;
using CronFunctions.Diagnostics;
using CronFunctions.History;
using CronFunctions.Jobs;
using CronFunctions.Runners;
using CronFunctions.Runners.Local;
using CronFunctions.Runs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CronFunctions.Locking;

/// <summary>
/// At most one run of a job at any moment, across app instances and restarts: a finite lease on one blob per job,
/// kept alive by the instance that owns the run (<see cref="RunSupervisor"/>), with the run's record in the blob's
/// metadata. One call: read the blob (1 request), decide (<see cref="LockDecisions"/>, a pure function), act with a
/// conditional request on the ETag just read — so two callers can never both act on the same state — and read again
/// when someone else moved first. See README "The lock".
/// </summary>
internal sealed class JobLock(
    LockStore store,
    ILockClock clock,
    RunnerRegistry runners,
    RunSupervisor supervisor,
    RunHistory history,
    IOptions<LockOptions> options,
    ILogger<JobLock> logger)
{
    /// <summary>How close to its next slot a cached "not due" is no longer trusted (the clock estimate's error).</summary>
    private static readonly TimeSpan NotDueMargin = TimeSpan.FromSeconds(2);

    /// <summary>How long a call waits, at most, for a new holder's record (25 ms doubling: 1.6 s in all).</summary>
    private static readonly TimeSpan MaxSettle = TimeSpan.FromMilliseconds(800);

    private readonly ConcurrentDictionary<string, LockAttempt.NotDue> _notDue = new(StringComparer.Ordinal);

    public async Task<LockAttempt> TryAcquireAsync(JobSettings settings, string runId, bool force, CancellationToken cancellationToken)
    {
        var job = settings.Job.Name;

        // Once a run has really started, the job stays not due until the next slot whatever happens: the last start
        // only moves forward. So a "not due" read here (with the lock free) is answered from memory until then, at no
        // storage cost. A run of ours that is still going is not cached: a call during it reads and answers
        // already_running, which says more.
        if (!force && _notDue.TryGetValue(job, out var known) && clock.Now < known.NextDue - NotDueMargin)
        {
            return known;
        }

        var leaseDuration = options.Value.LeaseDuration;
        string? lastSeen = null;
        var settle = TimeSpan.FromMilliseconds(25);
        for (var attempt = 0; attempt < options.Value.MaxAttempts; attempt++)
        {
            var snapshot = await store.ReadAsync(job, cancellationToken).ConfigureAwait(false);
            var record = snapshot.Record;
            lastSeen = record is { } seen && seen.State.IsLive() ? seen.RunId : lastSeen;
            var now = clock.DecisionTime(snapshot.ServerTime);
            var recordRunner = record is null ? null : runners.Find(record.Runner);
            var decision = LockDecisions.Decide(
                snapshot, now, settings, force, leaseDuration,
                remoteRunner: recordRunner?.IsRemote ?? false,
                localProcessAlive: IsLocalProcessAliveHere);

            if (decision is LockDecision.AskRunner ask)
            {
                var probe = await recordRunner!.ProbeAsync(settings.Job, ask.Record.RunId, ask.Record.Handle, ask.Record.Started, now, cancellationToken)
                    .ConfigureAwait(false);
                decision = LockDecisions.Decide(snapshot, now, settings, force, leaseDuration, remoteRunner: true, probe: probe);
            }

            switch (decision)
            {
                case LockDecision.Busy { Settling: true } when settle <= MaxSettle:
                    // A new holder writes its record next: give it a moment, to name its run (real time: it waits on
                    // another instance's request). Not a contention round.
                    await Task.Delay(settle, cancellationToken).ConfigureAwait(false);
                    settle *= 2;
                    attempt--;
                    continue;

                case LockDecision.Busy busy:
                    return new LockAttempt.Busy(busy.RunId ?? lastSeen);

                case LockDecision.NotDue notDue:
                    return Remember(job, new LockAttempt.NotDue(notDue.NextDue, notDue.LastRunId));

                case LockDecision.Close close:
                    if (await store.WriteUnleasedAsync(job, snapshot.ETag, close.Closing.Closed(now), cancellationToken).ConfigureAwait(false) == LockWrite.Done)
                    {
                        await RecordClosedAsync(job, close.Closing, now).ConfigureAwait(false);
                        return Remember(job, new LockAttempt.NotDue(close.Then.NextDue, close.Then.LastRunId));
                    }

                    continue; // someone else moved first: read again

                case LockDecision.Fence fence:
                    if (await store.WriteUnleasedAsync(job, snapshot.ETag, fence.Record with { Fenced = now }, cancellationToken).ConfigureAwait(false) == LockWrite.Done)
                    {
                        Log.LockFenced(logger, job, fence.Record.RunId, now + leaseDuration);
                        return new LockAttempt.Busy(fence.Record.RunId);
                    }

                    continue;

                case LockDecision.BreakLegacy legacy:
                    if (await store.BreakAsync(job, snapshot.ETag, cancellationToken).ConfigureAwait(false) == LockWrite.Done)
                    {
                        Log.LegacyLeaseBroken(logger, job, legacy.RunId);
                    }

                    continue;

                case LockDecision.Adopt adopt:
                {
                    // From here on the caller's cancellation is not honoured: a lease we may hold must be owned.
                    var leaseId = Guid.NewGuid().ToString();
                    var sent = Stopwatch.GetTimestamp();
                    if (await store.AcquireAsync(job, snapshot.ETag, leaseId, leaseDuration).ConfigureAwait(false) == LockWrite.Conflict)
                    {
                        continue;
                    }

                    var adopted = adopt.Record with { State = RunState.Running, Handle = adopt.Handle, Fenced = null };
                    supervisor.Adopt(settings, recordRunner!, leaseId, adopted, sent);
                    return new LockAttempt.Busy(adopted.RunId);
                }

                case LockDecision.Acquire acquire:
                {
                    if (supervisor.IsStopping)
                    {
                        throw new AppStoppingException();
                    }

                    var leaseId = Guid.NewGuid().ToString();
                    var sent = Stopwatch.GetTimestamp();
                    var previous = acquire.Closing?.Closed(now) ?? record;
                    var starting = LockRecord.Begin(runId, settings.Runner, now, settings.MaxRuntime, LocalProcessRunner.HostName, previous);
                    if (await AcquireAndWriteAsync(job, snapshot.ETag, leaseId, leaseDuration, starting).ConfigureAwait(false) == LockWrite.Conflict)
                    {
                        continue; // someone else took it (or changed the record) since our read, or our lease is already gone
                    }

                    if (acquire.Closing is { } closing)
                    {
                        await RecordClosedAsync(job, closing, now).ConfigureAwait(false);
                    }

                    return new LockAttempt.Acquired(supervisor.Own(settings, runners.Get(settings.Runner), leaseId, starting, sent));
                }
            }
        }

        // Contention did not settle within our rounds: somebody else is winning, so this call is a duplicate.
        return new LockAttempt.Busy(lastSeen);
    }

    /// <summary>
    /// Takes the lease and writes the new run's record under it. When storage fails between the two (or the acquire's
    /// answer is lost), the lease may be ours without a record: it is given back at once (harmless if it never was
    /// ours), rather than left to expire, so the job can start again at the next call.
    /// </summary>
    private async Task<LockWrite> AcquireAndWriteAsync(string job, Azure.ETag etag, string leaseId, TimeSpan leaseDuration, LockRecord starting)
    {
        try
        {
            if (await store.AcquireAsync(job, etag, leaseId, leaseDuration).ConfigureAwait(false) == LockWrite.Conflict)
            {
                return LockWrite.Conflict;
            }

            return await store.WriteAsync(job, leaseId, starting, CancellationToken.None).ConfigureAwait(false);
        }
        catch (LockUnavailableException)
        {
            try
            {
                using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await store.ReleaseAsync(job, leaseId, bounded.Token).ConfigureAwait(false);
            }
            catch (LockUnavailableException)
            {
                // Logged by the store; the lease expires by itself within its duration.
            }

            throw;
        }
    }

    /// <summary>Asked only when the decision turns on it (a live local record without a lease): it reads /proc.</summary>
    private static bool? IsLocalProcessAliveHere(LockRecord record) =>
        record.Handle?.Runner == RunnerKinds.Local ? LocalProcessRunner.IsAliveHere(record.Handle) : null;

    private LockAttempt.NotDue Remember(string job, LockAttempt.NotDue notDue)
    {
        _notDue.AddOrUpdate(job, notDue, (_, old) => notDue.NextDue >= old.NextDue ? notDue : old);
        return notDue;
    }

    /// <summary>Nobody else will report a dead run's end: record what we learned of it.</summary>
    private async Task RecordClosedAsync(string job, Closing closing, DateTimeOffset now)
    {
        Log.LockTakenOver(logger, job, closing.Record.RunId, closing.Reason);
        await history.RecordAsync(
            RunRecord.EndOf(closing.Record.RunId, job, now, closing.Outcome) with
            {
                Error = "Closed by a later call: " + closing.Reason + ".",
                ExitCode = closing.Record.ExitCode,
            },
            CancellationToken.None).ConfigureAwait(false);
    }
}

/// <summary>The app instance is shutting down: it starts nothing new (503; another instance will).</summary>
internal sealed class AppStoppingException() : Exception("The app instance is shutting down.");
