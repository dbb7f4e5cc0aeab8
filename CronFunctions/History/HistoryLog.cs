using Microsoft.Extensions.Logging;

namespace CronFunctions.History;

/// <summary>The run history's events (range 1200–1299).</summary>
internal static partial class HistoryLog
{
    [LoggerMessage(1200, LogLevel.Error, "Run history dropped {Count} records since {Since:O} (records not written while {MaxPending} were pending, refused by storage, or unwritten at shutdown)")]
    public static partial void RecordsDropped(ILogger logger, long count, DateTimeOffset since, int maxPending);

    [LoggerMessage(1201, LogLevel.Warning, "Run history could not write record {Id} ({Decision}) of {Job} now; kept for retry ({Pending} pending)")]
    public static partial void RecordQueued(ILogger logger, Exception exception, string job, string id, string decision, int pending);

    [LoggerMessage(1202, LogLevel.Information, "Run history deleted {Count} rows older than {Cutoff:O} (retention {RetentionDays} days)")]
    public static partial void RowsExpired(ILogger logger, int count, DateTimeOffset cutoff, int retentionDays);

    [LoggerMessage(1203, LogLevel.Error, "Run history record {Id} ({Decision}) of {Job} was refused by storage and is dropped")]
    public static partial void RecordRejected(ILogger logger, Exception exception, string job, string id, string decision);

    [LoggerMessage(1204, LogLevel.Warning, "Run history still cannot write its {Pending} pending records; retrying every {RetryIntervalSeconds}s")]
    public static partial void RetryFailed(ILogger logger, Exception exception, int pending, double retryIntervalSeconds);

    [LoggerMessage(1205, LogLevel.Information, "Run history wrote {Count} records kept for retry")]
    public static partial void RetrySucceeded(ILogger logger, int count);

    [LoggerMessage(1206, LogLevel.Warning, "Run history {Step} failed; trying again next round")]
    public static partial void StepFailed(ILogger logger, Exception exception, string step);

    [LoggerMessage(1207, LogLevel.Error, "Run history {Step} failed unexpectedly; trying again next round")]
    public static partial void StepFailedUnexpectedly(ILogger logger, Exception exception, string step);

    [LoggerMessage(1208, LogLevel.Error, "Run history could not store record {Id} ({Decision}) of {Job}: unexpected failure, record dropped")]
    public static partial void RecordFailed(ILogger logger, Exception exception, string job, string id, string decision);
}
