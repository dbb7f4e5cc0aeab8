using System.Diagnostics;
using System.Globalization;
using CronFunctions.Diagnostics;
using Microsoft.Extensions.Logging;

namespace CronFunctions.Runners.Local;

/// <summary>How a local job's lifeline ended: the job's exit code and why it stopped.</summary>
internal sealed record LocalExit(int? ExitCode, string Reason, TimeSpan Duration, IReadOnlyList<string> LastLines)
{
    /// <summary>The job ended by itself.</summary>
    public const string Exited = "exited";

    /// <summary>Its owner asked it to stop (shutdown, maximum runtime).</summary>
    public const string Stopped = "stopped";

    /// <summary>Its owner's lease time ran out before the owner extended it.</summary>
    public const string Deadline = "deadline";

    /// <summary>Its owner's pipe closed: the app that started it is gone.</summary>
    public const string OwnerGone = "owner-gone";

    /// <summary>The lifeline itself died (killed from outside); the app killed the job's group.</summary>
    public const string LifelineLost = "lifeline-lost";
}

/// <summary>
/// A local job running under its <see cref="Lifeline"/>, as the app instance that owns it sees it: output lines into
/// the logs and the tail, the lifeline's deadline extended after each lease renewal, a stop on request, and how it
/// ended. Writing to the lifeline never blocks on a dead one.
/// </summary>
internal sealed class LocalRun
{
    private readonly Process _lifeline;
    private readonly OutputTail _tail;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource<int> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private readonly long _startedAt;
    private string? _failure;
    private (int Code, string Reason)? _exited;

    private LocalRun(Process lifeline, string job, string runId, int tailLines, int maxLineBytes, ILogger logger)
    {
        _lifeline = lifeline;
        _tail = new OutputTail(tailLines);
        _logger = logger;
        Job = job;
        RunId = runId;
        _startedAt = Stopwatch.GetTimestamp();
        var stdout = Task.Run(() => ReadAsync(lifeline.StandardOutput.BaseStream, "stdout", maxLineBytes, control: true));
        var stderr = Task.Run(() => ReadAsync(lifeline.StandardError.BaseStream, "stderr", maxLineBytes, control: false));
        Completion = CompleteAsync(stdout, stderr);
    }

    public string Job { get; }

    public string RunId { get; }

    /// <summary>The job's own pid (it leads its process group), once started.</summary>
    public int? Pid { get; private set; }

    /// <summary>Ends when the lifeline has exited and its output is drained.</summary>
    public Task<LocalExit> Completion { get; }

    /// <summary>Starts <paramref name="lifeline"/> and waits until it says the job started (its pid) or failed to.</summary>
    public static async Task<LocalRun> StartAsync(Process lifeline, string job, string runId, int tailLines, int maxLineBytes, TimeSpan timeout, ILogger logger)
    {
        lifeline.Start();
        var run = new LocalRun(lifeline, job, runId, tailLines, maxLineBytes, logger);
        var first = await Task.WhenAny(run._started.Task, run.Completion, Task.Delay(timeout)).ConfigureAwait(false);

        // Asked, not inferred from which task came first: a job that exits at once can complete the run before the
        // continuation of its (asynchronously signalled) start has run, and it did start.
        if (run._started.Task.IsCompletedSuccessfully)
        {
            run.Pid = run._started.Task.Result;
            return run;
        }

        if (first != run.Completion)
        {
            run.Kill();
            await run.Completion.ConfigureAwait(false);
        }

        throw new InvalidOperationException(run._failure is { } failure
            ? "The job's process could not be started: " + failure
            : "The job's lifeline ended before it started the job.");
    }

    /// <summary>Moves the lifeline's deadline (a <see cref="Stopwatch"/> timestamp) forward.</summary>
    public void Extend(long deadline) => Send(Lifeline.ExtendCommand(deadline));

    /// <summary>Asks the lifeline to stop the job: SIGTERM to its group, SIGKILL after <paramref name="grace"/>.</summary>
    public void Stop(TimeSpan grace) => Send(Lifeline.StopCommand(grace));

    /// <summary>Kills the lifeline (its stdin closes with it) and the job's group outright.</summary>
    public void Kill()
    {
        KillGroup();
        try
        {
            _lifeline.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // already exited
        }
    }

    private void Send(string command)
    {
        lock (_gate)
        {
            try
            {
                if (!Completion.IsCompleted && !_lifeline.HasExited)
                {
                    _lifeline.StandardInput.WriteLine(command);
                    _lifeline.StandardInput.Flush();
                }
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException)
            {
                // The lifeline has exited: its completion tells how the run ended.
            }
        }
    }

    private async Task ReadAsync(Stream stream, string name, int maxLineBytes, bool control)
    {
        var reader = new BoundedLineReader(stream, maxLineBytes + 128);
        try
        {
            await reader.ReadAllAsync(line =>
            {
                if (control && line.Length > 0 && line[0] == Lifeline.Marker)
                {
                    OnControl(line[1..]);
                    return;
                }

                _tail.Add(line);
                Log.ProcessOutput(_logger, Job, RunId, name, line);
            }).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The pipe broke with the lifeline.
        }
    }

    private void OnControl(string line)
    {
        if (line.StartsWith(Lifeline.Started, StringComparison.Ordinal)
            && int.TryParse(line.AsSpan(Lifeline.Started.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            _started.TrySetResult(pid);
        }
        else if (line.StartsWith(Lifeline.Failed, StringComparison.Ordinal))
        {
            _failure = line[Lifeline.Failed.Length..];
        }
        else if (line.StartsWith(Lifeline.Exited, StringComparison.Ordinal))
        {
            var fields = line[Lifeline.Exited.Length..].Split(' ')
                .Select(f => f.Split('=', 2)).Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1], StringComparer.Ordinal);
            if (int.TryParse(fields.GetValueOrDefault("code"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var code))
            {
                _exited = (code, fields.GetValueOrDefault("reason") ?? LocalExit.Exited);
            }
        }
    }

    private async Task<LocalExit> CompleteAsync(Task stdout, Task stderr)
    {
        await _lifeline.WaitForExitAsync().ConfigureAwait(false);

        // The lifeline's pipes close with it; bounded all the same, so a leaked descriptor cannot hold a run open.
        await Task.WhenAny(Task.WhenAll(stdout, stderr), Task.Delay(TimeSpan.FromSeconds(10))).ConfigureAwait(false);
        var duration = Stopwatch.GetElapsedTime(_startedAt);
        var lifelineCode = _lifeline.ExitCode;
        _lifeline.Dispose();
        if (_exited is { } exited)
        {
            return new LocalExit(exited.Code, exited.Reason, duration, _tail.Snapshot());
        }

        // The lifeline died without a word (killed from outside): nothing watches the job any more, so end it here.
        KillGroup();
        return new LocalExit(Pid is null ? null : lifelineCode, Pid is null ? "not-started" : LocalExit.LifelineLost, duration, _tail.Snapshot());
    }

    /// <summary>SIGKILL to the job's process group (the job leads it), once it is known.</summary>
    private void KillGroup()
    {
        if (Pid is { } pid && !OperatingSystem.IsWindows())
        {
            _ = NativeMethods.Kill(-pid, NativeMethods.SigKill);
        }
    }
}
