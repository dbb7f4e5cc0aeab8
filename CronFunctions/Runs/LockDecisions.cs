using CronFunctions.Jobs;
using CronFunctions.Locking;
using CronFunctions.Runners;

namespace CronFunctions.Runs;

/// <summary>What a call should do about a job's lock, decided from one read of it.</summary>
internal abstract record LockDecision
{
    private LockDecision()
    {
    }

    /// <summary>
    /// A run holds the lock, or may be alive: skip, naming it. <see cref="Settling"/>: a new holder has just taken the
    /// lease and is writing its record (a moment's wait names it).
    /// </summary>
    public sealed record Busy(string? RunId, string Why, bool Settling = false) : LockDecision;

    /// <summary>No scheduled time has passed since the last run really started.</summary>
    public sealed record NotDue(DateTimeOffset NextDue, string? LastRunId) : LockDecision;

    /// <summary>Take the lock for a new run. <see cref="Closing"/> is a dead run found in the record, to be recorded as ended.</summary>
    public sealed record Acquire(Closing? Closing) : LockDecision;

    /// <summary>The record names a remote run nobody watches: ask its runner about it, then decide again.</summary>
    public sealed record AskRunner(LockRecord Record) : LockDecision;

    /// <summary>A remote run is alive and nobody watches it: take the lease and watch it (and stop it, past its deadline).</summary>
    public sealed record Adopt(LockRecord Record, RunHandle Handle, bool PastDeadline) : LockDecision;

    /// <summary>A live local run lost its lease to someone breaking it: note since when, and wait until it must be dead.</summary>
    public sealed record Fence(LockRecord Record) : LockDecision;

    /// <summary>A dead run found in the record is closed (written as ended, without taking the lock), and the job is not due.</summary>
    public sealed record Close(Closing Closing, NotDue Then) : LockDecision;

    /// <summary>An infinite lease left by an older version of the app, whose run is over or past its deadline: break it.</summary>
    public sealed record BreakLegacy(string? RunId) : LockDecision;
}

/// <summary>A run found dead in the lock's record, and how it ended.</summary>
internal sealed record Closing(LockRecord Record, RunState State, string Outcome, string Reason)
{
    /// <summary>The record as it ends: the slot it used (if it really started) is kept for the not-due rule.</summary>
    public LockRecord Closed(DateTimeOffset now) => Record with { State = State, Outcome = Outcome, Ended = now, Fenced = null };
}

/// <summary>What a runner could tell about a run nobody watches.</summary>
internal abstract record RunProbe
{
    private RunProbe()
    {
    }

    public sealed record Alive(RunHandle Handle) : RunProbe;

    public sealed record Ended(RunHandle? Handle, string Outcome, int? ExitCode = null) : RunProbe;

    /// <summary>Proved never started (e.g. no execution carries its run id, long enough after the attempt).</summary>
    public sealed record Absent : RunProbe;

    /// <summary>Cannot tell now (the remote API failed).</summary>
    public sealed record Unknown(string Why) : RunProbe;
}

/// <summary>
/// The lock's decision as a pure function of (lease, record, what the runner says, local liveness, now, schedule,
/// force): every case in one place, tested as a table on simulated time. The rules:
/// <list type="bullet">
/// <item>A held lease is busy: its owner renews it while the run lives, watches the run and frees it when it ends.</item>
/// <item>No lease and an ended/failed record: the not-due rule, counted from the last run that really started.</item>
/// <item>No lease and a live remote record: its runner decides — alive → adopt, ended → close, proved absent → close
/// as failed to start (its slot unused), unknown → busy.</item>
/// <item>No lease and a live local record: an expired lease means its owner stopped renewing, and a local run never
/// outlives its owner's last renewal (its lifeline kills it first) → close. A broken lease may not be known to its
/// owner yet: fence it and wait one lease duration, after which the run's lifeline has killed it.</item>
/// </list>
/// </summary>
internal static class LockDecisions
{
    public static LockDecision Decide(
        LockSnapshot snapshot,
        DateTimeOffset now,
        JobSettings settings,
        bool force,
        TimeSpan leaseDuration,
        bool remoteRunner,
        RunProbe? probe = null,
        Func<LockRecord, bool?>? localProcessAlive = null)
    {
        var record = snapshot.Record;
        if (snapshot.Lease == LeaseView.Held)
        {
            if (snapshot.InfiniteLease && (record is null || !record.State.IsLive() || now >= record.Deadline))
            {
                return new LockDecision.BreakLegacy(record?.RunId);
            }

            return record is { } held && held.State.IsLive()
                ? new LockDecision.Busy(held.RunId, "the lock is held")
                : new LockDecision.Busy(null, "a new holder is writing its record", Settling: true);
        }

        if (record is null || !record.State.IsLive())
        {
            return Due(record, null, now, settings, force);
        }

        if (remoteRunner)
        {
            return probe switch
            {
                null => new LockDecision.AskRunner(record),
                RunProbe.Alive alive => new LockDecision.Adopt(record, alive.Handle, now >= record.Deadline),
                RunProbe.Ended ended => Due(record, Close(record, RunState.Ended, ended.Outcome, "its run ended") with
                {
                    Record = record with { Handle = ended.Handle ?? record.Handle, ExitCode = ended.ExitCode },
                }, now, settings, force),
                RunProbe.Absent => Due(record, Close(record, RunState.FailedToStart, RunOutcomes.FailedToStart, "its run never started"), now, settings, force),
                RunProbe.Unknown unknown => new LockDecision.Busy(record.RunId, "its runner cannot tell: " + unknown.Why),
                _ => throw new ArgumentOutOfRangeException(nameof(probe)),
            };
        }

        if (localProcessAlive?.Invoke(record) == true)
        {
            // Belt and braces: a process of this run is alive on this very host, whatever the lease says.
            return new LockDecision.Busy(record.RunId, "its process is alive on this host");
        }

        var closing = record.State == RunState.Running
            ? Close(record, RunState.Interrupted, RunOutcomes.Abandoned, "its owner stopped renewing the lease")
            : Close(record, RunState.FailedToStart, RunOutcomes.FailedToStart, "its owner stopped before the run started");
        if (snapshot.Lease == LeaseView.Expired)
        {
            return Due(record, closing, now, settings, force);
        }

        // Broken or released under a live record: the owner may still be running it until its next renewal fails.
        if (record.Fenced is not { } fenced)
        {
            return new LockDecision.Fence(record);
        }

        return now >= fenced + leaseDuration
            ? Due(record, closing with { Reason = "its lease was broken and its owner's lease time is over" }, now, settings, force)
            : new LockDecision.Busy(record.RunId, "its lease was broken; waiting until its owner's lease time is over");
    }

    private static Closing Close(LockRecord record, RunState state, string outcome, string reason) => new(record, state, outcome, reason);

    private static LockDecision Due(LockRecord? record, Closing? closing, DateTimeOffset now, JobSettings settings, bool force)
    {
        var last = closing is not null ? closing.Closed(now) : record;
        if (!force && settings.NextDueAfter(last?.SlotStarted, now) is { } nextDue)
        {
            var notDue = new LockDecision.NotDue(nextDue, last?.SlotRunId);
            return closing is null ? notDue : new LockDecision.Close(closing, notDue);
        }

        return new LockDecision.Acquire(closing);
    }
}
