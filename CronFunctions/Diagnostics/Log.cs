using Microsoft.Extensions.Logging;

namespace CronFunctions.Diagnostics;

/// <summary>
/// Every decision the app makes, as source-generated log events with stable ids an operator can alert on.
/// Ranges: 1000 requests and decisions, 1100 tokens, 1300 health, 2000 the lock and the run supervisor, 2500 the
/// local runner; the run history's own (1200) are in History/HistoryLog, job health's (4100) in Status, the Container
/// Apps runner's (3000) in its folder's ContainerAppsLog.
/// One style everywhere: <c>Log.X(logger, …)</c>.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information, "Run {RunId} of {Job} started with {Runner} handle {Handle}")]
    public static partial void RunStarted(ILogger logger, string job, string runId, string runner, string handle);

    [LoggerMessage(1001, LogLevel.Debug, "Skipped {Job}: already running as {RunningRunId}")]
    public static partial void SkippedAlreadyRunning(ILogger logger, string job, string? runningRunId);

    [LoggerMessage(1002, LogLevel.Debug, "Skipped {Job}: not due until {NextDue:O}")]
    public static partial void SkippedNotDue(ILogger logger, string job, DateTimeOffset nextDue);

    [LoggerMessage(1005, LogLevel.Warning, "Rejected {Job}: bad parameter: {Problem}")]
    public static partial void BadParameter(ILogger logger, string job, string problem);

    [LoggerMessage(1006, LogLevel.Error, "Run {RunId} of {Job} could not be started by {Runner}: {SafeMessage}")]
    public static partial void RunnerFailed(ILogger logger, Exception exception, string job, string runId, string runner, string safeMessage);

    [LoggerMessage(1007, LogLevel.Error, "Lock store unreachable for {Job}: no run started")]
    public static partial void LockStoreUnavailable(ILogger logger, Exception exception, string job);

    [LoggerMessage(1008, LogLevel.Error, "Run {RunId} of {Job}: the start's outcome is unknown ({Why}); the job stays locked until its runner can tell")]
    public static partial void StartUnknown(ILogger logger, string job, string runId, string why);

    [LoggerMessage(1009, LogLevel.Information, "Run {RunId} of {Job} ended: {Outcome} (exit code {ExitCode}) after {DurationSeconds:F1}s")]
    public static partial void RunEnded(ILogger logger, string job, string runId, string outcome, int? exitCode, double durationSeconds);

    [LoggerMessage(1010, LogLevel.Warning, "Rate limit exceeded for authenticated calls to {Endpoint} (client {Client}); retry after {RetryAfterSeconds}s")]
    public static partial void RateLimited(ILogger logger, string client, string endpoint, int retryAfterSeconds);

    [LoggerMessage(1011, LogLevel.Warning, "Runs API refused: {Reason}")]
    public static partial void RunsApiRefused(ILogger logger, string reason);

    [LoggerMessage(1012, LogLevel.Warning, "Run history unreachable: {Operation}")]
    public static partial void RunHistoryUnavailable(ILogger logger, Exception exception, string operation);

    [LoggerMessage(1013, LogLevel.Warning, "Refused {Count} calls in the last {IntervalSeconds}s; by reason: {ByReason}; busiest clients: {ByClient}")]
    public static partial void RefusalSummary(ILogger logger, long count, double intervalSeconds, string byReason, string byClient);

    [LoggerMessage(1100, LogLevel.Error, "No usable bearer token is configured ({Setting}): every call is refused")]
    public static partial void TokenNotConfigured(ILogger logger, string setting);

    [LoggerMessage(1101, LogLevel.Error, "Token setting {Setting} is not used: {Problem}")]
    public static partial void TokenSettingUnusable(ILogger logger, string setting, string problem);

    [LoggerMessage(1300, LogLevel.Error, "Health check {Check} failed: {Description}")]
    public static partial void HealthCheckFailed(ILogger logger, Exception? exception, string check, string? description);

    [LoggerMessage(2000, LogLevel.Warning, "Lock for {Job}: run {PreviousRunId} closed ({Reason})")]
    public static partial void LockTakenOver(ILogger logger, string job, string? previousRunId, string reason);

    [LoggerMessage(2001, LogLevel.Information, "Lock for {Job} released by run {RunId}")]
    public static partial void LockReleased(ILogger logger, string job, string runId);

    [LoggerMessage(2002, LogLevel.Warning, "Lock for {Job} was no longer held by run {RunId} when it ended")]
    public static partial void LockLostBeforeRelease(ILogger logger, string job, string runId);

    [LoggerMessage(2003, LogLevel.Error, "Lock store failed to {Operation} the lock of {Job}")]
    public static partial void LockStoreFailed(ILogger logger, Exception exception, string job, string operation);

    [LoggerMessage(2004, LogLevel.Information, "Created lock blob {Container}/{Blob}")]
    public static partial void LockBlobCreated(ILogger logger, string container, string blob);

    [LoggerMessage(2005, LogLevel.Warning, "Lock for {Job}: the lease of live run {RunId} was broken by someone else; it is fenced until {FencedUntil:O}")]
    public static partial void LockFenced(ILogger logger, string job, string runId, DateTimeOffset fencedUntil);

    [LoggerMessage(2006, LogLevel.Warning, "Lock for {Job}: broke an infinite lease left by an older version (run {RunId})")]
    public static partial void LegacyLeaseBroken(ILogger logger, string job, string? runId);

    [LoggerMessage(2007, LogLevel.Error, "Lock for {Job}: the final record of run {RunId} could not be written; the next call will close it")]
    public static partial void LockWriteGaveUp(ILogger logger, Exception exception, string job, string runId);

    [LoggerMessage(2008, LogLevel.Error, "Lock for {Job} lost by run {RunId}: {Why}")]
    public static partial void LockLost(ILogger logger, string job, string runId, string why);

    [LoggerMessage(2009, LogLevel.Warning, "Run {RunId} of {Job} adopted: nobody watched it ({Handle})")]
    public static partial void RunAdopted(ILogger logger, string job, string runId, string? handle);

    [LoggerMessage(2010, LogLevel.Warning, "Stopping run {RunId} of {Job}: {Reason}")]
    public static partial void RunStopping(ILogger logger, string job, string runId, string reason);

    [LoggerMessage(2011, LogLevel.Information, "Run {RunId} of {Job}: its unknown start resolved: {Resolution} ({Handle})")]
    public static partial void StartResolved(ILogger logger, string job, string runId, string resolution, string? handle);

    [LoggerMessage(2012, LogLevel.Information, "Run {RunId} of {Job} handed over: its lease is released for another instance to adopt it")]
    public static partial void RunHandedOver(ILogger logger, string job, string runId);

    [LoggerMessage(2013, LogLevel.Information, "Shutting down: stopping or handing over {Count} runs")]
    public static partial void SupervisorStopping(ILogger logger, int count);

    [LoggerMessage(2014, LogLevel.Error, "Shutdown did not wait for {Count} runs: local ones die with their lifelines, remote ones are adopted")]
    public static partial void SupervisorStopTimedOut(ILogger logger, int count);

    [LoggerMessage(2015, LogLevel.Critical, "Watching run {RunId} of {Job} failed; its lock is left to expire")]
    public static partial void SupervisorFailed(ILogger logger, Exception exception, string job, string runId);

    [LoggerMessage(2500, LogLevel.Information, "[{Job} {RunId} {Stream}] {Line}")]
    public static partial void ProcessOutput(ILogger logger, string job, string runId, string stream, string line);

    [LoggerMessage(2501, LogLevel.Information, "Run {RunId} of {Job} started process {Pid}: {FileName} {Arguments}")]
    public static partial void ProcessStarted(ILogger logger, string job, string runId, int pid, string fileName, string arguments);

    [LoggerMessage(2504, LogLevel.Error, "Run {RunId} of {Job}: process could not be started ({FileName} in {WorkingDirectory})")]
    public static partial void ProcessStartFailed(ILogger logger, Exception exception, string job, string runId, string fileName, string workingDirectory);
}
