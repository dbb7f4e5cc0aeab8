namespace CronFunctions.Locking;

/// <summary>
/// The one clock that decides slots and deadlines for every instance: the storage service's, not each instance's
/// own, so that instances whose clocks disagree cannot both find the same slot due.
/// </summary>
internal interface ILockClock
{
    /// <summary>The service's time now, estimated from its last answer and the local monotonic clock since.</summary>
    DateTimeOffset Now { get; }

    /// <summary>The time a decision based on a read answered at <paramref name="serverTime"/> is made at.</summary>
    DateTimeOffset DecisionTime(DateTimeOffset? serverTime);

    /// <summary>Notes the service's time from an answer's <c>Date</c> header.</summary>
    void Observe(DateTimeOffset serverTime);
}

/// <summary>
/// The storage service's clock, from its answers' <c>Date</c> headers (whole seconds). A decision uses the very read it
/// is based on, so every instance judges by the same truncated second; between reads, the estimate is the last
/// answer's time plus the local monotonic time elapsed since.
/// </summary>
internal sealed class StorageClock(TimeProvider timeProvider) : ILockClock
{
    private readonly Lock _gate = new();
    private DateTimeOffset? _serverTime;
    private long _observedAt;

    public DateTimeOffset Now
    {
        get
        {
            lock (_gate)
            {
                return _serverTime is { } serverTime ? serverTime + timeProvider.GetElapsedTime(_observedAt) : timeProvider.GetUtcNow();
            }
        }
    }

    public DateTimeOffset DecisionTime(DateTimeOffset? serverTime) => serverTime ?? Now;

    public void Observe(DateTimeOffset serverTime)
    {
        lock (_gate)
        {
            _serverTime = serverTime;
            _observedAt = timeProvider.GetTimestamp();
        }
    }
}

/// <summary>The app's own <see cref="TimeProvider"/> as the lock's clock: for tests on simulated time only.</summary>
internal sealed class TimeProviderClock(TimeProvider timeProvider) : ILockClock
{
    public DateTimeOffset Now => timeProvider.GetUtcNow();

    public DateTimeOffset DecisionTime(DateTimeOffset? serverTime) => timeProvider.GetUtcNow();

    public void Observe(DateTimeOffset serverTime)
    {
    }
}
