using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using CronFunctions.Diagnostics;
using CronFunctions.Jobs;
using CronFunctions.Runs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CronFunctions.Runners.Local;

/// <summary>
/// Runs <c>python manage.py &lt;args&gt;</c> next to the app: argv list, no shell, under a <see cref="Lifeline"/> that
/// ties the job to this app instance (it dies with the app, when the app's lease time runs out, or when asked), in a
/// process group of its own (<c>setsid</c>) that is killed whole; low-priority jobs under <c>nice</c>/<c>ionice</c>;
/// an allow-listed environment (<see cref="JobEnvironment"/>); output lines bounded and drained into the logs.
/// </summary>
internal sealed class LocalProcessRunner(
    IOptions<LocalRunnerOptions> options,
    ILogger<LocalProcessRunner> logger) : IJobRunner
{
    private static readonly string? SetSid = FindOnPath("setsid");
    private static readonly string? Nice = FindOnPath("nice");
    private static readonly string? IoNice = FindOnPath("ionice");

    /// <summary>How long the lifeline may take to start the job and say so.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    public string Kind => RunnerKinds.Local;

    public bool IsRemote => false;

    /// <summary>Not polled: the lifeline reports the end of a local run.</summary>
    public TimeSpan PollInterval => Timeout.InfiniteTimeSpan;

    /// <summary>This host's name, as stored in run handles to tell our processes from other hosts'.</summary>
    public static string HostName { get; } = Environment.MachineName;

    public async Task<RunStart> StartAsync(RunRequest request, CancellationToken cancellationToken)
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

        var argv = JobArgv(request, settings, python);
        var lifeline = new Process { StartInfo = LifelineStartInfo(request, settings, directory, argv) };
        LocalRun run;
        try
        {
            run = await LocalRun.StartAsync(lifeline, request.Job.Name, request.RunId, settings.TailLines, settings.MaxLineBytes, StartTimeout, logger)
                .ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is Win32Exception or InvalidOperationException or PlatformNotSupportedException)
        {
            lifeline.Dispose();
            Log.ProcessStartFailed(logger, ex, request.Job.Name, request.RunId, python, directory);
            throw new RunnerException("The job's process could not be started.", 500, ex);
        }

        var pid = run.Pid!.Value;
        Log.ProcessStarted(logger, request.Job.Name, request.RunId, pid, python, string.Join(' ', argv.SkipWhile(a => a != python).Skip(1)));
        var handle = new RunHandle(
            Kind,
            pid.ToString(CultureInfo.InvariantCulture),
            Host: HostName,
            Pid: pid,
            ProcessStartTicks: TryGetStartTicks(pid));
        return new RunStart.Started(handle, run);
    }

    /// <summary>Local runs are never probed from another instance: they die with their owner (see <see cref="Lifeline"/>).</summary>
    public Task<RunProbe> ProbeAsync(
        JobDefinition job, string runId, RunHandle? handle, DateTimeOffset attemptedAt, DateTimeOffset now, CancellationToken cancellationToken) =>
        Task.FromResult<RunProbe>(new RunProbe.Unknown("a local run is only known to its owner"));

    public Task<bool> StopAsync(RunHandle handle, CancellationToken cancellationToken) => Task.FromResult(false);

    /// <summary>
    /// Whether a process of the run behind <paramref name="handle"/> is alive on this host (its pid, with the same
    /// start time, or any member of its process group); null when the run is not on this host.
    /// </summary>
    public static bool? IsAliveHere(RunHandle? handle)
    {
        if (handle?.Pid is not { } pid || !string.Equals(handle.Host, HostName, StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            var sameProcess = !process.HasExited && !IsZombie(pid)
                && (handle.ProcessStartTicks is not { } expected || TryGetStartTicks(process) is not { } actual
                    || Math.Abs(actual - expected) <= TimeSpan.TicksPerSecond);
            return sameProcess || GroupHasLiveMembers(pid);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return GroupHasLiveMembers(pid);
        }
    }

    private static List<string> JobArgv(RunRequest request, LocalRunnerOptions settings, string python)
    {
        var argv = new List<string>();

        // setsid makes the job lead its own process group (it execs, so the pid is still the job's): the lifeline kills
        // the group, so a child the job left behind can neither outlive its run nor overlap the next one.
        if (SetSid is not null)
        {
            argv.Add(SetSid);
        }

        if (request.Job.LowPriority)
        {
            // nice and ionice exec the next program, so the pid is still the job's own.
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
        return argv;
    }

    private static ProcessStartInfo LifelineStartInfo(RunRequest request, LocalRunnerOptions settings, string directory, List<string> argv)
    {
        var startInfo = new ProcessStartInfo(DotnetHost)
        {
            WorkingDirectory = directory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        startInfo.ArgumentList.Add(typeof(Lifeline).Assembly.Location);
        foreach (var arg in Lifeline.Arguments(request.LifelineDeadline, settings.StopGrace, settings.MaxLineBytes, SetSid is not null, argv))
        {
            startInfo.ArgumentList.Add(arg);
        }

        // Only what the job needs: the lifeline passes its environment on to the job unchanged.
        startInfo.Environment.Clear();
        foreach (var (name, value) in JobEnvironment.Build(Environment.GetEnvironmentVariables(), settings, request.RunId, request.Job.Name))
        {
            startInfo.Environment[name] = value;
        }

        startInfo.Environment["DOTNET_gcServer"] = "0"; // the lifeline is tiny: workstation GC keeps it so
        return startInfo;
    }

    /// <summary>The <c>dotnet</c> host that runs this app (and so its lifeline).</summary>
    private static string DotnetHost { get; } =
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path
        : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath ? hostPath
        : Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root && File.Exists(Path.Combine(root, "dotnet")) ? Path.Combine(root, "dotnet")
        : FindOnPath("dotnet") ?? "dotnet";

    private static bool IsZombie(int pid)
    {
        // /proc/<pid>/stat: "pid (comm) S ..." — an exited child nobody reaped yet is 'Z' (or 'X').
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat.AsSpan(stat.LastIndexOf(')') + 1).TrimStart();
            return !state.IsEmpty && state[0] is 'Z' or 'X';
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long? TryGetStartTicks(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return TryGetStartTicks(process);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return null;
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

    /// <summary>Whether any process of group <paramref name="pgid"/> is still running (zombies excluded).</summary>
    private static bool GroupHasLiveMembers(int pgid)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        var group = pgid.ToString(CultureInfo.InvariantCulture);
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
                if (fields.Length >= 3 && fields[2] == group && fields[0] is not ("Z" or "X"))
                {
                    return true;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // the process ended while we looked
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
