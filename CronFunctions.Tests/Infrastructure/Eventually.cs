using System.Diagnostics;

namespace CronFunctions.Tests.Infrastructure;

/// <summary>Waits for a condition with a deadline instead of sleeping and hoping.</summary>
public static class Eventually
{
    public static async Task<TimeSpan> TrueAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > timeout)
            {
                throw new TimeoutException($"Not within {timeout}: {what}");
            }

            await Task.Delay(50);
        }

        return watch.Elapsed;
    }

    public static async Task<(T Value, TimeSpan Elapsed)> ValueAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return (value, watch.Elapsed);
            }

            if (watch.Elapsed > timeout)
            {
                var last = value is System.Collections.IEnumerable many and not string ? string.Join("; ", many.Cast<object>()) : value?.ToString();
                throw new TimeoutException($"Not within {timeout}: {what} (last: {last})");
            }

            await Task.Delay(250);
        }
    }
}
