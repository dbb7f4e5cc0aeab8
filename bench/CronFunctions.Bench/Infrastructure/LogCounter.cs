using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace CronFunctions.Bench.Infrastructure;

/// <summary>
/// The bench's only log sink: counts the app's warnings and errors by event name (the apps log at Warning and
/// above only, so logging costs next to nothing) and keeps the run ids of the events the drill reasons about.
/// </summary>
internal sealed class LogCounter : ILoggerProvider
{
    private readonly ConcurrentDictionary<string, long> _events = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Event, string RunId), byte> _runIds = new();

    public bool Saw(string eventName, string runId) => _runIds.ContainsKey((eventName, runId));

    public ILogger CreateLogger(string categoryName) => new Counter(this);

    public void Dispose()
    {
    }

    /// <summary>"LockStoreUnavailable ×312, LockReleaseFailed ×3".</summary>
    public string Describe() => _events.IsEmpty
        ? "none"
        : string.Join(", ", _events.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} ×{p.Value}"));

    private sealed class Counter(LogCounter owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var name = eventId.Name ?? eventId.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            owner._events.AddOrUpdate(name, 1, (_, n) => n + 1);
            if (state is IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                foreach (var (key, value) in values)
                {
                    if (key == "RunId" && value is string runId)
                    {
                        owner._runIds.TryAdd((name, runId), 0);
                    }
                }
            }
        }
    }
}
