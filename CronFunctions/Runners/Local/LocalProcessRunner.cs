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
/// drained line by line into the logs; the job leads its own process group (<c>setsid</c>), which is killed when the
/// job exits and at its maximum runtime; low-priority jobs run under <c>nice</c>/<c>ionice</c> where present. Reports
/// the end of each run through <see cref="RunRequest.OnEnded"/>, and answers liveness for processes on this host by
/// pid, start time and process group.
/// </summary>
internal sealed class LocalProcessRunner(
    IOptions<LocalRunnerOptions> options,
    TimeProvider timeProvider,
    ILogger<LocalProcessRunner> logger) : IJobRunner
{
    private static readonly string? SetSid = FindOnPath("setsid");
    private static readonly string? Nice = FindOnPath("nice");
    private static readonly string? IoNice = FindOnPath("ionice");

    /// <summary>How long output may keep flowing after the job's group was killed before the run is reported ended.</summary>
    private static readonly TimeSpan OutputDrainLimit = TimeSpan.FromSeconds(10);

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

        // Resolve the interpreter now: under setsid/nice a missing one would only fail after the start, as a run.
        var python = ResolveExecutable(settings.PythonExecutable, directory);
        if (python is null)
        {
            var missing = new FileNotFoundException("Python executable not found.", settings.PythonExecutable);
            Log.ProcessStartFailed(logger, missing, request.Job.Name, request.RunId, settings.PythonExecutable, directory);
            throw new RunnerException("The job's process could not be started: the Python executable was not found.", 500, missing);
        }

        var startInfo = BuildStartInfo(request, settings, python, directory);
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

        // Registered before the watch starts, so a run that ends at once is never left behind in the table.
        var watched = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _watchers[request.RunId] = watched.Task;
        _ = Task.Run(
            async () =>
            {
                try
                {
                    await WatchAsync(request, process, tail, started).ConfigureAwait(false);
                }
                finally
                {
                    _watchers.TryRemove(request.RunId, out _);
                    watched.TrySetResult();
                }
            },
            CancellationToken.None);
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
                return GroupGone(pid);
            }

            // A pid is reused once its process is gone: the start time tells our process from a newcomer.
            if (expectedStartTicks is { } expected && TryGetStartTicks(process) is { } actual
                && Math.Abs(actual - expected) > TimeSpan.TicksPerSecond)
            {
                return GroupGone(pid);
            }

            return new RunStatus(RunLiveness.Alive);
        }
        catch (ArgumentException)
        {
            return GroupGone(pid);
        }
        catch (InvalidOperationException)
        {
            return GroupGone(pid);
        }
    }

    /// <summary>The job's own process is gone: the run is over unless something it started still runs in its group.</summary>
    private static RunStatus GroupGone(int pid) =>
        GroupHasLiveMembers(pid) ? new RunStatus(RunLiveness.Alive) : new RunStatus(RunLiveness.Ended, "ProcessGone");

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

    /// <summary>
    /// The executable's full path: a name is looked up on PATH, a relative path is taken from the backend directory
    /// (e.g. <c>.venv/bin/python</c>). Null when there is no such file.
    /// </summary>
    private static string? ResolveExecutable(string executable, string backendDirectory)
    {
        if (executable.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal) || Path.IsPathRooted(executable))
        {
            var path = Path.GetFullPath(executable, backendDirectory);
            return File.Exists(path) ? path : null;
        }

        return FindOnPath(executable) ?? (OperatingSystem.IsWindows() ? executable : null);
    }

    private static ProcessStartInfo BuildStartInfo(RunRequest request, LocalRunnerOptions settings, string python, string directory)
    {
        var argv = new List<string>();

        // setsid makes the job lead its own process group (it execs, so the pid is still the job's): the group is
        // killed at the maximum runtime and when the job exits, and stays "alive" while any member lives, so a
        // child the job left behind can neither outlive its run unseen nor overlap the next one.
        if (SetSid is not null)
        {
            argv.Add(SetSid);
        }

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

        argv.Add(python);
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
            var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            process.Exited += (_, _) => exited.TrySetResult();
            if (process.HasExited)
            {
                exited.TrySetResult();
            }

            using var timeout = new CancellationTokenSource(request.MaxRuntime, timeProvider);
            try
            {
                await exited.Task.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Log.ProcessTimedOut(logger, request.Job.Name, request.RunId, pid, request.MaxRuntime);
                KillTree(process, pid);
                outcome = "TimedOut";
            }

            // The run ends with the job's own process: anything it left running in its group goes too.
            KillGroup(pid);

            // Drain what is left in the pipes, so every line is logged before the run is reported ended. Bounded:
            // a descendant that escaped the group (setsid of its own) must not keep the run open forever.
            using var drain = new CancellationTokenSource(OutputDrainLimit, timeProvider);
            try
            {
                await process.WaitForExitAsync(drain.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Log.OutputNotDrained(logger, request.Job.Name, request.RunId, pid, OutputDrainLimit);
            }

            exitCode = process.ExitCode;
            if (outcome != "TimedOut")
            {
                outcome = exitCode == 0 ? "Succeeded" : "Failed";
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
        }
    }

    private static void KillTree(Process process, int pid)
    {
        KillGroup(pid);
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // already exited
        }
    }

    /// <summary>SIGKILL to the job's process group (it leads one when started under setsid).</summary>
    private static void KillGroup(int pgid)
    {
        if (SetSid is not null && !OperatingSystem.IsWindows())
        {
            _ = NativeMethods.Kill(-pgid, NativeMethods.SigKill); // ESRCH (no such group) is fine: nothing left
        }
    }

    /// <summary>Whether any process of group <paramref name="pgid"/> is still running (zombies excluded).</summary>
    private static bool GroupHasLiveMembers(int pgid)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(directory.AsSpan());
            if (name.IsEmpty || !char.IsAsciiDigit(name[0]))
            {
                continue;
            }

            try
            {
                // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ', 4);
                if (fields.Length >= 3 && fields[2] == pgid.ToString(CultureInfo.InvariantCulture) && fields[0] is not ("Z" or "X"))
                {
                    return true;
                }
            }
            catch (IOException)
            {
                // the process ended while we looked
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return false;
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
