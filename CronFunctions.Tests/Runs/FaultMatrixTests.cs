using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Azure.Core.Pipeline;
using CronFunctions.Jobs;
using CronFunctions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace CronFunctions.Tests.Runs;

/// <summary>Its own Azurite, so the matrix runs beside the rest of the suite.</summary>
[CollectionDefinition(Name)]
public sealed class FaultMatrixCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Fault matrix";
}

/// <summary>
/// The fault matrix of issue 10: a failure injected at every storage request of a run's life — read → acquire →
/// write "starting" → (the process starts) → write "running" → renew → write the end → release — each failing every
/// way it can (the service refuses it; it is done but its answer is lost; the identity fails; the caller hangs up;
/// the app is killed just before it), and in every cell the same promises checked against real processes:
/// <list type="number">
/// <item>Never twice: no two runs of the job alive at once (a kernel file lock per job, held by every process of a run).</item>
/// <item>Never silently skipped: an answer says "started" only for a run that started, and when nothing ran the slot
/// is still due (the next unforced call starts it, although the job's schedule is yearly).</item>
/// <item>Never stuck: once the fault is gone and no run is alive, a call starts the job within 60 s.</item>
/// <item>A local run never outlives its killed app by more than 15 s.</item>
/// </list>
/// The table is printed with the test's output and written to <c>$TMPDIR/cronfunctions-fault-matrix.md</c>.
/// </summary>
[Collection(FaultMatrixCollection.Name)]
public sealed class FaultMatrixTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private static readonly (string Name, StorageStep Step, int Skip, bool Background)[] Steps =
    [
        ("read", StorageStep.Read, 0, false),
        ("acquire", StorageStep.Acquire, 0, false),
        ("write starting", StorageStep.Write, 0, false),
        ("write running", StorageStep.Write, 1, true),
        ("renew", StorageStep.Renew, 0, true),
        ("write end", StorageStep.Write, 2, true),
        ("release", StorageStep.Release, 0, true),
    ];

    private static readonly StorageFault[] Faults = [StorageFault.Error, StorageFault.Timeout, StorageFault.Identity, StorageFault.Cancel, StorageFault.Kill];

    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Cron:Jobs:SopnParse:Schedule"] = "0 0 1 1 *", // yearly: after a run that really started, the job is not due
        ["Cron:RateLimit:PermitsPerMinute"] = "100000",
    };

    [Fact]
    public async Task EveryFaultAtEveryStep_KeepsThePromises()
    {
        var cells = Steps.SelectMany(step => Faults.Where(fault => fault != StorageFault.Cancel || !step.Background).Select(fault => (step, fault))).ToList();
        var results = new ConcurrentBag<Cell>();
        using var slots = new SemaphoreSlim(4);
        await Task.WhenAll(cells.Select(async cell =>
        {
            await slots.WaitAsync();
            try
            {
                results.Add(await RunCellAsync(cell.step, cell.fault));
            }
            finally
            {
                slots.Release();
            }
        }));

        var table = Table(results);
        output.WriteLine(table);
        await File.WriteAllTextAsync(Path.Combine(Path.GetTempPath(), "cronfunctions-fault-matrix.md"), table);
        Assert.True(results.All(r => r.Failure is null), table);
    }

    private async Task<Cell> RunCellAsync((string Name, StorageStep Step, int Skip, bool Background) step, StorageFault fault)
    {
        using var backend = new FakeBackend("sleep 5"); // long enough for a lease renewal (every 3.75 s)
        var container = TestApp.NewContainerName();
        var watch = Stopwatch.StartNew();
        try
        {
            var recovery = fault == StorageFault.Kill
                ? await KilledAsync(step, backend, container)
                : await InjectedAsync(step, fault, backend, container);
            var overlaps = backend.Overlaps();
            return overlaps.Count > 0
                ? new Cell(step.Name, fault, $"two runs alive at once: {string.Join(", ", overlaps)}", recovery)
                : new Cell(step.Name, fault, null, recovery);
        }
        catch (Exception ex)
        {
            return new Cell(step.Name, fault, $"{ex.GetType().Name}: {ex.Message}", watch.Elapsed);
        }
        finally
        {
            foreach (var pid in backend.LivePids())
            {
                ProcessTools.KillWithDescendants(pid);
            }
        }
    }

    /// <summary>A fault in an app instance of this process; returns how long after the fault the job could start again.</summary>
    private async Task<TimeSpan> InjectedAsync((string Name, StorageStep Step, int Skip, bool Background) step, StorageFault fault, FakeBackend backend, string container)
    {
        var faults = new StorageFaults();
        faults.Arm(step.Step, fault, step.Skip, times: step.Background ? 3 : 1);
        await using var app = new TestApp(azurite.ConnectionString, backend.Directory, container, Settings,
            services: s => s.AddKeyedSingleton<HttpPipelinePolicy>(CronFunctions.CronFunctionsRegistration.StoragePolicyKey, faults));

        EndpointResponse? answer = null;
        try
        {
            answer = await app.CallAsync(JobCatalog.SopnParse, "POST", cancellationToken: faults.Caller.Token);
        }
        catch (OperationCanceledException) when (fault == StorageFault.Cancel)
        {
            // The caller hung up: its answer is lost; what it left behind is what counts.
        }

        await faults.Fired.Task.WaitAsync(TimeSpan.FromSeconds(30)); // the fault really happened
        var faultAt = Stopwatch.StartNew();
        if (answer?.Str("status") == "started")
        {
            Check((await backend.WaitForCallsAsync(1)).Count == 1, "answered started, but no run started");
        }

        Check(answer is null || answer.Status is 200 or 503, $"answered {answer}");
        await app.WaitForRunsAsync();
        faults.Disarm();
        await AssertRecoversAsync(app, backend);
        return faultAt.Elapsed;
    }

    /// <summary>The app instance killed (SIGKILL) just before the step's request; another instance carries on.</summary>
    private async Task<TimeSpan> KilledAsync((string Name, StorageStep Step, int Skip, bool Background) step, FakeBackend backend, string container)
    {
        await using var dying = await SeparateApp.CallAsync(
            azurite.ConnectionString, backend.Directory, container, "sopn-parse", fault: $"{step.Step}:{step.Skip}:Kill", settings: Settings);
        if (dying.Str("status") == "started")
        {
            Check((await backend.WaitForCallsAsync(1)).Count == 1, "answered started, but no run started");
        }

        await dying.ExitedAsync(); // killed at the step
        var killedAt = Stopwatch.StartNew();
        await Eventually.TrueAsync(() => backend.LivePids().Count == 0, TimeSpan.FromSeconds(15), "the killed app's run dies within 15 s");

        await using var survivor = new TestApp(azurite.ConnectionString, backend.Directory, container, Settings);
        await AssertRecoversAsync(survivor, backend);
        return killedAt.Elapsed;
    }

    /// <summary>Never skipped, never stuck: a slot no run used is still due, and the job starts again within 60 s.</summary>
    private static async Task AssertRecoversAsync(TestApp app, FakeBackend backend)
    {
        var ran = backend.Calls().Count > 0;
        var query = ran ? "?force=true" : null; // nothing ran: the slot must still be due, unforced
        var (answer, _) = await Eventually.ValueAsync(
            () => app.CallAsync(JobCatalog.SopnParse, "POST", query),
            r => r.Str("status") == "started" || r.Str("reason") == "not_due",
            TimeSpan.FromSeconds(60),
            "the job can start again");
        Check(answer.Str("status") == "started", $"not started again: {answer}");
        await app.WaitForRunsAsync();
    }

    private static void Check(bool condition, string failure)
    {
        if (!condition)
        {
            throw new InvalidOperationException(failure);
        }
    }

    private static string Table(IEnumerable<Cell> results)
    {
        var byCell = results.ToDictionary(r => (r.Step, r.Fault));
        var text = new StringBuilder();
        text.AppendLine("| step ↓ / fault → | " + string.Join(" | ", Faults.Select(f => f.ToString().ToLowerInvariant())) + " |");
        text.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---|", Faults.Length)));
        foreach (var step in Steps)
        {
            text.Append("| ").Append(step.Name).Append(" |");
            foreach (var fault in Faults)
            {
                text.Append(' ').Append(byCell.TryGetValue((step.Name, fault), out var cell)
                    ? cell.Failure is null ? $"pass ({cell.Recovery.TotalSeconds:F0} s)" : "**FAIL**"
                    : "n/a").Append(" |");
            }

            text.AppendLine();
        }

        var all = byCell.Values.ToList();
        text.AppendLine();
        text.AppendLine($"{all.Count(c => c.Failure is null)} of {all.Count} cells pass; the figure in each is the time from the fault to the job starting again.");
        foreach (var failed in all.Where(c => c.Failure is not null))
        {
            text.AppendLine($"- {failed.Step} × {failed.Fault}: {failed.Failure}");
        }

        return text.ToString();
    }

    private sealed record Cell(string Step, StorageFault Fault, string? Failure, TimeSpan Recovery);
}
