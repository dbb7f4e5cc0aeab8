using System.Diagnostics;
using CronFunctions.Runners.Local;
using Microsoft.Extensions.Logging.Abstractions;

namespace CronFunctions.Tests.Runners;

/// <summary>
/// The start handshake between the runner and a lifeline, with a real process standing in for the lifeline: it says
/// the job started and ends at once, as a lifeline whose job exits immediately does.
/// </summary>
public sealed class LocalRunStartTests
{
    private const int JobPid = 424242;

    // Found under load in the full suite: the run's end was seen before the (asynchronously signalled) start, and a
    // job that had started was answered as "could not be started" (500) while it ran.
    [Fact]
    public async Task AJobThatEndsAtOnce_IsStillReportedStarted_EveryTime()
    {
        var failures = 0;
        var pids = new List<int>();
        for (var round = 0; round < 10; round++)
        {
            var starts = Enumerable.Range(0, 20).Select(async _ =>
            {
                try
                {
                    var run = await LocalRun.StartAsync(EndsAtOnce(), "sopn-parse", "run-1", 10, 8192, TimeSpan.FromSeconds(30), NullLogger.Instance);
                    await run.Completion.WaitAsync(TimeSpan.FromSeconds(30));
                    return run.Pid;
                }
                catch (InvalidOperationException)
                {
                    Interlocked.Increment(ref failures);
                    return null;
                }
            }).ToArray();
            pids.AddRange((await Task.WhenAll(starts)).OfType<int>());
        }

        Assert.Equal(0, failures);
        Assert.Equal(200, pids.Count);
        Assert.All(pids, pid => Assert.Equal(JobPid, pid));
    }

    [Fact]
    public async Task ALifelineThatEndsWithoutStartingTheJob_IsAFailedStart_WithItsReason()
    {
        var lifeline = FakeLifeline($"printf '{Lifeline.Marker}{Lifeline.Failed}no such file\\n'");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => LocalRun.StartAsync(lifeline, "sopn-parse", "run-1", 10, 8192, TimeSpan.FromSeconds(30), NullLogger.Instance));

        Assert.Equal("The job's process could not be started: no such file", error.Message);
    }

    private static Process EndsAtOnce() => FakeLifeline(
        $"printf '{Lifeline.Marker}{Lifeline.Started}{JobPid}\\n{Lifeline.Marker}{Lifeline.Exited}code=0 reason=exited\\n'");

    private static Process FakeLifeline(string script)
    {
        var startInfo = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add(script);
        return new Process { StartInfo = startInfo };
    }
}
