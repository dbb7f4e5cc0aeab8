using Azure.Data.Tables;
using CronFunctions.History;
using CronFunctions.Jobs;
using CronFunctions.Runs;
using CronFunctions.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace CronFunctions.Tests.History;

/// <summary>
/// The run history's table against real Azurite: the keys make "last N runs of a job" one query and "one run by id" two
/// point reads, a run's end merges into its start in either order, and retention deletes by range, never by scan.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class RunTableTests(AzuriteFixture azurite)
{
    private static readonly DateTimeOffset T = new(2026, 11, 25, 14, 35, 12, TimeSpan.Zero);

    private HistoryServices NewHistory(TimeProvider? time = null, IDictionary<string, string?>? settings = null) =>
        new(azurite.ConnectionString, azurite.Instance.TablePort, time, settings);

    private static RunRecord Started(string job, DateTimeOffset time, int pid = 42) => Started(job, RunIds.New(time), time, pid);

    private static RunRecord Started(string job, string id, DateTimeOffset time, int pid = 42) => new()
    {
        Id = id,
        Job = job,
        Decision = RunRecord.Started,
        RunId = id,
        Time = time,
        Pid = pid,
        Runner = "local",
        Arguments = ["a", "b"],
        ScheduledTime = "2026-11-25T14:35:00.000Z",
    };

    private static RunRecord End(RunRecord start, string outcome, int exitCode, params string[] lines) =>
        RunRecord.EndOf(start.Id, start.Job, start.Time.AddSeconds(3), outcome) with
        {
            ExitCode = exitCode,
            DurationSeconds = 3,
            LastLines = lines,
        };

    [Fact]
    public async Task TheLastRunsOfAJob_AreOneQuery_NewestFirst_WhateverOrderTheyWereWrittenIn()
    {
        await using var history = NewHistory();
        var runs = Enumerable.Range(0, 40).Select(i => Started("ee-recent", T.AddMinutes(5 * i))).ToList();
        foreach (var run in runs.OrderBy(_ => Random.Shared.Next()))
        {
            await history.History.RecordAsync(run, CancellationToken.None);
        }

        await history.History.RecordAsync(Started("sopn-parse", T.AddDays(1)), CancellationToken.None); // newer, other job
        history.Requests.Clear();

        var last = await history.History.ListAsync("ee-recent", 20, CancellationToken.None);

        Assert.Equal(runs.AsEnumerable().Reverse().Take(20).Select(r => r.Id), last.Select(r => r.Id));
        var query = Assert.Single(history.Requests.Tables);
        Assert.Equal("GET", query.Method);
        Assert.Contains("PartitionKey eq 'ee-recent'", query.Text, StringComparison.Ordinal);
        Assert.Contains("$top=20", query.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ARunsEnd_MergesIntoItsStartRow_InEitherOrder(bool endFirst)
    {
        await using var history = NewHistory();
        var start = Started("ee-recent", T);
        var end = End(start, "Failed", 3, "boom");

        foreach (var record in endFirst ? new[] { end, start } : [start, end])
        {
            await history.History.RecordAsync(record, CancellationToken.None);
        }

        var run = Assert.Single(await history.History.ListAsync("ee-recent", 10, CancellationToken.None));
        Assert.Equal(start.Id, run.Id);
        Assert.Equal(RunRecord.Started, run.Decision);
        Assert.Equal(start.Time, run.Time);
        Assert.Equal(42, run.Pid);
        Assert.Equal(["a", "b"], run.Arguments);
        Assert.Equal("2026-11-25T14:35:00.000Z", run.ScheduledTime);
        Assert.Equal("Failed", run.Outcome);
        Assert.Equal(3, run.ExitCode);
        Assert.Equal(3, run.DurationSeconds);
        Assert.Equal(["boom"], run.LastLines);
        Assert.Equal(T.AddSeconds(3), run.Ended);
    }

    [Fact]
    public async Task AnEndWhoseStartWasNeverWritten_IsListedAsEnded_AndFoundById()
    {
        await using var history = NewHistory();
        var end = RunRecord.EndOf("20261125T120000Z-0000000a", "sopn-parse", T, "ProcessGone") with { Error = "Lock taken over: its process is gone" };

        await history.History.RecordAsync(end, CancellationToken.None);

        var run = Assert.Single(await history.History.ListAsync("sopn-parse", 10, CancellationToken.None));
        Assert.Equal(RunRecord.Finished, run.Decision);
        Assert.Equal("20261125T120000Z-0000000a", run.RunId);
        Assert.Equal("ProcessGone", run.Outcome);
        Assert.Equal("Lock taken over: its process is gone", run.Error);
        Assert.Equal("ProcessGone", (await history.History.GetAsync(end.Id, CancellationToken.None))?.Outcome);
    }

    [Fact]
    public async Task OneRunById_IsTwoPointReads_AndAnUnknownIdOne()
    {
        await using var history = NewHistory();
        var runs = Enumerable.Range(0, 10).Select(i => Started(JobCatalog.All[i % 6].Name, T.AddMinutes(i))).ToList();
        foreach (var run in runs)
        {
            await history.History.RecordAsync(run, CancellationToken.None);
        }

        history.Requests.Clear();
        var found = await history.History.GetAsync(runs[7].Id, CancellationToken.None);

        Assert.Equal(runs[7].Job, found?.Job);
        Assert.Equal(2, history.Requests.Tables.Count);
        Assert.All(history.Requests.Tables, r => Assert.Contains("',RowKey='", r.Text, StringComparison.Ordinal)); // point reads, not queries

        history.Requests.Clear();
        Assert.Null(await history.History.GetAsync("20261125T143512Z-ffffffff", CancellationToken.None));
        Assert.Single(history.Requests.Tables);
    }

    [Fact]
    public async Task ReadingAnEmptyHistory_FindsNothing_AndCreatesNothing()
    {
        await using var history = NewHistory();

        Assert.Empty(await history.History.ListAsync(null, 50, CancellationToken.None));
        Assert.Null(await history.History.GetAsync("20261125T143512Z-00000001", CancellationToken.None));
        Assert.All((await history.History.ReadSummariesAsync(CancellationToken.None)).Values, s => Assert.Null(s.LastCheck));
    }

    [Fact]
    public async Task Cleanup_DeletesRowsPastTheRetention_ByRangeQueriesPerPartition()
    {
        var now = new DateTimeOffset(2026, 11, 30, 10, 0, 0, TimeSpan.Zero);
        var time = new FakeTimeProvider(now);
        await using var history = NewHistory(time, new Dictionary<string, string?> { ["Cron:Runs:RetentionDays"] = "14" });
        var old = new[] { Started("ee-recent", now.AddDays(-20)), Started("parties-import", now.AddDays(-15)), Started("ee-recent", now.AddDays(-14).AddSeconds(-1)) };
        var kept = new[] { Started("ee-recent", now.AddDays(-14).AddSeconds(1)), Started("parties-import", now.AddDays(-1)), Started("sopn-parse", now) };
        foreach (var record in old.Concat(kept))
        {
            await history.History.RecordAsync(record, CancellationToken.None);
        }

        await history.History.RecordAsync(End(old[0], "Succeeded", 0), CancellationToken.None);
        history.Requests.Clear();

        await history.Writer.CleanupAsync(CancellationToken.None);
        var queries = history.Requests.Tables.Where(r => r.Method == "GET").ToList();

        var remaining = await history.History.ListAsync(null, 100, CancellationToken.None);
        Assert.Equal(kept.Select(r => r.Id).Order(), remaining.Select(r => r.Id).Order());
        foreach (var gone in old)
        {
            Assert.Null(await history.History.GetAsync(gone.Id, CancellationToken.None));
        }

        Assert.NotNull(await history.History.GetAsync(kept[0].Id, CancellationToken.None));
        Assert.NotEmpty(queries);
        Assert.All(queries, q => Assert.Contains("PartitionKey", q.Text, StringComparison.Ordinal)); // never a table scan
        Assert.Contains(history.Logs.GetSnapshot(), r => r.Id.Id == 1202);

        // Index rows of the deleted days are gone too: only the kept runs' index rows remain.
        var table = new TableClient(azurite.ConnectionString, history.TableName);
        var indexRows = new List<string>();
        await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey ge {RunRows.IndexPartitionPrefix} and PartitionKey lt {"_ids."}")))
        {
            indexRows.Add(row.RowKey);
        }

        Assert.Equal(kept.Select(r => r.Id).Order(), indexRows.Order());
    }

    [Fact]
    public async Task OutputTooLongForATableColumn_KeepsTheNewestLines_EachCut()
    {
        await using var history = NewHistory();
        var start = Started("sopn-parse", T);
        var lines = Enumerable.Range(0, 20).Select(i => $"line {i} " + new string('x', 8 * 1024)).ToArray();

        await history.History.RecordAsync(start, CancellationToken.None);
        await history.History.RecordAsync(End(start, "Succeeded", 0, lines), CancellationToken.None);

        var run = Assert.Single(await history.History.ListAsync("sopn-parse", 1, CancellationToken.None));
        Assert.Equal(0, history.Pending.Count);
        Assert.NotNull(run.LastLines);
        Assert.StartsWith("line 19 ", run.LastLines[^1], StringComparison.Ordinal);
        Assert.All(run.LastLines, l => Assert.True(l.Length <= RunRows.MaxLineChars + 10));
        Assert.True(run.LastLines.Sum(l => l.Length) <= RunRows.MaxLastLinesChars);
        Assert.EndsWith("…[cut]", run.LastLines[^1], StringComparison.Ordinal);
    }
}
