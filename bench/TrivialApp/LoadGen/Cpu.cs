using System.Globalization;

namespace LoadGen;

/// <summary>CPU time (user + system) of named processes, from <c>/proc/PID/stat</c> (Linux), in milliseconds.</summary>
internal static class Cpu
{
    private static readonly double MsPerTick = 1000.0 / 100; // USER_HZ is 100 on Linux

    public static IReadOnlyDictionary<string, double> Read(IReadOnlyDictionary<string, int>? processes)
    {
        var result = new Dictionary<string, double>();
        foreach (var (name, pid) in processes ?? new Dictionary<string, int>())
        {
            try
            {
                // Fields after the command (which is in parentheses and may hold spaces): utime is the 14th, stime the 15th.
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                result[name] = ticks * MsPerTick;
            }
            catch (IOException)
            {
                result[name] = double.NaN; // the process is gone (a worker restarted): shown as n/a
            }
        }

        return result;
    }

    public static IReadOnlyDictionary<string, double> PerCall(IReadOnlyDictionary<string, double> before, IReadOnlyDictionary<string, double> after, long calls) =>
        before.Keys.ToDictionary(k => k, k => calls == 0 ? double.NaN : (after[k] - before[k]) / calls);
}
