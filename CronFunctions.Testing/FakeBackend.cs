using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace CronFunctions.Testing;

/// <summary>
/// A backend directory with a real <c>manage.py</c> — a POSIX shell script run by the app's local runner as
/// <c>/bin/sh manage.py ...</c> (the runner's "python executable" is a setting) in this directory. Every run records
/// its argv and pid (<see cref="Calls"/>), then acts out its job's mode (file <c>mode.&lt;job&gt;</c>, else
/// <c>mode</c>):
/// <list type="bullet">
/// <item><c>exit</c>: prints a line and exits 0.</item>
/// <item><c>fail</c>: prints to stderr and exits 3.</item>
/// <item><c>sleep N</c>: prints "sleeping", sleeps N s in a child that holds the run's output pipes (as a subprocess
/// of a real job would), prints "woke".</item>
/// <item><c>sleep-detached N</c>: sleeps N s in a child that does not hold the run's output pipes.</item>
/// <item><c>orphan N</c>: starts a 30 s child holding stdout (<see cref="OrphanChildPid"/>), exits after N s.</item>
/// <item><c>flood</c>: 1 MiB to stdout and to stderr.</item>
/// <item><c>env</c>: prints its environment, one variable a line.</item>
/// </list>
/// With <see cref="LogRuns"/> on, every run also appends <c>start|end &lt;job&gt; &lt;pid&gt; &lt;ns&gt; &lt;runId&gt;</c>
/// to <c>runs.log</c> (one short O_APPEND write per line, so concurrent runs do not interleave): <see cref="Runs"/>.
/// </summary>
public sealed class FakeBackend : IDisposable
{
    private const string Script = """
        #!/bin/sh
        # Fake Django manage.py for the CronFunctions tests and bench (run as /bin/sh manage.py <args> in this directory).
        printf '%s\0' "$@" > "calls/$$.argv.tmp" && mv "calls/$$.argv.tmp" "calls/$$.argv"
        job=${CRON_JOB:-unknown}
        # Two runs of one job alive at once is what must never happen: an exclusive lock per job, held by this process
        # and everything it starts (they inherit fd 9) until the last of them is gone, tells (Overlaps).
        exec 9>>"run-$job.lock"
        if ! flock -n 9; then : > "overlap.$job.$$"; fi
        mode=exit
        if [ -f "mode.$job" ]; then read -r mode < "mode.$job"; elif [ -f mode ]; then read -r mode < mode; fi
        if [ -f log-runs ]; then echo "start $job $$ $(date +%s%N) ${CRON_RUN_ID:-}" >> runs.log; fi
        case "$mode" in
          exit) echo "done $1" ;;
          env) env | sort ;;
          fail) echo "something broke" >&2; exit 3 ;;
          orphan\ *)
            # Leave a child behind that holds our stdout, then exit (after N seconds).
            sleep 30 &
            echo $! > child.pid
            echo "left a child"
            sleep "${mode#orphan }"
            exit 0 ;;
          sleep-detached\ *) sleep "${mode#sleep-detached }" </dev/null >/dev/null 2>&1 ;;
          sleep\ *) echo "sleeping"; sleep "${mode#sleep }"; echo "woke" ;;
          flood)
            i=0
            while [ $i -lt 10486 ]; do
              echo "stdout line $i padding padding padding padding padding padding padding padding padding pad"
              echo "stderr line $i padding padding padding padding padding padding padding padding padding pad" >&2
              i=$((i+1))
            done
            echo "flood-finished" ;;
        esac
        if [ -f log-runs ]; then echo "end $job $$ $(date +%s%N) ${CRON_RUN_ID:-}" >> runs.log; fi
        """;

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    public FakeBackend(string mode = "exit", bool logRuns = false)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("fake-backend-").FullName;
        System.IO.Directory.CreateDirectory(CallsDirectory);
        File.WriteAllText(Path.Combine(Directory, "manage.py"), Script.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n");
        Mode = mode;
        LogRuns = logRuns;
    }

    /// <summary>The backend directory (the runner's <c>Cron:Local:BackendDirectory</c>).</summary>
    public string Directory { get; }

    /// <summary>The runs log (<see cref="LogRuns"/>).</summary>
    public string LogFile => Path.Combine(Directory, "runs.log");

    private string CallsDirectory => Path.Combine(Directory, "calls");

    /// <summary>The mode of jobs without their own (<see cref="SetMode"/>).</summary>
    public string Mode
    {
        set => File.WriteAllText(Path.Combine(Directory, "mode"), value + "\n");
    }

    /// <summary>Whether runs append their start and end to <see cref="LogFile"/>.</summary>
    public bool LogRuns
    {
        set
        {
            var flag = Path.Combine(Directory, "log-runs");
            if (value)
            {
                File.WriteAllText(flag, string.Empty);
            }
            else
            {
                File.Delete(flag);
            }
        }
    }

    /// <summary>Sets one job's mode (by its catalog name, e.g. <c>sopn-parse</c>).</summary>
    public void SetMode(string job, string mode) => File.WriteAllText(Path.Combine(Directory, "mode." + job), mode + "\n");

    /// <summary>Every recorded invocation: pid → argv after <c>manage.py</c> (a run writes its file as it starts).</summary>
    public IReadOnlyDictionary<int, string[]> Calls()
    {
        var calls = new Dictionary<int, string[]>();
        foreach (var file in System.IO.Directory.GetFiles(CallsDirectory, "*.argv"))
        {
            var pid = int.Parse(Path.GetFileName(file).Split('.')[0], CultureInfo.InvariantCulture);
            var text = File.ReadAllText(file, Encoding.UTF8);
            calls[pid] = text.Split('\0', StringSplitOptions.None)[..^1];
        }

        return calls;
    }

    /// <summary>
    /// Returns as soon as at least <paramref name="count"/> invocations are recorded, or at the deadline (15 s unless
    /// told) with what there is: callers assert the count.
    /// </summary>
    public async Task<IReadOnlyDictionary<int, string[]>> WaitForCallsAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)((timeout ?? DefaultTimeout).TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var calls = Calls();
            if (calls.Count >= count || Stopwatch.GetTimestamp() > deadline)
            {
                return calls;
            }

            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    /// <summary>Runs that found another run of their job alive when they started: there must never be any.</summary>
    public IReadOnlyList<string> Overlaps() =>
        [.. System.IO.Directory.GetFiles(Directory, "overlap.*").Select(Path.GetFileName).OfType<string>()];

    /// <summary>The recorded runs whose process is still alive.</summary>
    public IReadOnlyList<int> LivePids() => [.. Calls().Keys.Where(ProcessTools.IsAlive)];

    /// <summary>The pid of the child an <c>orphan</c> job left behind.</summary>
    public int OrphanChildPid() =>
        int.Parse(File.ReadAllText(Path.Combine(Directory, "child.pid")).Trim(), CultureInfo.InvariantCulture);

    /// <summary>Every run the log has seen so far (<see cref="LogRuns"/>), by start.</summary>
    public IReadOnlyList<RunSpan> Runs()
    {
        if (!File.Exists(LogFile))
        {
            return [];
        }

        var runs = new Dictionary<(string Job, int Pid, string RunId), RunSpan>();
        foreach (var line in File.ReadAllLines(LogFile))
        {
            var parts = line.Split(' ');
            if (parts.Length < 5)
            {
                continue; // a line still being written
            }

            var key = (parts[1], int.Parse(parts[2], CultureInfo.InvariantCulture), parts[4]);
            var ns = long.Parse(parts[3], CultureInfo.InvariantCulture);
            runs.TryGetValue(key, out var run);
            run ??= new RunSpan(key.Item1, key.Item2, key.Item3, 0, null);
            runs[key] = parts[0] == "start" ? run with { StartNs = ns } : run with { EndNs = ns };
        }

        return [.. runs.Values.OrderBy(r => r.StartNs)];
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>One run of the fake job as its log saw it (wall-clock ns; no end when it was killed).</summary>
public sealed record RunSpan(string Job, int Pid, string RunId, long StartNs, long? EndNs);
