using CronFunctions.Runs;

namespace CronFunctions.Tests.Operations;

/// <summary>A run's end merges into its start whatever order the two records were written in.</summary>
public sealed class RunHistoryMergeTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 25, 14, 35, 12, TimeSpan.Zero);

    private static RunRecord Started(string id) => new()
    {
        Id = id, Job = "ee-recent", Decision = RunRecord.Started, RunId = id, Time = T, Pid = 42, Arguments = ["a"],
    };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EndMergesIntoStart_InEitherOrder(bool endFirst)
    {
        var start = Started("20261125T143512Z-00000001");
        var end = RunRecord.EndOf(start.Id, "ee-recent", T.AddSeconds(3), "Failed") with { ExitCode = 3, LastLines = ["boom"] };
        var skipped = new RunRecord { Id = "20261125T143513Z-00000002", Job = "ee-recent", Decision = RunRecord.Skipped, RunId = start.Id, Time = T };

        var merged = RunHistory.Merge(endFirst ? [end, start, skipped] : [start, skipped, end]);

        Assert.Equal(2, merged.Count);
        var run = Assert.Single(merged, r => r.Id == start.Id);
        Assert.Equal(RunRecord.Started, run.Decision);
        Assert.Equal(42, run.Pid);
        Assert.Equal(["a"], run.Arguments);
        Assert.Equal("Failed", run.Outcome);
        Assert.Equal(3, run.ExitCode);
        Assert.Equal(T.AddSeconds(3), run.Ended);
    }

    [Fact]
    public void EndWithoutItsStart_IsKeptOnItsOwn()
    {
        var end = RunRecord.EndOf("20261125T120000Z-0000000a", "sopn-parse", T, "ProcessGone");

        var merged = RunHistory.Merge([end]);

        Assert.Equal(RunRecord.Finished, Assert.Single(merged).Decision);
    }
}
