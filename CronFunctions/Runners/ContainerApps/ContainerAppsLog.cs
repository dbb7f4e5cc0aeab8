using Microsoft.Extensions.Logging;

namespace CronFunctions.Runners.ContainerApps;

/// <summary>
/// Log messages of the Container Apps runner (called as <c>ContainerAppsLog.X(logger, …)</c>, like <c>Log</c>), event ids 3000–3099. ARM failures carry the status, ARM's error code
/// and the <c>x-ms-request-id</c>/<c>x-ms-correlation-request-id</c> an Azure support case asks for. Never a token,
/// and never what a token endpoint answered (credential failures log the exception type only).
/// </summary>
internal static partial class ContainerAppsLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Error,
        Message = "The Container Apps runner is not configured ({Section}): {Failures}")]
    public static partial void ConfigurationInvalid(ILogger logger, string section, string failures);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Error,
        Message = "Job {Job} has no Container Apps Job to run in: {Missing} not set")]
    public static partial void TargetIncomplete(ILogger logger, string job, string missing);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Error,
        Message = "Job {Job} run {RunId} was given an argument or run id that is not a plain string (argument {Index})")]
    public static partial void InvalidArgument(ILogger logger, string job, string runId, int index);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error,
        Message = "Job {Job} cannot use the template of Container Apps Job {JobName}: {Reason}")]
    public static partial void TemplateUnusable(ILogger logger, string job, string jobName, string reason);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information,
        Message = "Starting Container Apps Job {JobName} (resource group {ResourceGroup}) for job {Job} run {RunId}")]
    public static partial void Starting(ILogger logger, string jobName, string resourceGroup, string job, string runId);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information,
        Message = "Job {Job} run {RunId} started as execution {Execution} of Container Apps Job {JobName} (ARM status {ArmStatus}, request {RequestId})")]
    public static partial void Started(ILogger logger, string job, string runId, string execution, string jobName, int armStatus, string? requestId);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Error,
        Message = "Reading Container Apps Job {JobName} for job {Job} failed: ARM status {ArmStatus}, error {ErrorCode}: {ErrorMessage} (request {RequestId}, correlation {CorrelationId})")]
    public static partial void ReadJobFailed(ILogger logger, string jobName, string job, int armStatus, string? errorCode, string? errorMessage, string? requestId, string? correlationId);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Error,
        Message = "Azure refused to start Container Apps Job {JobName} for job {Job} run {RunId}: ARM status {ArmStatus}, error {ErrorCode}: {ErrorMessage} (request {RequestId}, correlation {CorrelationId})")]
    public static partial void StartRefused(ILogger logger, string jobName, string job, string runId, int armStatus, string? errorCode, string? errorMessage, string? requestId, string? correlationId);

    [LoggerMessage(EventId = 3014, Level = LogLevel.Warning,
        Message = "The start of Container Apps Job {JobName} for job {Job} run {RunId} may have happened ({Reason}; ARM status {ArmStatus}, request {RequestId}, correlation {CorrelationId}): looking for its execution, not starting again")]
    public static partial void StartAmbiguous(ILogger logger, string jobName, string job, string runId, string reason, int armStatus, string? requestId, string? correlationId, Exception? exception);

    [LoggerMessage(EventId = 3015, Level = LogLevel.Warning,
        Message = "Job {Job} run {RunId} adopted execution {Execution} ({Status}) of Container Apps Job {JobName}, matched by {MatchedBy}")]
    public static partial void ExecutionAdopted(ILogger logger, string job, string runId, string execution, string? status, string jobName, string matchedBy);

    [LoggerMessage(EventId = 3016, Level = LogLevel.Error,
        Message = "No execution of Container Apps Job {JobName} was found for job {Job} run {RunId}; the start is reported as failed and not sent again")]
    public static partial void ExecutionNotFound(ILogger logger, string jobName, string job, string runId);

    [LoggerMessage(EventId = 3017, Level = LogLevel.Warning,
        Message = "Stopped following the start of Container Apps Job {JobName} for run {RunId}: {Reason} (ARM status {ArmStatus}, request {RequestId})")]
    public static partial void StartNotFollowed(ILogger logger, string jobName, string runId, string reason, int armStatus, string? requestId, Exception? exception = null);

    [LoggerMessage(EventId = 3018, Level = LogLevel.Error,
        Message = "Azure Resource Manager could not be reached to {Operation} Container Apps Job {JobName} for job {Job}")]
    public static partial void ArmUnreachable(ILogger logger, string operation, string jobName, string job, Exception exception);

    [LoggerMessage(EventId = 3019, Level = LogLevel.Error,
        Message = "The function app could not get a token for Azure Resource Manager ({ExceptionType}); check ManagedIdentityClientId and the app's identity")]
    public static partial void CredentialFailed(ILogger logger, string exceptionType);

    [LoggerMessage(EventId = 3020, Level = LogLevel.Error,
        Message = "The start operation of Container Apps Job {JobName} for run {RunId} ended as {OperationStatus}: error {ErrorCode} (request {RequestId})")]
    public static partial void StartOperationFailed(ILogger logger, string jobName, string runId, string operationStatus, string? errorCode, string? requestId);

    [LoggerMessage(EventId = 3021, Level = LogLevel.Warning,
        Message = "Asked Container Apps Job {JobName} to stop execution {Execution}: ARM status {ArmStatus}, error {ErrorCode} (request {RequestId})")]
    public static partial void ExecutionStopRequested(ILogger logger, string execution, string jobName, int armStatus, string? errorCode, string? requestId);

    [LoggerMessage(EventId = 3030, Level = LogLevel.Debug,
        Message = "Execution {Execution} of Container Apps Job {JobName} is {Status}")]
    public static partial void ExecutionStatus(ILogger logger, string execution, string jobName, string status);

    [LoggerMessage(EventId = 3031, Level = LogLevel.Information,
        Message = "Execution {Execution} of Container Apps Job {JobName} no longer exists (request {RequestId}); its run has ended")]
    public static partial void ExecutionGone(ILogger logger, string execution, string jobName, string? requestId);

    [LoggerMessage(EventId = 3032, Level = LogLevel.Warning,
        Message = "The state of execution {Execution} of Container Apps Job {JobName} is unknown: ARM status {ArmStatus}, execution status {Status}, error {ErrorCode} (request {RequestId}, correlation {CorrelationId})")]
    public static partial void StatusUnknown(ILogger logger, string execution, string jobName, int armStatus, string? status, string? errorCode, string? requestId, string? correlationId);

    [LoggerMessage(EventId = 3033, Level = LogLevel.Warning,
        Message = "Run handle {HandleId} of runner {Runner} is not a Container Apps execution; its state is unknown")]
    public static partial void InvalidHandle(ILogger logger, string handleId, string runner);

    [LoggerMessage(EventId = 3034, Level = LogLevel.Warning,
        Message = "The state of execution {Execution} of Container Apps Job {JobName} could not be read")]
    public static partial void StatusReadFailed(ILogger logger, string execution, string jobName, Exception exception);
}
