using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using CronFunctions.Jobs;
using CronFunctions.Runners.Local;

namespace CronFunctions.Tests.Samples;

/// <summary>
/// <c>samples/demo-backend/manage.py</c>, run as the local runner runs a backend: <c>python3 manage.py &lt;args&gt;</c>
/// in its folder, a real process. It must take the six jobs' command lines, refuse wrong ones as Django does, fail on
/// demand and stop on SIGTERM. Needs python3 (CI installs it): without it these tests fail, they never skip.
/// </summary>
public sealed class DemoBackendTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static readonly string BackendDirectory = Path.Combine(Repository.Root, "samples", "demo-backend");

    private static readonly Lazy<string> Python = new(FindPython);

    [Theory]
    [InlineData("ee-recent", "uk_create_elections_from_every_election --recently-updated")]
    [InlineData("parties-import", "parties_import_from_ec --post-to-slack")]
    [InlineData("check-current", "uk_create_elections_from_every_election --check-current")]
    [InlineData("mop-recent", "uk_create_elections_from_every_election --recently-updated --recently-updated-delta 25")]
    [InlineData("mop-recent", "uk_create_elections_from_every_election --recently-updated --recently-updated-delta 8760")]
    [InlineData("moderation-images", "moderation_queue_process_queued_images")]
    [InlineData("sopn-parse", "sopn_parsing_process_unparsed")]
    public async Task EachJobsCommandLine_IsAccepted_PrintsProgress_AndExitsZero(string job, string commandLine)
    {
        var run = await RunAsync(commandLine.Split(' '), new() { ["CRON_JOB"] = job, ["CRON_RUN_ID"] = "20261125T143512Z-3f9a1c2b" });

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("", run.Stderr);
        var command = commandLine.Split(' ')[0];
        Assert.StartsWith($"Starting {commandLine} (demo backend, pid ", run.StdoutLines[0], StringComparison.Ordinal);
        Assert.Contains($"job {job}, run 20261125T143512Z-3f9a1c2b)", run.StdoutLines[0], StringComparison.Ordinal);
        Assert.True(run.StdoutLines.Count(l => l.StartsWith(command + ": step ", StringComparison.Ordinal)) >= 3, run.ToString());
        Assert.StartsWith(command + ": done in ", run.StdoutLines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryJobOfTheAppsCatalog_AsTheAppBuildsItsArguments_IsAccepted()
    {
        foreach (var job in JobCatalog.All)
        {
            var lines = new List<string[]>();
            if (job.Parameter is { } parameter)
            {
                foreach (var value in new[] { parameter.DefaultValue, parameter.Minimum, parameter.Maximum })
                {
                    lines.Add([.. job.Arguments, parameter.Option, value.ToString(CultureInfo.InvariantCulture)]);
                }
            }
            else
            {
                lines.Add([.. job.Arguments]);
            }

            foreach (var arguments in lines)
            {
                var run = await RunAsync(arguments, new() { ["CRON_JOB"] = job.Name });
                Assert.True(run.ExitCode == 0, $"{job.Name}: {run}");
            }
        }
    }

    [Theory]
    [InlineData("nonexistent_command", 1, "Unknown command: 'nonexistent_command'")]
    [InlineData("sopn_parsing_process_unparse", 1, "Unknown command: 'sopn_parsing_process_unparse'. Did you mean sopn_parsing_process_unparsed?")]
    [InlineData("sopn_parsing_process_unparsed --nope", 2, "manage.py sopn_parsing_process_unparsed: error: unrecognized arguments: --nope")]
    [InlineData("parties_import_from_ec --post-to-slack extra", 2, "error: unrecognized arguments: extra")]
    [InlineData("uk_create_elections_from_every_election --recently-updated --recently-updated-delta abc", 2, "error: argument --recently-updated-delta: invalid int value: 'abc'")]
    [InlineData("uk_create_elections_from_every_election --recently-updated --recently-updated-delta", 2, "error: argument --recently-updated-delta: expected one argument")]
    [InlineData("uk_create_elections_from_every_election --recently-updated-delta 25", 1, "CommandError: --recently-updated-delta only works with --recently-updated")]
    public async Task WrongCommandLine_IsRejectedAsDjangoDoes_BeforeAnyWork(string commandLine, int exitCode, string error)
    {
        var run = await RunAsync(commandLine.Split(' '));

        Assert.True(run.ExitCode == exitCode, run.ToString());
        Assert.Contains(error, run.Stderr, StringComparison.Ordinal);
        Assert.Equal("", run.Stdout);
    }

    [Fact]
    public async Task FailSwitchSetToOne_FailsTheRunAfterItsFirstStep_WithACommandErrorAndExitCode1()
    {
        var run = await RunAsync(["sopn_parsing_process_unparsed"], new() { ["DEMO_BACKEND_FAIL"] = "1" });

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("CommandError: sopn_parsing_process_unparsed failed on purpose (DEMO_BACKEND_FAIL=1)", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("sopn_parsing_process_unparsed: step 1/3: checking Textract jobs", run.StdoutLines);
        Assert.DoesNotContain(run.StdoutLines, l => l.Contains("done", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("sopn-parse", "sopn-parse", "sopn_parsing_process_unparsed", 1)]
    [InlineData("sopn-parse", "ee-recent", "uk_create_elections_from_every_election --recently-updated", 0)]
    [InlineData("parties_import_from_ec,check-current", "parties-import", "parties_import_from_ec --post-to-slack", 1)]
    [InlineData("parties_import_from_ec,check-current", "check-current", "uk_create_elections_from_every_election --check-current", 1)]
    [InlineData("parties_import_from_ec,check-current", "mop-recent", "uk_create_elections_from_every_election --recently-updated --recently-updated-delta 25", 0)]
    [InlineData("0", "sopn-parse", "sopn_parsing_process_unparsed", 0)]
    public async Task FailSwitchNamingJobsOrCommands_FailsOnlyThose(string fail, string job, string commandLine, int exitCode)
    {
        var run = await RunAsync(commandLine.Split(' '), new() { ["DEMO_BACKEND_FAIL"] = fail, ["CRON_JOB"] = job });

        Assert.True(run.ExitCode == exitCode, run.ToString());
        Assert.Equal(exitCode != 0, run.Stderr.Contains("CommandError:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SecondsSetting_SetsHowLongARunTakes()
    {
        var clock = Stopwatch.StartNew();
        var run = await RunAsync(["sopn_parsing_process_unparsed"], new() { ["DEMO_BACKEND_SECONDS"] = "1.5" });

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task SecondsSettingThatIsNotANumber_IsACommandError()
    {
        var run = await RunAsync(["sopn_parsing_process_unparsed"], new() { ["DEMO_BACKEND_SECONDS"] = "soon" });

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("CommandError: DEMO_BACKEND_SECONDS must be a number of seconds, 0 or more; got 'soon'", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_DuringARun_StopsItAtOnce_WithALineAndExitCode143()
    {
        using var process = Start(["uk_create_elections_from_every_election", "--recently-updated"], new() { ["DEMO_BACKEND_SECONDS"] = "60" });
        var stdout = new ConcurrentQueue<string>();
        var firstLine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                stdout.Enqueue(e.Data);
                firstLine.TrySetResult();
            }
        };
        process.BeginOutputReadLine();
        var stderr = process.StandardError.ReadToEndAsync();
        await firstLine.Task.WaitAsync(Timeout); // the run has started: its handler is in place

        var clock = Stopwatch.StartNew();
        Assert.Equal(0, NativeMethods.Kill(process.Id, NativeMethods.SigTerm));
        await process.WaitForExitAsync().WaitAsync(Timeout);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"stopped after {clock.Elapsed} (the run lasts 60 s)");
        Assert.Equal(143, process.ExitCode);
        Assert.Contains("uk_create_elections_from_every_election: received SIGTERM, stopping before the work is done", await stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(stdout, l => l.Contains("done in", StringComparison.Ordinal));
    }

    private sealed record DemoRun(int ExitCode, string Stdout, string Stderr)
    {
        public string[] StdoutLines { get; } = Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
    }

    private static async Task<DemoRun> RunAsync(string[] arguments, Dictionary<string, string>? environment = null)
    {
        using var process = Start(arguments, environment);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(Timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new DemoRun(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts <c>python3 manage.py ARGS</c> in the demo backend's folder, 0.2 s per run unless told otherwise.</summary>
    private static Process Start(string[] arguments, Dictionary<string, string>? environment)
    {
        var startInfo = new ProcessStartInfo(Python.Value)
        {
            WorkingDirectory = BackendDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        startInfo.ArgumentList.Add("manage.py");
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        // Only what the test says: nothing inherited from the machine running the tests.
        foreach (var name in new[] { "DEMO_BACKEND_SECONDS", "DEMO_BACKEND_FAIL", "CRON_JOB", "CRON_RUN_ID" })
        {
            startInfo.Environment.Remove(name);
        }

        startInfo.Environment["DEMO_BACKEND_SECONDS"] = "0.2";
        foreach (var (name, value) in environment ?? [])
        {
            startInfo.Environment[name] = value;
        }

        return Process.Start(startInfo)!;
    }

    private static string FindPython()
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "python3"))
            .FirstOrDefault(File.Exists);
        return found ?? throw new InvalidOperationException(
            "python3 is not on PATH, and the demo backend (samples/demo-backend/manage.py) needs it: install it " +
            "(e.g. `apt-get install python3`; .ci/run does this on CI). These tests fail rather than skip without it.");
    }
}
