using Azure;
using CronFunctions.Jobs;
using CronFunctions.Locking;
using CronFunctions.Runners;
using CronFunctions.Runs;
using Microsoft.Extensions.Options;

namespace CronFunctions.Tests.Runs;

/// <summary>
/// The lock's decision as a table on simulated time: every (lease, record, runner's answer, now, force) case the
/// lock can meet, and what it must do. Pure: no storage, no clock, no process.
/// </summary>
public sealed class LockDecisionsTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);
    private static readonly DateTimeOffset Yesterday0206 = At("2026-11-24T02:06:10Z");
    private static readonly DateTimeOffset Today0207 = At("2026-11-25T02:07:00Z");
    private static readonly JobSettings Daily = Settings(JobCatalog.PartiesImport, "6 2 * * *");
    private static readonly RunHandle Execution = new("containerapp", "/subscriptions/x/resourceGroups/rg/providers/Microsoft.App/jobs/j/executions/j-1", Execution: "j-1");
    private static readonly RunHandle Process = new("local", "4242", Host: "other-host", Pid: 4242);

    private static readonly List<(string Name, LockSnapshot Snapshot, DateTimeOffset Now, bool Force, bool Remote, RunProbe? Probe, bool? LocalAlive, string Expected)> Table =
    [
        // name, snapshot, now, force, remote runner, probe, local process alive here, expected decision
        ("held lease: its owner renews it", Snap(LeaseView.Held, Running("r1", Yesterday0206)), Today0207, false, false, null, null, "Busy r1"),
        ("held lease, no record yet (a holder between acquire and write)", Snap(LeaseView.Held, null), Today0207, true, false, null, null, "Busy -"),
        ("held lease, force: force never overrides the lock", Snap(LeaseView.Held, Running("r1", Yesterday0206)), Today0207, true, false, null, null, "Busy r1"),
        ("held lease over an ended record: a new holder is writing", Snap(LeaseView.Held, Ended("r1", Yesterday0206)), Today0207, true, false, null, null, "Busy -"),
        ("older version's infinite lease, run before its deadline", Snap(LeaseView.Held, Running("r1", Today0207.AddMinutes(-30)), infinite: true), Today0207, false, false, null, null, "Busy r1"),
        ("older version's infinite lease, run past its deadline", Snap(LeaseView.Held, Running("r1", Yesterday0206), infinite: true), Today0207, false, false, null, null, "BreakLegacy r1"),
        ("older version's infinite lease, run ended", Snap(LeaseView.Held, Ended("r1", Yesterday0206), infinite: true), Today0207, false, false, null, null, "BreakLegacy r1"),

        ("first call ever", Snap(LeaseView.Free, null), Today0207, false, false, null, null, "Acquire"),
        ("a slot passed since the last start", Snap(LeaseView.Free, Ended("r1", Yesterday0206)), Today0207, false, false, null, null, "Acquire"),
        ("no slot since the last start", Snap(LeaseView.Free, Ended("r1", Today0207)), Today0207.AddMinutes(1), false, false, null, null, "NotDue 2026-11-26T02:06:00Z r1"),
        ("not due, but forced", Snap(LeaseView.Free, Ended("r1", Today0207)), Today0207.AddMinutes(1), true, false, null, null, "Acquire"),
        ("a failed start does not use the slot", Snap(LeaseView.Free, FailedToStart("r2", Today0207, lastStarted: Yesterday0206, lastRunId: "r1")), Today0207.AddMinutes(1), false, false, null, null, "Acquire"),
        ("an interrupted run used its slot", Snap(LeaseView.Expired, Interrupted("r1", Today0207)), Today0207.AddMinutes(1), false, false, null, null, "NotDue 2026-11-26T02:06:00Z r1"),

        ("local run, lease expired: its lifeline killed it", Snap(LeaseView.Expired, Running("r1", Yesterday0206)), Today0207, false, false, null, null, "Acquire closing r1 Interrupted Abandoned"),
        ("local run, lease expired, not due: close it only", Snap(LeaseView.Expired, Running("r1", Today0207)), Today0207.AddMinutes(5), false, false, null, null, "Close r1 Interrupted Abandoned then NotDue 2026-11-26T02:06:00Z r1"),
        ("local start, lease expired before it ran: slot unused", Snap(LeaseView.Expired, Starting("r2", Today0207, lastStarted: Yesterday0206)), Today0207.AddMinutes(1), false, false, null, null, "Acquire closing r2 FailedToStart FailedToStart"),
        ("local run, lease expired, but its process is alive on this host", Snap(LeaseView.Expired, Running("r1", Yesterday0206)), Today0207, false, false, null, true, "Busy r1"),
        ("local run, lease broken by someone: fence it first", Snap(LeaseView.Broken, Running("r1", Yesterday0206)), Today0207, false, false, null, null, "Fence r1"),
        ("local run, lease released under a live record: fence it", Snap(LeaseView.Free, Running("r1", Yesterday0206)), Today0207, false, false, null, null, "Fence r1"),
        ("local run, fenced less than a lease ago", Snap(LeaseView.Broken, Running("r1", Yesterday0206) with { Fenced = Today0207.AddSeconds(-59) }), Today0207, false, false, null, null, "Busy r1"),
        ("local run, fenced a lease ago: dead by now", Snap(LeaseView.Broken, Running("r1", Yesterday0206) with { Fenced = Today0207.AddSeconds(-60) }), Today0207, false, false, null, null, "Acquire closing r1 Interrupted Abandoned"),

        ("remote run nobody watches: ask its runner", Snap(LeaseView.Expired, Running("r1", Today0207, Execution)), Today0207.AddMinutes(5), false, true, null, null, "AskRunner r1"),
        ("remote run alive: adopt it", Snap(LeaseView.Expired, Running("r1", Today0207, Execution)), Today0207.AddMinutes(5), false, true, new RunProbe.Alive(Execution), null, "Adopt r1 running"),
        ("remote run alive past its deadline: adopt it to stop it", Snap(LeaseView.Free, Running("r1", Yesterday0206, Execution)), Today0207, false, true, new RunProbe.Alive(Execution), null, "Adopt r1 past-deadline"),
        ("remote run ended: close it, then due", Snap(LeaseView.Expired, Running("r1", Yesterday0206, Execution)), Today0207, false, true, new RunProbe.Ended(Execution, "Succeeded"), null, "Acquire closing r1 Ended Succeeded"),
        ("remote run ended, not due: close it only", Snap(LeaseView.Expired, Running("r1", Today0207, Execution)), Today0207.AddMinutes(5), false, true, new RunProbe.Ended(Execution, "Failed"), null, "Close r1 Ended Failed then NotDue 2026-11-26T02:06:00Z r1"),
        ("unknown remote start proved absent: slot unused", Snap(LeaseView.Expired, Unknown("r2", Today0207, lastStarted: Yesterday0206)), Today0207.AddMinutes(5), false, true, new RunProbe.Absent(), null, "Acquire closing r2 FailedToStart FailedToStart"),
        ("unknown remote start found alive: adopt it", Snap(LeaseView.Expired, Unknown("r2", Today0207, lastStarted: Yesterday0206)), Today0207.AddMinutes(5), false, true, new RunProbe.Alive(Execution), null, "Adopt r2 running"),
        ("remote run, runner cannot tell: never guess", Snap(LeaseView.Expired, Running("r1", Yesterday0206, Execution)), Today0207, true, true, new RunProbe.Unknown("ARM down"), null, "Busy r1"),
    ];

    public static TheoryData<string> Cases => new(Table.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decide(string name)
    {
        var (_, snapshot, now, force, remote, probe, localAlive, expected) = Table.Single(c => c.Name == name);

        var decision = LockDecisions.Decide(snapshot, now, Daily, force, Lease, remote, probe, _ => localAlive);

        Assert.Equal(expected, Describe(decision));
    }

    [Fact]
    public void CatchUp_FailedCallAt0206_StartsAt0207_NotDueAt0208()
    {
        // 02:06: the call failed before the lock was touched (storage down): the record still says yesterday.
        var record = Ended("r1", Yesterday0206);
        Assert.IsType<LockDecision.Acquire>(LockDecisions.Decide(Snap(LeaseView.Free, record), At("2026-11-25T02:07:00Z"), Daily, false, Lease, false));

        // 02:07 started it: at 02:08 the job is not due until tomorrow.
        var started = Ended("r2", At("2026-11-25T02:07:00Z"));
        var at0208 = LockDecisions.Decide(Snap(LeaseView.Free, started), At("2026-11-25T02:08:00Z"), Daily, false, Lease, false);
        Assert.Equal("NotDue 2026-11-26T02:06:00Z r2", Describe(at0208));
    }

    [Fact]
    public void EveryRecordState_RoundTripsThroughMetadata()
    {
        foreach (var state in Enum.GetValues<RunState>())
        {
            var record = new LockRecord("r1", state, "local", Today0207, Today0207.AddHours(2), "host-a", Process, Today0207.AddHours(1), "Succeeded", 0, Yesterday0206, "r0", Today0207);
            Assert.Equal(record, LockRecord.FromMetadata(record.ToMetadata()));
        }
    }

    private static string Describe(LockDecision decision) => decision switch
    {
        LockDecision.Busy busy => "Busy " + (busy.RunId ?? "-"),
        LockDecision.NotDue notDue => $"NotDue {notDue.NextDue.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} {notDue.LastRunId}",
        LockDecision.Acquire { Closing: null } => "Acquire",
        LockDecision.Acquire { Closing: { } c } => $"Acquire closing {c.Record.RunId} {c.State} {c.Outcome}",
        LockDecision.Close close => $"Close {close.Closing.Record.RunId} {close.Closing.State} {close.Closing.Outcome} then {Describe(close.Then)}",
        LockDecision.AskRunner ask => "AskRunner " + ask.Record.RunId,
        LockDecision.Adopt adopt => $"Adopt {adopt.Record.RunId} {(adopt.PastDeadline ? "past-deadline" : "running")}",
        LockDecision.Fence fence => "Fence " + fence.Record.RunId,
        LockDecision.BreakLegacy legacy => "BreakLegacy " + legacy.RunId,
        _ => decision.ToString(),
    };

    private static LockSnapshot Snap(LeaseView lease, LockRecord? record, bool infinite = false) => new(lease, infinite, record, new ETag("\"e1\""), null);

    private static LockRecord Running(string runId, DateTimeOffset started, RunHandle? handle = null) =>
        new(runId, RunState.Running, handle?.Runner ?? "local", started, started.AddHours(2), "other-host", handle ?? Process);

    private static LockRecord Ended(string runId, DateTimeOffset started) =>
        Running(runId, started) with { State = RunState.Ended, Ended = started.AddMinutes(3), Outcome = "Succeeded", ExitCode = 0 };

    private static LockRecord Interrupted(string runId, DateTimeOffset started) =>
        Running(runId, started) with { State = RunState.Interrupted, Outcome = RunOutcomes.Interrupted };

    private static LockRecord Starting(string runId, DateTimeOffset started, DateTimeOffset lastStarted) =>
        new(runId, RunState.Starting, "local", started, started.AddHours(2), "other-host", LastStarted: lastStarted, LastRunId: "r1");

    private static LockRecord Unknown(string runId, DateTimeOffset started, DateTimeOffset lastStarted) =>
        new(runId, RunState.StartUnknown, "containerapp", started, started.AddHours(2), "other-host", LastStarted: lastStarted, LastRunId: "r1");

    private static LockRecord FailedToStart(string runId, DateTimeOffset started, DateTimeOffset lastStarted, string lastRunId) =>
        new(runId, RunState.FailedToStart, "local", started, started.AddHours(2), "other-host", Outcome: RunOutcomes.FailedToStart, LastStarted: lastStarted, LastRunId: lastRunId);

    private static JobSettings Settings(JobDefinition job, string schedule)
    {
        var options = new CronOptions();
        options.Jobs[job.FunctionName] = new JobOptions { Schedule = schedule };
        return new JobSettingsCatalog(Options.Create(options))[job];
    }

    private static DateTimeOffset At(string time) => DateTimeOffset.Parse(time, System.Globalization.CultureInfo.InvariantCulture);
}
