using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace CronFunctions.Runners.Local;

/// <summary>
/// The lifeline between a local job and the app instance that owns it: a small watchdog process (this same assembly,
/// run as <c>dotnet CronFunctions.dll --cron-lifeline …</c>) that starts the job in a process group of its own and
/// stops that whole group when
/// <list type="bullet">
/// <item>its owner is gone: the pipe from the app (its stdin) reaches end of file — the app was killed or crashed
/// (SIGTERM to the group, then SIGKILL after a grace);</item>
/// <item>its owner's lease time is over: the app extends a deadline (on the shared monotonic clock) after every lease
/// renewal, a little short of the lease's own expiry; if the app hangs, is cut off from storage or loses the lock,
/// the deadline passes and the group is killed before anyone else can take the lock;</item>
/// <item>its owner asks (<c>stop</c>: shutdown, maximum runtime).</item>
/// </list>
/// It leads a session of its own, so a kill aimed at the app's process group spares it and it can still clean up. It
/// proxies the job's output with every line cut at a bound, announces the job's pid first and how the job ended last
/// (control lines starting with U+001E), and exits with the job's exit code.
/// </summary>
internal static class Lifeline
{
    public const string Flag = "--cron-lifeline";
    public const char Marker = '\u001e';
    public const string Started = "cron-lifeline started pid=";
    public const string Failed = "cron-lifeline failed ";
    public const string Exited = "cron-lifeline exited ";

    /// <summary>How long leftover output may keep the pipes open after the job's group was killed.</summary>
    private static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(10);

    public static bool Is(string[] args) => args.Length > 0 && args[0] == Flag;

    /// <summary>The arguments that run <paramref name="argv"/> under a lifeline.</summary>
    public static IEnumerable<string> Arguments(long deadline, TimeSpan grace, int maxLineBytes, bool newSession, IEnumerable<string> argv) =>
    [
        Flag,
        deadline.ToString(CultureInfo.InvariantCulture),
        Stopwatch.Frequency.ToString(CultureInfo.InvariantCulture),
        ((long)grace.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
        maxLineBytes.ToString(CultureInfo.InvariantCulture),
        newSession ? "1" : "0",
        "--",
        .. argv,
    ];

    public static string ExtendCommand(long deadline) => "extend " + deadline.ToString(CultureInfo.InvariantCulture);

    public static string StopCommand(TimeSpan grace) => "stop " + ((long)grace.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 8 || args[6] != "--"
            || !long.TryParse(args[1], CultureInfo.InvariantCulture, out var deadline)
            || !long.TryParse(args[2], CultureInfo.InvariantCulture, out var frequency) || frequency != Stopwatch.Frequency
            || !long.TryParse(args[3], CultureInfo.InvariantCulture, out var graceMs)
            || !int.TryParse(args[4], CultureInfo.InvariantCulture, out var maxLine))
        {
            await Console.Error.WriteLineAsync("usage: --cron-lifeline <deadline> <frequency> <grace-ms> <max-line> <0|1> -- <program> [args...]").ConfigureAwait(false);
            return 2;
        }

        var watchdog = new Watchdog(deadline, TimeSpan.FromMilliseconds(graceMs), maxLine, newSession: args[5] == "1", argv: args[7..]);
        return await watchdog.RunAsync().ConfigureAwait(false);
    }

    private sealed class Watchdog(long deadline, TimeSpan grace, int maxLine, bool newSession, string[] argv)
    {
        private readonly Stream _stdout = Console.OpenStandardOutput();
        private readonly Stream _stderr = Console.OpenStandardError();
        private readonly Lock _gate = new();
        private long _deadline = deadline;
        private string _reason = LocalExit.Exited;
        private Process? _job;
        private int _group;

        public async Task<int> RunAsync()
        {
            // Out of the app's process group and session: a kill of the app's group must not take its watchdog too.
            if (!OperatingSystem.IsWindows())
            {
                _ = NativeMethods.SetSid();
            }

            var startInfo = new ProcessStartInfo(argv[0])
            {
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

            try
            {
                _job = Process.Start(startInfo) ?? throw new InvalidOperationException("No process was started.");
            }
            catch (Exception ex) when (ex is Win32Exception or InvalidOperationException or PlatformNotSupportedException)
            {
                WriteControl(Failed + OneLine(ex.Message));
                return 127;
            }

            _group = newSession ? _job.Id : 0;
            _job.StandardInput.Close(); // the job never reads our stdin: that pipe is the lifeline
            WriteControl(Started + _job.Id.ToString(CultureInfo.InvariantCulture));

            var stdout = Pump(_job.StandardOutput.BaseStream, _stdout);
            var stderr = Pump(_job.StandardError.BaseStream, _stderr);
            var exited = _job.WaitForExitAsync();
            _ = Task.Run(ReadCommandsAsync); // ends with our stdin; the process exits with the job
            await Task.WhenAny(exited, Task.Run(WatchDeadlineAsync)).ConfigureAwait(false);
            await exited.ConfigureAwait(false);

            // The run ends with the job's own process: whatever it left running in its group goes too.
            Signal(NativeMethods.SigKill);
            // Bounded: a descendant that left the group may hold the pipes open for ever.
            await Task.WhenAny(Task.WhenAll(stdout, stderr), Task.Delay(DrainLimit)).ConfigureAwait(false);

            var code = _job.ExitCode;
            string reason;
            lock (_gate)
            {
                reason = _reason;
            }

            WriteControl(Exited + "code=" + code.ToString(CultureInfo.InvariantCulture) + " reason=" + reason);
            return code;
        }

        private async Task ReadCommandsAsync()
        {
            using var input = new StreamReader(Console.OpenStandardInput(), Encoding.UTF8);
            try
            {
                string? line;
                while ((line = await input.ReadLineAsync().ConfigureAwait(false)) is not null)
                {
                    var parts = line.Split(' ', 2);
                    if (parts.Length == 2 && parts[0] == "extend" && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var extended))
                    {
                        lock (_gate)
                        {
                            _deadline = Math.Max(_deadline, extended);
                        }
                    }
                    else if (parts.Length == 2 && parts[0] == "stop" && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var ms))
                    {
                        await TerminateAsync(LocalExit.Stopped, TimeSpan.FromMilliseconds(ms)).ConfigureAwait(false);
                    }
                }
            }
            catch (IOException)
            {
                // The pipe broke: same as end of file.
            }

            // End of file: the app that owns this run is gone. Stop the job, within its lease time whatever the grace.
            await TerminateAsync(LocalExit.OwnerGone, grace).ConfigureAwait(false);
        }

        private async Task WatchDeadlineAsync()
        {
            while (_job is { HasExited: false })
            {
                long current;
                lock (_gate)
                {
                    current = _deadline;
                }

                var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), current);
                if (remaining <= TimeSpan.Zero)
                {
                    SetReason(LocalExit.Deadline);
                    Signal(NativeMethods.SigKill);
                    return;
                }

                await Task.Delay(remaining < TimeSpan.FromMilliseconds(250) ? remaining : TimeSpan.FromMilliseconds(250)).ConfigureAwait(false);
            }
        }

        /// <summary>SIGTERM to the job's group, then SIGKILL once the grace (or the lease deadline, if sooner) is over.</summary>
        private async Task TerminateAsync(string reason, TimeSpan wait)
        {
            if (_job is not { HasExited: false } job)
            {
                return;
            }

            SetReason(reason);
            Signal(NativeMethods.SigTerm);
            long current;
            lock (_gate)
            {
                current = _deadline;
            }

            var untilDeadline = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), current);
            var limit = untilDeadline < wait ? untilDeadline : wait;
            if (limit > TimeSpan.Zero)
            {
                await Task.WhenAny(job.WaitForExitAsync(), Task.Delay(limit)).ConfigureAwait(false);
            }

            Signal(NativeMethods.SigKill);
        }

        private void SetReason(string reason)
        {
            lock (_gate)
            {
                if (_reason == LocalExit.Exited)
                {
                    _reason = reason;
                }
            }
        }

        private void Signal(int signal)
        {
            if (_group > 0 && !OperatingSystem.IsWindows())
            {
                _ = NativeMethods.Kill(-_group, signal); // ESRCH (nothing left in the group) is fine
                return;
            }

            if (signal == NativeMethods.SigKill)
            {
                try
                {
                    _job?.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // already exited
                }
            }
            else if (_job is { } job && !OperatingSystem.IsWindows())
            {
                _ = NativeMethods.Kill(job.Id, signal);
            }
        }

        private async Task Pump(Stream from, Stream to)
        {
            var reader = new BoundedLineReader(from, maxLine);
            try
            {
                await reader.ReadAllAsync(line =>
                {
                    // A job's line can never pass for a control line.
                    var safe = line.Length > 0 && line[0] == Marker ? "\uFFFD" + line[1..] : line;
                    Write(to, safe);
                }).ConfigureAwait(false);
            }
            catch (IOException)
            {
                // The job's end of the pipe is gone.
            }
        }

        private void WriteControl(string text) => Write(_stdout, Marker + text);

        private static void Write(Stream to, string line)
        {
            var bytes = Encoding.UTF8.GetBytes(line + "\n");
            lock (to)
            {
                try
                {
                    to.Write(bytes);
                    to.Flush();
                }
                catch (IOException)
                {
                    // The app is gone; keep draining the job so it never blocks on a full pipe while it is stopped.
                }
            }
        }

        private static string OneLine(string text) => text.ReplaceLineEndings(" ");
    }
}
