using Microsoft.Extensions.Logging;

namespace CronFunctions.Diagnostics;

/// <summary>
/// Every decision the app makes, as source-generated log events with stable ids an operator can alert on.
/// Ranges: 1000 requests and decisions, 1100 tokens, 2000 the lock, 2500 the local runner (3000 container runner).
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information, "Run {RunId} of {Job} started with {Runner} handle {Handle}")]
    public static partial void RunStarted(ILogger logger, string job, string runId, string runner, string handle);

    [LoggerMessage(1001, LogLevel.Information, "Skipped {Job}: already running as {RunningRunId}")]
    public static partial void SkippedAlreadyRunning(ILogger logger, string job, string? runningRunId);

    [LoggerMessage(1002, LogLevel.Information, "Skipped {Job}: not due until {NextDue:O}")]
    public static partial void SkippedNotDue(ILogger logger, string job, DateTimeOffset nextDue);

    [LoggerMessage(1003, LogLevel.Warning, "Refused {Job}: {Reason}")]
    public static partial void Refused(ILogger logger, string job, string reason);

    [LoggerMessage(1004, LogLevel.Warning, "Rejected {Job}: method {Method} is not allowed")]
    public static partial void MethodNotAllowed(ILogger logger, string job, string method);

    [LoggerMessage(1005, LogLevel.Warning, "Rejected {Job}: bad parameter: {Problem}")]
    public static partial void BadParameter(ILogger logger, string job, string problem);

    [LoggerMessage(1006, LogLevel.Error, "Run {RunId} of {Job} could not be started by {Runner}: {SafeMessage}")]
    public static partial void RunnerFailed(ILogger logger, Exception exception, string job, string runId, string runner, string safeMessage);

    [LoggerMessage(1007, LogLevel.Error, "Lock store unreachable for {Job}: no run started")]
    public static partial void LockStoreUnavailable(ILogger logger, Exception exception, string job);

    [LoggerMessage(1008, LogLevel.Error, "Run {RunId} of {Job} started but its handle could not be recorded; the lock stays held until the run's deadline")]
    public static partial void RunHandleNotRecorded(ILogger logger, Exception exception, string job, string runId);

    [LoggerMessage(1009, LogLevel.Information, "Run {RunId} of {Job} ended: {Outcome} (exit code {ExitCode}) after {DurationSeconds:F1}s")]
    public static partial void RunEnded(ILogger logger, string job, string runId, string outcome, int? exitCode, double durationSeconds);

    [LoggerMessage(1100, LogLevel.Error, "No bearer token is configured ({Setting}): every call is refused")]
    public static partial void TokenNotConfigured(ILogger logger, string setting);

    [LoggerMessage(2000, LogLevel.Information, "Lock for {Job} taken over from run {PreviousRunId} ({Reason})")]
    public static partial void LockTakenOver(ILogger logger, string job, string? previousRunId, string reason);

    [LoggerMessage(2001, LogLevel.Information, "Lock for {Job} released by run {RunId}")]
    public static partial void LockReleased(ILogger logger, string job, string runId);

    [LoggerMessage(2002, LogLevel.Warning, "Lock for {Job} was no longer held by run {RunId} when it ended (taken over)")]
    public static partial void LockLostBeforeRelease(ILogger logger, string job, string runId);

    [LoggerMessage(2003, LogLevel.Error, "Lock for {Job} could not be released by run {RunId}; it will be taken over once the run is seen to have ended")]
    public static partial void LockReleaseFailed(ILogger logger, Exception exception, string job, string runId);

    [LoggerMessage(2006, LogLevel.Warning, "Lock write for run {RunId} of {Job} failed (attempt {Attempt}); retrying in {DelaySeconds}s")]
    public static partial void LockWriteRetrying(ILogger logger, Exception exception, string job, string runId, int attempt, double delaySeconds);

    [LoggerMessage(2007, LogLevel.Error, "Lock write for run {RunId} of {Job} failed {Attempts} times; giving up, the lock will be taken over at its deadline {Deadline:O}")]
    public static partial void LockWriteGaveUp(ILogger logger, Exception exception, string job, string runId, int attempts, DateTimeOffset deadline);

    [LoggerMessage(2004, LogLevel.Information, "Created lock blob {Container}/{Blob}")]
    public static partial void LockBlobCreated(ILogger logger, string container, string blob);

    [LoggerMessage(2005, LogLevel.Warning, "Liveness of run {RunId} of {Job} could not be checked by {Runner}; treated as alive until {Deadline:O}")]
    public static partial void LivenessCheckFailed(ILogger logger, Exception exception, string job, string? runId, string runner, DateTimeOffset? deadline);

    [LoggerMessage(2500, LogLevel.Information, "[{Job} {RunId} {Stream}] {Line}")]
    public static partial void ProcessOutput(ILogger logger, string job, string runId, string stream, string line);

    [LoggerMessage(2501, LogLevel.Information, "Run {RunId} of {Job} started process {Pid}: {FileName} {Arguments}")]
    public static partial void ProcessStarted(ILogger logger, string job, string runId, int pid, string fileName, string arguments);

    [LoggerMessage(2502, LogLevel.Information, "Run {RunId} of {Job}: process {Pid} exited with code {ExitCode} after {DurationSeconds:F1}s")]
    public static partial void ProcessExited(ILogger logger, string job, string runId, int pid, int exitCode, double durationSeconds);

    [LoggerMessage(2503, LogLevel.Error, "Run {RunId} of {Job}: process {Pid} passed its maximum runtime {MaxRuntime}; killing its process tree")]
    public static partial void ProcessTimedOut(ILogger logger, string job, string runId, int pid, TimeSpan maxRuntime);

    [LoggerMessage(2504, LogLevel.Error, "Run {RunId} of {Job}: process could not be started ({FileName} in {WorkingDirectory})")]
    public static partial void ProcessStartFailed(ILogger logger, Exception exception, string job, string runId, string fileName, string workingDirectory);

    [LoggerMessage(2506, LogLevel.Warning, "Run {RunId} of {Job}: output of process {Pid} still open {DrainLimit} after it ended (a descendant left its process group); reporting the run ended")]
    public static partial void OutputNotDrained(ILogger logger, string job, string runId, int pid, TimeSpan drainLimit);

    [LoggerMessage(2505, LogLevel.Error, "Run {RunId} of {Job}: watching process {Pid} failed")]
    public static partial void ProcessWatchFailed(ILogger logger, Exception exception, string job, string runId, int pid);

    [LoggerMessage(1010, LogLevel.Warning, "Rate limit exceeded for client {Client} on {Endpoint}; retry after {RetryAfterSeconds}s")]
    public static partial void RateLimited(ILogger logger, string client, string endpoint, int retryAfterSeconds);

    [LoggerMessage(1011, LogLevel.Warning, "Runs API refused: {Reason}")]
    public static partial void RunsApiRefused(ILogger logger, string reason);

    [LoggerMessage(1012, LogLevel.Warning, "Run history unreachable: {Operation}")]
    public static partial void RunHistoryUnavailable(ILogger logger, Exception exception, string operation);
}
