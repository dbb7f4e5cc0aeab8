using System.Diagnostics;
using System.Globalization;

namespace CronFunctions.Bench.Infrastructure;

/// <summary>Latency samples (Stopwatch ticks) and their nearest-rank percentiles, in milliseconds.</summary>
internal sealed class Latencies
{
    private readonly long[] _ticks;
    private int _count;

    public Latencies(int capacity) => _ticks = new long[capacity];

    public int Count => Volatile.Read(ref _count);

    public void Add(long ticks)
    {
        var i = Interlocked.Increment(ref _count) - 1;
        if (i < _ticks.Length)
        {
            _ticks[i] = ticks;
        }
    }

    public Summary Summarize()
    {
        var n = Math.Min(Count, _ticks.Length);
        var sorted = _ticks.AsSpan(0, n).ToArray();
        Array.Sort(sorted);
        return new Summary(n, Ms(sorted, 50), Ms(sorted, 95), Ms(sorted, 99), n == 0 ? double.NaN : ToMs(sorted[^1]));
    }

    public static double ToMs(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private static double Ms(long[] sorted, double percentile)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length);
        return ToMs(sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)]);
    }
}

internal sealed record Summary(int Count, double P50, double P95, double P99, double Max);

/// <summary>CPU time used so far by the bench process (the app instances) and by Azurite, in milliseconds.</summary>
internal static class Cpu
{
    private static readonly double TicksPerSecond = 100; // USER_HZ, 100 on Linux

    public static (double App, double Azurite) Now(AzuriteInstance azurite)
    {
        using var self = Process.GetCurrentProcess();
        return (self.TotalProcessorTime.TotalMilliseconds, azurite.Pid is { } pid ? ProcessMs(pid) : double.NaN);
    }

    private static double ProcessMs(int pid)
    {
        try
        {
            // /proc/<pid>/stat: fields after "(comm)": state is field 3, utime 14, stime 15.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return ticks * 1000.0 / TicksPerSecond;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }
}

/// <summary>Number formatting for the printed tables (invariant culture, so tables read the same everywhere).</summary>
internal static class Fmt
{
    public static string Ms(double ms) => double.IsNaN(ms) ? "–" : ms < 10 ? ms.ToString("0.00", CultureInfo.InvariantCulture) : ms.ToString("0.0", CultureInfo.InvariantCulture);

    public static string N(double value, string format = "0") => value.ToString(format, CultureInfo.InvariantCulture);

    public static string MiB(long bytes) => (bytes / 1024.0 / 1024.0).ToString("0.0", CultureInfo.InvariantCulture);
}

/// <summary>The facts a reader needs to compare figures: cores, CPU, memory, OS, .NET.</summary>
internal static class Machine
{
    public static IEnumerable<string> Facts()
    {
        yield return $"- nproc: {Environment.ProcessorCount}";
        yield return $"- CPU: {ProcValue("/proc/cpuinfo", "model name") ?? "unknown"}";
        var memKb = ProcValue("/proc/meminfo", "MemTotal")?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        yield return $"- memory: {(memKb is null ? "unknown" : Fmt.N(long.Parse(memKb, CultureInfo.InvariantCulture) / 1024.0 / 1024.0, "0.0") + " GiB")}";
        yield return $"- OS: {System.Runtime.InteropServices.RuntimeInformation.OSDescription}";
        yield return $"- .NET: {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription} ({System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier}), Server GC: {System.Runtime.GCSettings.IsServerGC}";
        yield return $"- Azurite: {AzuriteVersion()} (blob, queue and table services in one process — the locks use blob, the run history table; loopback, disk persistence)";
        yield return $"- load average (1, 5, 15 min) at the start: {Load()} (anything else running on the machine shows here)";
    }

    /// <summary>The 1, 5 and 15 minute load averages: a busy machine skews every figure.</summary>
    public static string Load()
    {
        try
        {
            return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string? ProcValue(string file, string key)
    {
        try
        {
            return File.ReadLines(file)
                .Where(l => l.StartsWith(key, StringComparison.Ordinal))
                .Select(l => l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim())
                .FirstOrDefault();
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string AzuriteVersion()
    {
        try
        {
            var json = File.ReadAllText(Path.Combine(Repository.Root, "node_modules", "azurite", "package.json"));
            using var doc = System.Text.Json.JsonDocument.Parse(json);
            return doc.RootElement.GetProperty("version").GetString() ?? "unknown";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
