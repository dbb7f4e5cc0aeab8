using System.Diagnostics;
using CronFunctions.Runners.Local;
using CronFunctions.Tests.Infrastructure;

namespace CronFunctions.Tests.Runners;

/// <summary>
/// The lifeline between a local job and its app, as real processes: the job and everything it started die when the
/// app is gone (its pipe closes), when the app's lease time runs out (the deadline is not extended), or when asked;
/// never before; and the job's output comes through with every line bounded.
/// </summary>
public sealed class LifelineTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lifeline-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task AppGone_PipeClosed_TheJobAndItsChildrenAreStopped()
    {
        using var lifeline = Start(Deadline(TimeSpan.FromMinutes(5)), "sleep 60 & echo child $!; sleep 60");
        var pid = await StartedAsync(lifeline);
        var child = int.Parse((await NextLineAsync(lifeline)).Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);

        lifeline.StandardInput.Close(); // the app died: its end of the pipe is gone
        var watch = Stopwatch.StartNew();
        await Eventually.TrueAsync(() => !ProcessTools.IsAlive(pid) && !ProcessTools.IsAlive(child), TimeSpan.FromSeconds(15), "the job's group is stopped");

        Assert.InRange(watch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5)); // SIGTERM at once; SIGKILL only after the grace
        await lifeline.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task DeadlineNotExtended_TheJobIsKilledThen_NotBefore()
    {
        var deadline = Deadline(TimeSpan.FromSeconds(2));
        using var lifeline = Start(deadline, "trap '' TERM; sleep 60");
        var pid = await StartedAsync(lifeline);

        Assert.True(ProcessTools.IsAlive(pid));
        await Eventually.TrueAsync(() => !ProcessTools.IsAlive(pid), TimeSpan.FromSeconds(10), "the job is killed at its deadline");
        var late = Stopwatch.GetElapsedTime(deadline);

        Assert.InRange(late, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        var exited = await ExitLineAsync(lifeline);
        Assert.Contains("reason=deadline", exited, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeadlineExtended_TheJobLivesOn()
    {
        using var lifeline = Start(Deadline(TimeSpan.FromSeconds(1)), "sleep 3; echo done");
        var pid = await StartedAsync(lifeline);

        for (var i = 0; i < 8; i++)
        {
            await lifeline.StandardInput.WriteLineAsync(Lifeline.ExtendCommand(Deadline(TimeSpan.FromSeconds(1))));
            await lifeline.StandardInput.FlushAsync();
            await Task.Delay(500);
            if (!ProcessTools.IsAlive(pid))
            {
                break;
            }
        }

        var exited = await ExitLineAsync(lifeline);
        Assert.Contains("code=0 reason=exited", exited, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stop_SendsSigtermFirst_ThenSigkillAfterTheGrace()
    {
        using var polite = Start(Deadline(TimeSpan.FromMinutes(5)), "trap 'echo got TERM; exit 7' TERM; while :; do sleep 0.1; done");
        await StartedAsync(polite);
        await polite.StandardInput.WriteLineAsync(Lifeline.StopCommand(TimeSpan.FromSeconds(10)));
        await polite.StandardInput.FlushAsync();
        Assert.Equal("got TERM", await NextLineAsync(polite));
        Assert.Contains("code=7 reason=stopped", await ExitLineAsync(polite), StringComparison.Ordinal);

        using var stubborn = Start(Deadline(TimeSpan.FromMinutes(5)), "trap '' TERM; sleep 60");
        var pid = await StartedAsync(stubborn);
        var watch = Stopwatch.StartNew();
        await stubborn.StandardInput.WriteLineAsync(Lifeline.StopCommand(TimeSpan.FromSeconds(1)));
        await stubborn.StandardInput.FlushAsync();
        await Eventually.TrueAsync(() => !ProcessTools.IsAlive(pid), TimeSpan.FromSeconds(10), "killed after the grace");
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task TheLifeline_LeavesTheAppsProcessGroup_SoAKillOfTheAppsGroupSparesIt()
    {
        using var lifeline = Start(Deadline(TimeSpan.FromMinutes(5)), "sleep 60");
        var pid = await StartedAsync(lifeline);

        Assert.NotEqual(ProcessGroupOf(Environment.ProcessId), ProcessGroupOf(lifeline.Id));
        Assert.Equal(pid, ProcessGroupOf(pid)); // the job leads a group of its own, killed whole
        lifeline.StandardInput.Close();
        await lifeline.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task A100MegabyteLine_IsCutAtTheBound_AndNeitherProcessGrowsWithIt()
    {
        using var lifeline = Start(Deadline(TimeSpan.FromMinutes(5)), "head -c 100000000 /dev/zero | tr '\\0' x; echo; echo after", maxLine: 8192);
        await StartedAsync(lifeline);

        var before = GC.GetTotalMemory(forceFullCollection: true);
        long peak = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, PeakMemoryOf(lifeline.Id));
                await Task.Delay(20);
            }
        });
        var reader = new BoundedLineReader(lifeline.StandardOutput.BaseStream, 8192 + 128);
        var received = new List<string>();
        await reader.ReadAllAsync(received.Add);
        await sampling.CancelAsync();
        await sampler;
        var grown = GC.GetTotalMemory(forceFullCollection: true) - before;
        await lifeline.WaitForExitAsync();

        var cut = received[0];
        Assert.StartsWith(new string('x', 8192), cut, StringComparison.Ordinal);
        Assert.EndsWith($"… [line cut: {100_000_000 - 8192} more bytes]", cut, StringComparison.Ordinal);
        Assert.Equal("after", received[1]);
        Assert.InRange(grown, long.MinValue, 16L * 1024 * 1024);
        Assert.InRange(peak, 1, 150L * 1024 * 1024); // the lifeline's own peak resident memory (sampled while it ran): no 100 MB buffer
    }

    [Fact]
    public async Task AProgramThatCannotStart_IsReportedAsFailed()
    {
        var startInfo = LifelineStartInfo(Deadline(TimeSpan.FromMinutes(1)), 8192, ["/nonexistent/python3", "manage.py"]);
        using var lifeline = Process.Start(startInfo)!;

        var line = await lifeline.StandardOutput.ReadLineAsync();
        await lifeline.WaitForExitAsync();

        Assert.StartsWith(Lifeline.Marker + Lifeline.Failed, line, StringComparison.Ordinal);
        Assert.Equal(127, lifeline.ExitCode);
    }

    private Process Start(long deadline, string script, int maxLine = 8192) =>
        Process.Start(LifelineStartInfo(deadline, maxLine, ["/usr/bin/setsid", "/bin/sh", "-c", script]))!;

    private ProcessStartInfo LifelineStartInfo(long deadline, int maxLine, string[] argv)
    {
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };
        startInfo.ArgumentList.Add(typeof(Lifeline).Assembly.Location);
        foreach (var arg in Lifeline.Arguments(deadline, TimeSpan.FromSeconds(10), maxLine, newSession: true, argv))
        {
            startInfo.ArgumentList.Add(arg);
        }

        return startInfo;
    }

    private static long Deadline(TimeSpan fromNow) => Stopwatch.GetTimestamp() + (long)(fromNow.TotalSeconds * Stopwatch.Frequency);

    private static async Task<int> StartedAsync(Process lifeline)
    {
        var first = await lifeline.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.NotNull(first);
        Assert.StartsWith(Lifeline.Marker + Lifeline.Started, first, StringComparison.Ordinal);
        return int.Parse(first[(1 + Lifeline.Started.Length)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<string> NextLineAsync(Process lifeline) =>
        await lifeline.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)) ?? throw new InvalidOperationException("The lifeline closed its output.");

    private static async Task<string> ExitLineAsync(Process lifeline)
    {
        string? line;
        while ((line = await lifeline.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30))) is not null)
        {
            if (line.StartsWith(Lifeline.Marker + Lifeline.Exited, StringComparison.Ordinal))
            {
                return line;
            }
        }

        throw new InvalidOperationException("The lifeline ended without saying how.");
    }

    private static int ProcessGroupOf(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static long PeakMemoryOf(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException)
        {
            return 0; // gone
        }
    }
}
