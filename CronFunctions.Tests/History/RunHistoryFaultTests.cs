using Azure.Data.Tables;
using Azure.Identity;
using CronFunctions.Functions;
using CronFunctions.History;
using CronFunctions.Jobs;
using CronFunctions.Runs;
using CronFunctions.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace CronFunctions.Tests.History;

/// <summary>
/// Recording never fails a call: storage down, an identity without a token, a full retry queue, a shutdown with
/// records unwritten. What can't be written is kept and retried; what must be dropped is counted and reported as one
/// error per interval; reads never take pending records; the background writer never faults.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class RunHistoryFaultTests(AzuriteFixture azurite)
{
    private static readonly DateTimeOffset T = new(2026, 11, 25, 14, 35, 12, TimeSpan.Zero);

    private static RunRecord Started(string job, DateTimeOffset time)
    {
        var id = RunIds.New(time);
        return new RunRecord { Id = id, Job = job, Decision = RunRecord.Started, RunId = id, Time = time, Pid = 7 };
    }

    [Fact]
    public async Task StorageDown_RecordingReturns_AndTheWriterWritesTheRecordOnceStorageIsBack()
    {
        await using var storage = await AzuriteInstance.StartAsync();
        await using var history = new HistoryServices(storage.ConnectionString, storage.TablePort);
        await storage.StopAsync();
        var record = Started("sopn-parse", T);

        await history.History.RecordAsync(record, CancellationToken.None); // does not throw

        Assert.Equal(1, history.Pending.Count);
        var queued = Assert.Single(history.Logs.GetSnapshot(), r => r.Id.Id == 1201);
        Assert.Equal(LogLevel.Warning, queued.Level);
        await Assert.ThrowsAnyAsync<Exception>(() => history.History.ListAsync("sopn-parse", 10, CancellationToken.None));
        Assert.Equal(1, history.Pending.Count); // a failed read takes nothing

        await storage.StartAgainAsync();
        Assert.Empty(await history.History.ListAsync("sopn-parse", 10, CancellationToken.None)); // reads don't flush
        Assert.Equal(1, history.Pending.Count);

        await history.Writer.RunOnceAsync(CancellationToken.None);

        Assert.Equal(0, history.Pending.Count);
        Assert.Equal(record.Id, Assert.Single(await history.History.ListAsync("sopn-parse", 10, CancellationToken.None)).Id);
        Assert.Contains(history.Logs.GetSnapshot(), r => r.Id.Id == 1205);
        Assert.DoesNotContain(history.Logs.GetSnapshot(), r => r.Id.Id == 1200);
    }

    [Fact]
    public async Task AnIdentityThatCannotGetAToken_IsAStorageFailure_TheRecordIsKept()
    {
        await using var history = new HistoryServices(azurite.ConnectionString, azurite.Instance.TablePort, tableClient: HistoryServices.WithoutAToken());

        await history.History.RecordAsync(Started("ee-recent", T), CancellationToken.None);

        Assert.Equal(1, history.Pending.Count);
        var queued = Assert.Single(history.Logs.GetSnapshot(), r => r.Id.Id == 1201);
        Assert.IsType<AuthenticationFailedException>(queued.Exception);
    }

    [Theory]
    [InlineData("Runs")]
    [InlineData("JobStatus")]
    public async Task ReadingWithAnIdentityThatCannotGetAToken_Is503(string function)
    {
        await using var history = new HistoryServices(azurite.ConnectionString, azurite.Instance.TablePort, tableClient: HistoryServices.WithoutAToken());
        var context = new DefaultHttpContext { RequestServices = history.Services };
        context.Request.Method = "GET";
        context.Request.Headers.Authorization = "Bearer " + HistoryServices.Token;

        var body = function == "Runs"
            ? await FunctionInvoker.InvokeAsync(typeof(RunsEndpoints), context, function, [], CancellationToken.None)
            : await FunctionInvoker.InvokeAsync(typeof(StatusEndpoints), context, function, [], CancellationToken.None);

        Assert.Equal(503, context.Response.StatusCode);
        Assert.Contains("unreachable", System.Text.Encoding.UTF8.GetString(body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACancelledWrite_KeepsTheRecordForRetry()
    {
        await using var history = new HistoryServices(azurite.ConnectionString, azurite.Instance.TablePort);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var record = Started("ee-recent", T);

        await history.History.RecordAsync(record, cancelled.Token);
        Assert.Equal(1, history.Pending.Count);
        await history.Writer.RunOnceAsync(CancellationToken.None);

        Assert.Equal(record.Id, (await history.History.GetAsync(record.Id, CancellationToken.None))?.Id);
    }

    [Fact]
    public async Task ARecordStorageRefuses_IsDroppedCountedAndLogged_NotRetried()
    {
        await using var history = new HistoryServices(azurite.ConnectionString, azurite.Instance.TablePort);
        await history.History.RecordAsync(Started("ee-recent", T), CancellationToken.None); // the table exists
        var tooLarge = Started("ee-recent", T.AddSeconds(1)) with { Arguments = [new string('a', 40_000), new string('b', 40_000)] };

        await history.History.RecordAsync(tooLarge, CancellationToken.None);

        Assert.Equal(0, history.Pending.Count);
        var rejected = Assert.Single(history.Logs.GetSnapshot(), r => r.Id.Id == 1203);
        Assert.Equal(LogLevel.Error, rejected.Level);
        await history.Writer.RunOnceAsync(CancellationToken.None);
        Assert.Equal("1", Assert.Single(Dropped(history.Logs)).GetStructuredStateValue("Count"));
    }

    [Fact]
    public async Task PastTheCap_TheOldestAreDropped_AndTheCountIsLoggedAsOneErrorPerInterval()
    {
        var time = new FakeTimeProvider(T);
        await using var history = new HistoryServices(azurite.ConnectionString, azurite.Instance.TablePort, time,
            new Dictionary<string, string?> { ["Cron:Runs:MaxPending"] = "100" }, HistoryServices.WithoutAToken());
        var records = Enumerable.Range(0, 135).Select(i => Started("sopn-parse", T.AddSeconds(i))).ToList();
        foreach (var record in records.Take(130))
        {
            await history.History.RecordAsync(record, CancellationToken.None);
        }

        Assert.Equal(100, history.Pending.Count);
        await history.Writer.RunOnceAsync(CancellationToken.None);

        var first = Assert.Single(Dropped(history.Logs));
        Assert.Equal(LogLevel.Error, first.Level);
        Assert.Equal("30", first.GetStructuredStateValue("Count"));

        foreach (var record in records.Skip(130))
        {
            await history.History.RecordAsync(record, CancellationToken.None);
        }

        await history.Writer.RunOnceAsync(CancellationToken.None);
        Assert.Single(Dropped(history.Logs)); // within the minute: counted, not logged again yet

        time.Advance(TimeSpan.FromMinutes(1));
        await history.Writer.RunOnceAsync(CancellationToken.None);

        Assert.Equal(["30", "5"], Dropped(history.Logs).Select(r => r.GetStructuredStateValue("Count")));
        Assert.Equal(records[35].Id, history.Pending.Oldest()!.Value.Id); // the newest 100 are kept
    }

    [Fact]
    public async Task AtShutdown_TheRecordsThatCannotBeWritten_AreReportedAsDropped()
    {
        await using var history = new HistoryServices(azurite.ConnectionString, azurite.Instance.TablePort, tableClient: HistoryServices.WithoutAToken());
        for (var i = 0; i < 5; i++)
        {
            await history.History.RecordAsync(Started("check-current", T.AddSeconds(i)), CancellationToken.None);
        }

        await history.Writer.StartAsync(CancellationToken.None);
        await history.Writer.StopAsync(CancellationToken.None);

        Assert.Equal("5", Assert.Single(Dropped(history.Logs)).GetStructuredStateValue("Count"));
        Assert.True(history.Writer.ExecuteTask is { IsCompleted: true, IsFaulted: false }); // stopped (or cancelled before its first round), never faulted
    }

    [Fact]
    public async Task TheWriter_KeepsRunningThroughFailures_AndNeverFaults()
    {
        var time = new FakeTimeProvider(T);
        await using var history = new HistoryServices(azurite.ConnectionString, azurite.Instance.TablePort, time, tableClient: HistoryServices.WithoutAToken());
        await history.History.RecordAsync(Started("ee-recent", T), CancellationToken.None);
        await history.Writer.StartAsync(CancellationToken.None);

        for (var warning = 0; warning < 3; warning++)
        {
            // Rounds every 5 s of simulated time, each failing to write; the failure is warned about once a minute.
            var before = history.Logs.GetSnapshot().Count(r => r.Id.Id == 1204);
            await WaitUntilAsync(() => history.Logs.GetSnapshot().Count(r => r.Id.Id == 1204) > before, () => time.Advance(TimeSpan.FromSeconds(5)));
        }

        Assert.False(history.Writer.ExecuteTask!.IsCompleted);
        await history.Writer.StopAsync(CancellationToken.None);
        Assert.True(history.Writer.ExecuteTask is { IsCompleted: true, IsFaulted: false });
    }

    [Fact]
    public async Task AJobsLastCheck_CostsNoRequest_AndIsWrittenAtMostOnceAMinute()
    {
        var time = new FakeTimeProvider(T);
        await using var history = new HistoryServices(azurite.ConnectionString, azurite.Instance.TablePort, time);
        for (var i = 0; i < 100; i++)
        {
            history.History.NoteChecked("sopn-parse", "not_due", time.GetUtcNow(), "20261125T143400Z-00000001");
            time.Advance(TimeSpan.FromMilliseconds(100));
        }

        Assert.Empty(history.Requests.Tables);
        await history.Writer.RunOnceAsync(CancellationToken.None);
        Assert.Equal(1, SummaryWrites(history));
        Assert.Equal(T.AddSeconds(9.9), (await StoredCheckAsync(history))?.Time);

        history.History.NoteChecked("sopn-parse", "already_running", time.GetUtcNow(), "20261125T143500Z-00000002");
        time.Advance(TimeSpan.FromSeconds(30));
        await history.Writer.RunOnceAsync(CancellationToken.None);
        Assert.Equal(1, SummaryWrites(history)); // not yet: once a minute at most

        time.Advance(TimeSpan.FromSeconds(31));
        await history.Writer.RunOnceAsync(CancellationToken.None);
        Assert.Equal(2, SummaryWrites(history));
        var stored = await StoredCheckAsync(history);
        Assert.Equal("already_running", stored?.Decision);
        Assert.Equal("20261125T143500Z-00000002", stored?.RunId);
    }

    private static IEnumerable<FakeLogRecord> Dropped(FakeLogCollector logs) => logs.GetSnapshot().Where(r => r.Id.Id == 1200);

    private static int SummaryWrites(HistoryServices history) =>
        history.Requests.Tables.Count(r => r.Method == "PATCH" && r.Status is >= 200 and < 300 && r.Uri.AbsolutePath.Contains("_jobs", StringComparison.Ordinal));

    private async Task<JobCheck?> StoredCheckAsync(HistoryServices history)
    {
        var row = await new TableClient(azurite.ConnectionString, history.TableName).GetEntityIfExistsAsync<TableEntity>(RunRows.SummaryPartition, "sopn-parse");
        return row.HasValue ? RunRows.SummaryFromRow(row.Value!).LastCheck : null;
    }

    /// <summary>Waits (15 s at most) for <paramref name="condition"/>, doing <paramref name="tick"/> between looks.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition, Action tick)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the writer's round");
            tick();
            await Task.Delay(20);
        }
    }
}
