using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using CronFunctions.Diagnostics;
using CronFunctions.Jobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CronFunctions.Runners.Local;

/// <summary>
/// Runs <c>python manage.py &lt;args&gt;</c> as a child process of the app: argv list, no shell; stdout and stderr
/// drained line by line into the logs; killed with its whole tree at the job's maximum runtime; low-priority jobs
/// run under <c>nice</c>/<c>ionice</c> where present. Reports the end of each run through
/// <see cref="RunRequest.OnEnded"/>, and answers liveness for processes on this host by pid and start time.
/// </summary>
internal sealed class LocalProcessRunner(
    IOptions<LocalRunnerOptions> options,
    TimeProvider timeProvider,
    ILogger<LocalProcessRunner> logger) : IJobRunner
{
    private static readonly string? Nice = FindOnPath("nice");
    private static readonly string? IoNice = FindOnPath("ionice");

    private readonly ConcurrentDictionary<string, Task> _watchers = new(StringComparer.Ordinal);

    public string Kind => RunnerKinds.Local;

    /// <summary>This host's name, as stored in run handles to tell our processes from other hosts'.</summary>
    public static string HostName { get; } = Environment.MachineName;

    /// <summary>Watchers of runs still going in this app instance (for tests and graceful waits).</summary>
    internal IReadOnlyCollection<Task> ActiveWatchers => [.. _watchers.Values];

    public Task<RunHandle> StartAsync(RunRequest request, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var directory = Path.GetFullPath(settings.BackendDirectory);
        if (!Directory.Exists(directory))
        {
            var missing = new DirectoryNotFoundException(directory);
            Log.ProcessStartFailed(logger, missing, request.Job.Name, request.RunId, settings.PythonExecutable, directory);
            throw new RunnerException("The job could not be started: the backend directory does not exist.", 500, missing);
        }

        var startInfo = BuildStartInfo(request, settings, directory);
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var tail = new OutputTail(settings.TailLines);
        process.OutputDataReceived += (_, e) => OnLine(request, tail, "stdout", e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(request, tail, "stderr", e.Data);

        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is Win32Exception or InvalidOperationException or PlatformNotSupportedException)
        {
            process.Dispose();
            Log.ProcessStartFailed(logger, ex, request.Job.Name, request.RunId, startInfo.FileName, directory);
            throw new RunnerException("The job's process could not be started.", 500, ex);
        }

        var started = timeProvider.GetTimestamp();
        // The job never reads our stdin: close it so a prompt can't hang the job.
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var pid = process.Id;
        Log.ProcessStarted(logger, request.Job.Name, request.RunId, pid, startInfo.FileName, string.Join(' ', startInfo.ArgumentList));
        var handle = new RunHandle(
            Kind,
            pid.ToString(CultureInfo.InvariantCulture),
            Host: HostName,
            Pid: pid,
            ProcessStartTicks: TryGetStartTicks(process));

        _watchers[request.RunId] = Task.Run(() => WatchAsync(request, process, tail, started), CancellationToken.None);
        return Task.FromResult(handle);
    }

    public Task<RunStatus> GetStatusAsync(RunHandle handle, CancellationToken cancellationToken)
    {
        if (handle.Pid is not { } pid || !string.Equals(handle.Host, HostName, StringComparison.Ordinal))
        {
            // A process on another host (or no pid at all): we cannot tell.
            return Task.FromResult(new RunStatus(RunLiveness.Unknown));
        }

        return Task.FromResult(ProbeProcess(pid, handle.ProcessStartTicks));
    }

    private static RunStatus ProbeProcess(int pid, long? expectedStartTicks)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            if (process.HasExited || IsZombie(pid))
            {
                return new RunStatus(RunLiveness.Ended, "ProcessGone");
            }

            // A pid is reused once its process is gone: the start time tells our process from a newcomer.
            if (expectedStartTicks is { } expected && TryGetStartTicks(process) is { } actual
                && Math.Abs(actual - expected) > TimeSpan.TicksPerSecond)
            {
                return new RunStatus(RunLiveness.Ended, "ProcessGone");
            }

            return new RunStatus(RunLiveness.Alive);
        }
        catch (ArgumentException)
        {
            return new RunStatus(RunLiveness.Ended, "ProcessGone");
        }
        catch (InvalidOperationException)
        {
            return new RunStatus(RunLiveness.Ended, "ProcessGone");
        }
    }

    private static bool IsZombie(int pid)
    {
        // /proc/<pid>/stat: "pid (comm) S ..." — an exited child nobody reaped yet is 'Z' (or 'X').
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat.AsSpan(stat.LastIndexOf(')') + 1).TrimStart();
            return !state.IsEmpty && state[0] is 'Z' or 'X';
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long? TryGetStartTicks(Process process)
    {
        try
        {
            return process.StartTime.ToUniversalTime().Ticks;
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            return null;
        }
    }

    private static ProcessStartInfo BuildStartInfo(RunRequest request, LocalRunnerOptions settings, string directory)
    {
        var argv = new List<string>();
        if (request.Job.LowPriority)
        {
            // nice and ionice exec the next program, so the pid we get is still the job's own.
            if (Nice is not null)
            {
                argv.AddRange([Nice, "-n", "10"]);
            }

            if (IoNice is not null)
            {
                argv.AddRange([IoNice, "-c", "3", "-t"]); // -t: run anyway where the idle class is not permitted
            }
        }

        argv.Add(settings.PythonExecutable);
        argv.Add(settings.ManageScript);
        argv.AddRange(request.Arguments);

        var startInfo = new ProcessStartInfo(argv[0])
        {
            WorkingDirectory = directory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        foreach (var arg in argv.Skip(1))
        {
            startInfo.ArgumentList.Add(arg);
        }

        startInfo.Environment["CRON_RUN_ID"] = request.RunId;
        startInfo.Environment["CRON_JOB"] = request.Job.Name;
        startInfo.Environment["PYTHONUNBUFFERED"] = "1";
        // The app's own secrets are no business of the job's.
        startInfo.Environment.Remove(Security.TokenOptions.TokenSetting);
        startInfo.Environment.Remove(Security.TokenOptions.SecondaryTokenSetting);
        return startInfo;
    }

    private void OnLine(RunRequest request, OutputTail tail, string stream, string? line)
    {
        if (line is null)
        {
            return;
        }

        tail.Add(line);
        Log.ProcessOutput(logger, request.Job.Name, request.RunId, stream, line);
    }

    private async Task WatchAsync(RunRequest request, Process process, OutputTail tail, long started)
    {
        var pid = process.Id;
        var outcome = "Failed";
        int? exitCode = null;
        try
        {
            using var timeout = new CancellationTokenSource(request.MaxRuntime, timeProvider);
            try
            {
                // Also waits for stdout/stderr to reach EOF, so every line is logged before the run is reported ended.
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
                exitCode = process.ExitCode;
                outcome = exitCode == 0 ? "Succeeded" : "Failed";
            }
            catch (OperationCanceledException)
            {
                Log.ProcessTimedOut(logger, request.Job.Name, request.RunId, pid, request.MaxRuntime);
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                exitCode = process.ExitCode;
                outcome = "TimedOut";
            }

            var duration = timeProvider.GetElapsedTime(started);
            Log.ProcessExited(logger, request.Job.Name, request.RunId, pid, exitCode.Value, duration.TotalSeconds);
            await request.OnEnded(new RunOutcome(outcome, exitCode, duration, tail.Snapshot())).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Nothing awaits this task: log, never swallow silently. The lock is taken over once the run is seen dead.
            Log.ProcessWatchFailed(logger, ex, request.Job.Name, request.RunId, pid);
        }
        finally
        {
            process.Dispose();
            _watchers.TryRemove(request.RunId, out _);
        }
    }

    private static string? FindOnPath(string name)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            return null;
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin";
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
    }
}
