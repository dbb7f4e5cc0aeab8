using System.Globalization;

namespace CronFunctions.Bench.Infrastructure;

/// <summary>
/// A backend directory with a <c>manage.py</c> that is a POSIX shell script, run by the app's local runner as
/// <c>/bin/sh manage.py ...</c> (<c>Cron:Local:PythonExecutable=/bin/sh</c>, as the tests do). Each job acts out its
/// mode (file <c>mode.&lt;job&gt;</c>, else <c>mode</c>): <c>exit</c> at once; <c>sleep N</c> in a child that does not
/// hold the run's output pipes; <c>sleep-inherit N</c> in a child that does (as a subprocess of a real job would).
/// With logging on, every run appends <c>start|end &lt;job&gt; &lt;pid&gt; &lt;ns&gt; &lt;runId&gt;</c> to
/// <c>runs.log</c> (one short O_APPEND write per line, so concurrent runs do not interleave).
/// </summary>
internal sealed class FakeBackend : IDisposable
{
    private const string Script = """
        #!/bin/sh
        # Fake Django manage.py for the CronFunctions bench (run as /bin/sh manage.py <args> in this directory).
        job=${CRON_JOB:-unknown}
        mode=exit
        if [ -f "mode.$job" ]; then read -r mode < "mode.$job"; elif [ -f mode ]; then read -r mode < mode; fi
        if [ -f log-runs ]; then echo "start $job $$ $(date +%s%N) ${CRON_RUN_ID:-}" >> runs.log; fi
        case "$mode" in
          exit) ;;
          sleep-inherit\ *) sleep "${mode#sleep-inherit }" ;;
          sleep\ *) sleep "${mode#sleep }" </dev/null >/dev/null 2>&1 ;;
        esac
        if [ -f log-runs ]; then echo "end $job $$ $(date +%s%N) ${CRON_RUN_ID:-}" >> runs.log; fi
        """;

    public FakeBackend(bool logRuns)
    {
        File.WriteAllText(Path.Combine(Directory, "manage.py"), Script.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n");
        Mode = "exit";
        LogRuns = logRuns;
    }

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("bench-backend-").FullName;

    public string LogFile => Path.Combine(Directory, "runs.log");

    /// <summary>The mode of jobs without their own.</summary>
    public string Mode
    {
        set => File.WriteAllText(Path.Combine(Directory, "mode"), value + "\n");
    }

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

    public void SetMode(string job, string mode) => File.WriteAllText(Path.Combine(Directory, "mode." + job), mode + "\n");

    /// <summary>Every run the log has seen so far.</summary>
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
internal sealed record RunSpan(string Job, int Pid, string RunId, long StartNs, long? EndNs);
