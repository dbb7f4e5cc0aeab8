using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace CronFunctions.Testing;

/// <summary>
/// Kills processes the harness started (Azurite, fake job runs, separate app instances) by pid, never by name, and makes
/// sure none outlive the test run or the bench when it ends or is interrupted.
/// </summary>
public static class ProcessTools
{
    private static readonly ConcurrentDictionary<int, byte> Owned = new();

    static ProcessTools()
    {
        Console.CancelKeyPress += (_, _) => KillOwned();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillOwned();
    }

    /// <summary>Remembers a process (and, when it is killed, its descendants) to kill if this process stops first.</summary>
    public static void Own(int pid) => Owned.TryAdd(pid, 0);

    public static void Disown(int pid) => Owned.TryRemove(pid, out _);

    /// <summary>The pids of a process's children, grandchildren, ... (from <c>/proc/&lt;pid&gt;/task/*/children</c>).</summary>
    public static IReadOnlyList<int> Descendants(int pid)
    {
        var found = new List<int>();
        var queue = new Queue<int>([pid]);
        while (queue.Count > 0)
        {
            var parent = queue.Dequeue();
            string[] tasks;
            try
            {
                tasks = Directory.GetDirectories($"/proc/{parent}/task");
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var task in tasks)
            {
                string text;
                try
                {
                    text = File.ReadAllText(Path.Combine(task, "children"));
                }
                catch (IOException)
                {
                    continue;
                }

                foreach (var child in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    var childPid = int.Parse(child, CultureInfo.InvariantCulture);
                    found.Add(childPid);
                    queue.Enqueue(childPid);
                }
            }
        }

        return found;
    }

    /// <summary>
    /// The descendants of <paramref name="pid"/> as soon as it has any (a job that is about to start its child), or
    /// none at the deadline.
    /// </summary>
    public static async Task<IReadOnlyList<int>> WaitForDescendantsAsync(int pid, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var descendants = Descendants(pid);
            if (descendants.Count > 0 || Stopwatch.GetTimestamp() > deadline)
            {
                return descendants;
            }

            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    /// <summary>SIGKILLs one process by pid; false if it was already gone.</summary>
    public static bool Kill(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill(entireProcessTree: false);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>SIGKILLs a process and then the descendants it had (collected before the kill, as they get reparented).</summary>
    public static void KillWithDescendants(int pid)
    {
        var descendants = Descendants(pid);
        Kill(pid);
        foreach (var child in descendants)
        {
            Kill(child);
        }

        Disown(pid);
    }

    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat.AsSpan(stat.LastIndexOf(')') + 1).TrimStart();
            return !state.IsEmpty && state[0] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void KillOwned()
    {
        foreach (var pid in Owned.Keys)
        {
            KillWithDescendants(pid);
        }
    }
}
