using System.Text;

namespace CronFunctions.Tests.Infrastructure;

/// <summary>
/// A backend directory with a real <c>manage.py</c> — a POSIX shell script run as <c>/bin/sh manage.py ...</c>
/// (the runner's "python executable" is a setting) — that records its argv and pid, then behaves as its
/// <c>mode</c> file says: <c>exit</c>, <c>sleep N</c>, <c>flood</c> (1 MiB to stdout and to stderr), <c>fail</c>,
/// <c>orphan N</c> (start a 30 s child holding stdout, exit after N s).
/// </summary>
public sealed class FakeBackend : IDisposable
{
    private const string Script = """
        #!/bin/sh
        # Fake Django manage.py for CronFunctions tests: records argv (NUL-separated) and pid, then acts out "mode".
        dir=$(pwd)
        mkdir -p "$dir/calls"
        # Two runs of one job alive at once is the one thing that must never happen: an exclusive lock per job, held
        # by this process and everything it starts (they inherit fd 9), tells. The kernel drops it when all are gone.
        exec 9>>"$dir/run-${CRON_JOB:-job}.lock"
        if ! flock -n 9; then : > "$dir/overlap.${CRON_JOB:-job}.$$"; fi
        printf '%s\0' "$@" > "$dir/calls/$$.argv.tmp" && mv "$dir/calls/$$.argv.tmp" "$dir/calls/$$.argv"
        mode=$(cat "$dir/mode" 2>/dev/null || echo exit)
        case "$mode" in
          exit) echo "done $1" ;;
          env) env | sort ;;
          fail) echo "something broke" >&2; exit 3 ;;
          orphan*)
            # Leave a child behind that holds our stdout, then exit (after N seconds).
            sleep 30 &
            echo $! > "$dir/child.pid"
            echo "left a child"
            sleep "${mode#orphan }"
            exit 0 ;;
          sleep*) echo "sleeping"; sleep "${mode#sleep }"; echo "woke" ;;
          flood)
            i=0
            while [ $i -lt 10486 ]; do
              echo "stdout line $i padding padding padding padding padding padding padding padding padding pad"
              echo "stderr line $i padding padding padding padding padding padding padding padding padding pad" >&2
              i=$((i+1))
            done
            echo "flood-finished" ;;
        esac
        """;

    public FakeBackend(string mode = "exit")
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("fake-backend-").FullName;
        File.WriteAllText(Path.Combine(Directory, "manage.py"), Script.Replace("\r\n", "\n", StringComparison.Ordinal));
        Mode = mode;
    }

    public string Directory { get; }

    public string Mode
    {
        set => File.WriteAllText(Path.Combine(Directory, "mode"), value);
    }

    /// <summary>Every recorded invocation: pid → argv after <c>manage.py</c>.</summary>
    public IReadOnlyDictionary<int, string[]> Calls()
    {
        var calls = new Dictionary<int, string[]>();
        var dir = Path.Combine(Directory, "calls");
        if (!System.IO.Directory.Exists(dir))
        {
            return calls;
        }

        foreach (var file in System.IO.Directory.GetFiles(dir, "*.argv"))
        {
            var pid = int.Parse(Path.GetFileName(file).Split('.')[0], System.Globalization.CultureInfo.InvariantCulture);
            var text = File.ReadAllText(file, Encoding.UTF8);
            calls[pid] = text.Split('\0', StringSplitOptions.None)[..^1];
        }

        return calls;
    }

    /// <summary>Waits until <paramref name="count"/> invocations are recorded (the process writes its file as it starts).</summary>
    public async Task<IReadOnlyDictionary<int, string[]>> WaitForCallsAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var calls = Calls();
            if (calls.Count >= count || DateTime.UtcNow > deadline)
            {
                return calls;
            }

            await Task.Delay(25);
        }
    }

    /// <summary>Runs that found another run of their job alive when they started (there must never be any).</summary>
    public IReadOnlyList<string> Overlaps() =>
        [.. System.IO.Directory.GetFiles(Directory, "overlap.*").Select(Path.GetFileName).OfType<string>()];

    /// <summary>Whether any run this backend started still has a live process (pid, zombies excluded).</summary>
    public IReadOnlyList<int> LivePids() => [.. Calls().Keys.Where(IsAlive)];

    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..];
            return state.Length > 0 && state[0] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The pid of the child an <c>orphan</c> job left behind.</summary>
    public int OrphanChildPid() =>
        int.Parse(File.ReadAllText(Path.Combine(Directory, "child.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);

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
