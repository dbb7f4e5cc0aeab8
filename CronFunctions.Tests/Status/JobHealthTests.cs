using Cronos;
using CronFunctions.Jobs;
using CronFunctions.Runs;
using CronFunctions.Status;

namespace CronFunctions.Tests.Status;

/// <summary>The health rules as tables on simulated time: when a job turns overdue or failing, and when it clears.</summary>
public sealed class JobHealthTests
{
    private static readonly JobSettings Daily = Settings(JobCatalog.PartiesImport); // 6 2 * * *
    private static readonly JobSettings EveryMinute = Settings(JobCatalog.SopnParse); // * * * * *
    private static readonly JobSettings EveryFive = Settings(JobCatalog.EeRecent); // */5 * * * *

    private static JobSettings Settings(JobDefinition job) =>
        new(job, "local", TimeSpan.FromHours(2), CronExpression.Parse(job.Schedule, CronFormat.Standard));

    private static DateTimeOffset At(string utc) => DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal);

    private static RunRecord Run(string job, string started, string? outcome, double seconds = 30, string decision = RunRecord.Started, int? exitCode = null)
    {
        var start = At(started);
        var id = RunIds.New(start);
        return new RunRecord
        {
            Id = id,
            Job = job,
            Decision = decision,
            RunId = id,
            Time = start,
            Reason = decision == RunRecord.Failed ? "runner_failed" : null,
            Outcome = outcome,
            Ended = outcome is null ? null : start.AddSeconds(seconds),
            DurationSeconds = outcome is null ? null : seconds,
            ExitCode = exitCode ?? (outcome == "Failed" ? 1 : outcome == "Succeeded" ? 0 : null),
        };
    }

    private static string Name(HealthState state) => state.ToString().ToLowerInvariant();

    private static string NameOf(JobHealthVerdict verdict) => Name(verdict.State);

    private static JobHealthVerdict Judge(JobSettings settings, string now, IReadOnlyList<RunRecord> runs, LockView? lockView = null, string? watchedSince = null) =>
        JobHealth.Evaluate(settings, runs, lockView ?? LockView.None, watchedSince is null ? null : At(watchedSince), At(now));

    // A daily job that last ran yesterday at 02:06:05: today's 02:06 slot is missed; the grace is 1 h.
    [Theory]
    [InlineData("2026-11-25T02:05:59Z", "ok")]
    [InlineData("2026-11-25T02:06:00Z", "ok")]
    [InlineData("2026-11-25T02:30:00Z", "ok")]
    [InlineData("2026-11-25T03:06:00Z", "ok")]
    [InlineData("2026-11-25T03:06:01Z", "overdue")]
    [InlineData("2026-11-25T03:10:00Z", "overdue")]
    [InlineData("2026-11-27T12:00:00Z", "overdue")]
    public void ADailyJobMissed_IsOverdueFromItsSlotPlusAnHour(string now, string expected)
    {
        var verdict = Judge(Daily, now, [Run("parties-import", "2026-11-24T02:06:05Z", "Succeeded")]);

        Assert.Equal(expected, Name(verdict.State));
        Assert.Equal(At("2026-11-25T02:06:00Z"), verdict.ExpectedBy);
        Assert.Equal(At("2026-11-25T03:06:00Z"), verdict.OverdueAt);
        Assert.Equal(TimeSpan.FromHours(1), verdict.Grace);
        if (expected == "overdue")
        {
            Assert.Equal(At("2026-11-25T03:06:00Z"), verdict.Since);
            Assert.Contains("no run started since 2026-11-24T02:06:05Z", verdict.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void AnOverdueDailyJob_ClearsWhenTheNextRunStarts_AndStaysClearAfterItEnds()
    {
        var missed = Run("parties-import", "2026-11-24T02:06:05Z", "Succeeded");
        Assert.Equal(HealthState.Overdue, Judge(Daily, "2026-11-25T03:10:00Z", [missed]).State);

        var running = new LockView("20261125T031100Z-0000000b", At("2026-11-25T03:11:00Z"));
        Assert.Equal(HealthState.Ok, Judge(Daily, "2026-11-25T03:11:30Z", [Run("parties-import", "2026-11-25T03:11:00Z", null), missed], running).State);

        var caughtUp = Judge(Daily, "2026-11-25T03:20:00Z", [Run("parties-import", "2026-11-25T03:11:00Z", "Succeeded"), missed]);
        Assert.Equal(HealthState.Ok, caughtUp.State);
        Assert.Equal(At("2026-11-26T02:06:00Z"), caughtUp.ExpectedBy);
    }

    [Theory]
    [InlineData("2026-11-25T10:16:00Z", "ok")] // slot 10:01 + 15 min
    [InlineData("2026-11-25T10:16:01Z", "overdue")]
    public void AnEveryMinuteJob_HasFifteenMinutesOfGrace(string now, string expected) =>
        Assert.Equal(expected, NameOf(Judge(EveryMinute, now, [Run("sopn-parse", "2026-11-25T10:00:10Z", "Succeeded", seconds: 10)])));

    [Theory]
    [InlineData("2026-11-25T10:20:00Z", "ok")] // slot 10:05 + 15 min (twice 5 min is less than 15)
    [InlineData("2026-11-25T10:20:01Z", "overdue")]
    public void AFiveMinuteJob_HasFifteenMinutesOfGrace(string now, string expected) =>
        Assert.Equal(expected, NameOf(Judge(EveryFive, now, [Run("ee-recent", "2026-11-25T10:00:00Z", "Succeeded")])));

    [Fact]
    public void ALongRunOfAFrequentJob_IsNotOverdueRightAfterItEnds()
    {
        // Started 10:00:10, ran 30 min: the next call can only start it after 10:30:10.
        var runs = new[] { Run("sopn-parse", "2026-11-25T10:00:10Z", "Succeeded", seconds: 1800) };

        Assert.Equal(HealthState.Ok, Judge(EveryMinute, "2026-11-25T10:31:00Z", runs).State);
        Assert.Equal(HealthState.Ok, Judge(EveryMinute, "2026-11-25T10:45:10Z", runs).State);
        Assert.Equal(HealthState.Overdue, Judge(EveryMinute, "2026-11-25T10:45:11Z", runs).State);
    }

    [Fact]
    public void ARunningJob_IsNeverOverdue()
    {
        var running = new LockView("20261123T020600Z-0000000c", At("2026-11-23T02:06:00Z"));

        Assert.Equal(HealthState.Ok, Judge(Daily, "2026-11-25T12:00:00Z", [Run("parties-import", "2026-11-23T02:06:00Z", null)], running).State);
    }

    [Fact]
    public void TheLockSeesAStartTheHistoryMissed()
    {
        var lockView = new LockView(null, At("2026-11-25T02:06:01Z"));

        Assert.Equal(HealthState.Ok, Judge(Daily, "2026-11-25T12:00:00Z", [Run("parties-import", "2026-11-24T02:06:05Z", "Succeeded")], lockView).State);
    }

    [Theory]
    [InlineData("2026-11-25T09:16:00Z", "ok")] // watched since 09:00: slot 09:01 + 15 min
    [InlineData("2026-11-25T09:16:01Z", "overdue")]
    public void AJobThatNeverRan_IsOverdueFromWhenWatchingBegan(string now, string expected)
    {
        var verdict = Judge(EveryMinute, now, [], watchedSince: "2026-11-25T09:00:00Z");

        Assert.Equal(expected, Name(verdict.State));
        if (expected == "overdue")
        {
            Assert.Contains("since watching began at 2026-11-25T09:00:00Z", verdict.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void AJobThatNeverRan_AndIsNotWatchedYet_IsOk() =>
        Assert.Equal(HealthState.Ok, Judge(EveryMinute, "2026-11-25T09:16:01Z", []).State);

    [Fact]
    public void AGraceSetForTheJob_Applies()
    {
        var graced = Daily with { OverdueGrace = TimeSpan.FromMinutes(5) };
        var runs = new[] { Run("parties-import", "2026-11-24T02:06:05Z", "Succeeded") };

        Assert.Equal(HealthState.Ok, Judge(graced, "2026-11-25T02:11:00Z", runs).State);
        Assert.Equal(HealthState.Overdue, Judge(graced, "2026-11-25T02:11:01Z", runs).State);
    }

    public static TheoryData<string, string?[], string> FrequentJobRuns => new()
    {
        // newest first; null = still running (no outcome yet)
        { "three failures", ["Failed", "Failed", "Failed", "Succeeded"], "failing" },
        { "two failures", ["Failed", "Failed", "Succeeded"], "ok" },
        { "timeouts count", ["TimedOut", "Failed", "ProcessGone"], "failing" },
        { "a success breaks the streak", ["Succeeded", "Failed", "Failed", "Failed"], "ok" },
        { "a run still going doesn't count", [null, "Failed", "Failed", "Failed"], "failing" },
        { "no runs", [], "ok" },
    };

    [Theory]
    [MemberData(nameof(FrequentJobRuns))]
    public void AFrequentJob_IsFailingAfterThreeFailedRunsInARow(string because, string?[] outcomes, string expected)
    {
        var runs = outcomes.Select((outcome, i) => Run("sopn-parse", $"2026-11-25T10:{10 - i:00}:05Z", outcome)).ToList();

        var verdict = Judge(EveryMinute, "2026-11-25T10:11:00Z", runs);

        Assert.True(expected == Name(verdict.State), because);
        Assert.Equal(3, verdict.FailingAfter);
    }

    [Fact]
    public void AFailingJob_IsFailingSinceTheFirstFailureOfItsStreak()
    {
        var runs = new[]
        {
            Run("sopn-parse", "2026-11-25T10:10:05Z", "Failed"),
            Run("sopn-parse", "2026-11-25T10:09:05Z", "Failed"),
            Run("sopn-parse", "2026-11-25T10:08:05Z", "Failed", exitCode: 2),
            Run("sopn-parse", "2026-11-25T10:07:05Z", "Failed"),
            Run("sopn-parse", "2026-11-25T10:06:05Z", "Succeeded"),
        };

        var verdict = Judge(EveryMinute, "2026-11-25T10:11:00Z", runs);

        Assert.Equal(HealthState.Failing, verdict.State);
        Assert.Equal(At("2026-11-25T10:07:05Z"), verdict.Since);
        Assert.Contains($"latest {runs[0].Id}: Failed (exit code 1)", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ADailyJob_IsFailingAfterOneFailedRun()
    {
        var verdict = Judge(Daily, "2026-11-25T02:30:00Z", [Run("parties-import", "2026-11-25T02:06:05Z", "Failed")]);

        Assert.Equal(HealthState.Failing, verdict.State);
        Assert.Equal(1, verdict.FailingAfter);
    }

    [Fact]
    public void FailedStartsCount_AndRefusedCallsDoNot()
    {
        var refused = Run("sopn-parse", "2026-11-25T10:10:30Z", null, decision: RunRecord.Refused);
        var runs = new[]
        {
            refused,
            Run("sopn-parse", "2026-11-25T10:10:05Z", null, decision: RunRecord.Failed),
            Run("sopn-parse", "2026-11-25T10:09:05Z", null, decision: RunRecord.Failed),
            Run("sopn-parse", "2026-11-25T10:08:05Z", "Failed"),
        };

        var verdict = Judge(EveryMinute, "2026-11-25T10:11:00Z", runs);

        Assert.Equal(HealthState.Failing, verdict.State);
        Assert.Contains("not started (runner_failed)", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void AFailingAfterSetForTheJob_Applies()
    {
        var runs = Enumerable.Range(0, 4).Select(i => Run("sopn-parse", $"2026-11-25T10:{10 - i:00}:05Z", "Failed")).ToList();

        Assert.Equal(HealthState.Ok, Judge(EveryMinute with { FailingAfter = 5 }, "2026-11-25T10:11:00Z", runs).State);
        Assert.Equal(HealthState.Failing, Judge(EveryMinute with { FailingAfter = 4 }, "2026-11-25T10:11:00Z", runs).State);
    }

    [Fact]
    public void OverdueWinsOverFailing()
    {
        var verdict = Judge(Daily, "2026-11-26T12:00:00Z", [Run("parties-import", "2026-11-25T02:06:05Z", "Failed")]);

        Assert.Equal(HealthState.Overdue, verdict.State);
    }

    [Theory]
    [InlineData(1, 15)]
    [InlineData(5, 15)]
    [InlineData(10, 20)]
    [InlineData(20, 40)]
    [InlineData(60, 60)]
    [InlineData(1440, 60)]
    public void TheDefaultGrace_IsTwoSlots_BetweenFifteenMinutesAndAnHour(int slotMinutes, int graceMinutes) =>
        Assert.Equal(TimeSpan.FromMinutes(graceMinutes), JobHealth.DefaultGrace(TimeSpan.FromMinutes(slotMinutes)));
}
