using System.Text.Json.Nodes;
using Azure;
using Azure.Identity;
using CronFunctions.Jobs;
using CronFunctions.Runs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CronFunctions.Runners.ContainerApps;

/// <summary>
/// Runs a job as an execution of an Azure Container Apps Job, started through Azure Resource Manager:
/// read the job's template, override one container's command, start it once, and name the execution.
/// </summary>
/// <remarks>
/// <para>
/// The start request is never repeated. When its outcome is unknown (timeout, dropped connection, 5xx) the runner
/// looks for an execution carrying the run's <c>CRON_RUN_ID</c> and adopts it, or reports a failure.
/// </para>
/// <para>
/// A container run cannot report its own end: its owner (the run supervisor), or any instance that finds its lease
/// free, asks <see cref="ProbeAsync"/> instead, every <see cref="PollInterval"/>.
/// </para>
/// </remarks>
internal sealed class ContainerAppsRunner(
    IOptions<ContainerAppsOptions> options,
    IContainerAppsArmClient arm,
    ILogger<ContainerAppsRunner> logger,
    TimeProvider timeProvider) : IJobRunner
{
    public const string RunnerKind = "containerapp";

    private const int MaxArgumentLength = 1024;
    private const int AdoptionAttempts = 3;

    private static readonly TimeSpan DefaultPollInterval = new ContainerAppsOptions().StatusPollInterval;

    public string Kind => RunnerKind;

    public bool IsRemote => true;

    public TimeSpan PollInterval
    {
        get
        {
            try
            {
                return options.Value.StatusPollInterval;
            }
            catch (OptionsValidationException)
            {
                return DefaultPollInterval; // the settings' own default; ProbeAsync reports what is wrong
            }
        }
    }

    public async Task<RunStart> StartAsync(RunRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        var settings = ReadSettings();
        ValidateArguments(request);
        var target = settings.ResolveTarget(request.Job, out var missing);
        if (target is null)
        {
            ContainerAppsLog.TargetIncomplete(logger, request.Job.Name, missing!);
            throw new RunnerException($"The Container Apps runner has no Container Apps Job for '{request.Job.Name}': set {missing}.");
        }

        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["Job"] = request.Job.Name, ["RunId"] = request.RunId });
        ContainerAppsLog.Starting(logger, target.JobName, target.ResourceGroup, request.Job.Name, request.RunId);

        var template = await ReadTemplateAsync(request, target, cancellationToken).ConfigureAwait(false);
        JsonObject body;
        try
        {
            body = ExecutionTemplate.Build(template, target.ContainerName, settings.CommandPrefixParts, request.Arguments, request.RunId);
        }
        catch (ExecutionTemplateException ex)
        {
            ContainerAppsLog.TemplateUnusable(logger, request.Job.Name, target.JobName, ex.Message);
            throw new RunnerException(ex.Message, 500, ex);
        }

        // From here on the caller's cancellation is not honoured: once the start may have reached Azure, walking
        // away would leave an execution the lock does not know about. Our own timeouts bound the wait instead:
        // the request's, then StartTimeout to follow it, then StartTimeout to look for the execution.
        using var budget = new CancellationTokenSource(settings.NetworkTimeout + settings.StartTimeout * 2 + settings.PollInterval, timeProvider);
        try
        {
            return await StartOnceAsync(request, target, body, settings, budget.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested)
        {
            ContainerAppsLog.ExecutionNotFound(logger, target.JobName, request.Job.Name, request.RunId);
            return new RunStart.Unknown(
                $"Starting Container Apps Job '{target.JobName}' did not complete in time and no execution of this run was found yet.", 502);
        }
    }

    public async Task<RunProbe> ProbeAsync(
        JobDefinition job, string runId, RunHandle? handle, DateTimeOffset attemptedAt, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ContainerAppsOptions settings;
        try
        {
            settings = options.Value;
        }
        catch (OptionsValidationException ex)
        {
            ContainerAppsLog.ConfigurationInvalid(logger, ContainerAppsOptions.SectionName, string.Join(" ", ex.Failures));
            return new RunProbe.Unknown("the Container Apps runner is not configured");
        }

        var young = now - attemptedAt < settings.NotFoundGrace;
        if (handle is not null)
        {
            return await ProbeExecutionAsync(handle, young, cancellationToken).ConfigureAwait(false);
        }

        // The start's answer was never seen: the execution, if any, carries our run id.
        if (settings.ResolveTarget(job, out _) is not { } target)
        {
            return new RunProbe.Unknown("no Container Apps Job is configured for the job");
        }

        var (executions, listed) = await ListExecutionsAsync(runId, target, settings, cancellationToken).ConfigureAwait(false);

        // Complete enough to prove an absence: every page read, and every execution that could be ours (started after
        // the attempt, give or take the clocks) showing its environment, so its run id.
        var complete = listed && executions.All(e =>
            ExecutionTemplate.ShowsEnvironment(e["properties"]?["template"])
            || (ExecutionMatcher.StartOf(e) is { } started && started < attemptedAt - ExecutionMatcher.ClockSkew));
        if (ExecutionMatcher.FindOwn(executions, runId, attemptedAt) is { MatchedBy: ExecutionTemplate.RunIdVariable } own)
        {
            var found = Handle(target, own.Name);
            ContainerAppsLog.ExecutionAdopted(logger, job.Name, runId, own.Name, own.Status, target.JobName, own.MatchedBy);
            return IsFinalStatus(own.Status) ? new RunProbe.Ended(found, Canonical(own.Status!)) : new RunProbe.Alive(found);
        }

        // Absence is proved only by a complete listing, long enough after the attempt for ARM to list its execution.
        return complete && !young
            ? new RunProbe.Absent()
            : new RunProbe.Unknown(complete ? "the start is too recent to be sure it did not happen" : "the executions could not be listed");
    }

    public async Task<bool> StopAsync(RunHandle handle, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (!ArmNames.TryParseExecutionPath(handle.Id, out var job, out var execution))
        {
            ContainerAppsLog.InvalidHandle(logger, handle.Id, handle.Runner);
            return false;
        }

        try
        {
            var response = await arm.StopExecutionAsync(job, execution, cancellationToken).ConfigureAwait(false);
            ContainerAppsLog.ExecutionStopRequested(logger, execution, job.JobName, response.Status, response.ErrorCode, response.RequestId);

            // 404: gone already; 409: not running any more. Either way nothing is left to stop.
            return response.IsSuccess || response.Status is 404 or 409;
        }
        catch (AuthenticationFailedException ex)
        {
            ContainerAppsLog.CredentialFailed(logger, ex.GetType().Name);
            return false;
        }
        catch (Exception ex) when (IsTransportFailure(ex))
        {
            ContainerAppsLog.StatusReadFailed(logger, execution, job.JobName, ex);
            return false;
        }
    }

    private async Task<RunProbe> ProbeExecutionAsync(RunHandle handle, bool young, CancellationToken cancellationToken)
    {
        if (handle.Runner != Kind || !ArmNames.TryParseExecutionPath(handle.Id, out var job, out var execution))
        {
            ContainerAppsLog.InvalidHandle(logger, handle.Id, handle.Runner);
            return new RunProbe.Unknown("the run's handle is not a Container Apps execution");
        }

        ArmResponse response;
        try
        {
            response = await arm.GetExecutionAsync(job, execution, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (AuthenticationFailedException ex)
        {
            ContainerAppsLog.CredentialFailed(logger, ex.GetType().Name);
            return new RunProbe.Unknown("no token for Azure Resource Manager");
        }
        catch (Exception ex) when (IsTransportFailure(ex))
        {
            ContainerAppsLog.StatusReadFailed(logger, execution, job.JobName, ex);
            return new RunProbe.Unknown("Azure Resource Manager could not be reached");
        }

        if (response.Status == 404)
        {
            // ARM may not list an execution it accepted a moment ago: "not found" only counts once the run is old.
            ContainerAppsLog.ExecutionGone(logger, execution, job.JobName, response.RequestId);
            return young ? new RunProbe.Unknown("the execution is not listed yet") : new RunProbe.Ended(handle, "NotFound");
        }

        var status = response.IsSuccess ? ExecutionMatcher.StatusOf(response.Body) : null;
        if (ExecutionMatcher.IsRunning(status))
        {
            ContainerAppsLog.ExecutionStatus(logger, execution, job.JobName, status!);
            return new RunProbe.Alive(handle);
        }

        if (IsFinalStatus(status))
        {
            ContainerAppsLog.ExecutionStatus(logger, execution, job.JobName, status!);
            return new RunProbe.Ended(handle, Canonical(status!));
        }

        // "Unknown", an unexpected value, or an error: never claim an end we did not see.
        ContainerAppsLog.StatusUnknown(logger, execution, job.JobName, response.Status, status, response.ErrorCode, response.RequestId, response.CorrelationRequestId);
        return new RunProbe.Unknown($"ARM answered {response.Status} with execution status {status ?? "none"}");
    }

    private static bool IsFinalStatus(string? status) =>
        status?.ToUpperInvariant() is "SUCCEEDED" or "FAILED" or "STOPPED" or "DEGRADED";

    private async Task<RunStart> StartOnceAsync(
        RunRequest request, ContainerAppsJobTarget target, JsonObject body, ContainerAppsOptions settings, CancellationToken cancellationToken)
    {
        var attemptedAt = timeProvider.GetUtcNow();
        ArmResponse response;
        try
        {
            response = await arm.StartAsync(target, body, cancellationToken).ConfigureAwait(false);
        }
        catch (AuthenticationFailedException ex)
        {
            // The token comes before the request: nothing was sent.
            throw CredentialFailure(ex);
        }
        catch (Exception ex) when (IsTransportFailure(ex))
        {
            ContainerAppsLog.StartAmbiguous(logger, target.JobName, request.Job.Name, request.RunId, Describe(ex), 0, null, null, ex);
            return await AdoptOrUnknownAsync(request, target, attemptedAt, settings, failureStatus: 502, cancellationToken).ConfigureAwait(false);
        }

        switch (response.Status)
        {
            case 200 or 201:
                if (ExecutionMatcher.ExecutionName(response.Body) is { } name)
                {
                    return Started(request, target, name, response);
                }

                ContainerAppsLog.StartNotFollowed(logger, target.JobName, request.RunId, "the response names no execution", response.Status, response.RequestId);
                return await AdoptOrUnknownAsync(request, target, attemptedAt, settings, failureStatus: 502, cancellationToken).ConfigureAwait(false);

            case 202:
                var deadline = timeProvider.GetUtcNow() + settings.StartTimeout;
                if (await FollowStartAsync(request, target, response, settings, deadline, cancellationToken).ConfigureAwait(false) is { } followed)
                {
                    return Started(request, target, followed, response);
                }

                return await AdoptOrUnknownAsync(request, target, attemptedAt, settings, failureStatus: 502, cancellationToken).ConfigureAwait(false);

            case 408 or >= 500:
                ContainerAppsLog.StartAmbiguous(logger, target.JobName, request.Job.Name, request.RunId, "ARM failed", response.Status, response.RequestId, response.CorrelationRequestId, null);
                return await AdoptOrUnknownAsync(
                    request, target, attemptedAt, settings, failureStatus: response.Status == 503 ? 503 : 502, cancellationToken).ConfigureAwait(false);

            default:
                ContainerAppsLog.StartRefused(logger, target.JobName, request.Job.Name, request.RunId, response.Status,
                    response.ErrorCode, response.ErrorMessage, response.RequestId, response.CorrelationRequestId);
                throw Refusal(response, target.JobName, starting: true);
        }
    }

    private ContainerAppsOptions ReadSettings()
    {
        try
        {
            return options.Value;
        }
        catch (OptionsValidationException ex)
        {
            var failures = string.Join(" ", ex.Failures);
            ContainerAppsLog.ConfigurationInvalid(logger, ContainerAppsOptions.SectionName, failures);
            throw new RunnerException($"The Container Apps runner is not configured ({ContainerAppsOptions.SectionName}): {failures}", 500, ex);
        }
    }

    /// <summary>
    /// The arguments come from the job catalog and a validated number, and go into a JSON array that ARM hands to
    /// the container as argv (no shell anywhere); this only makes sure nothing odd slipped through.
    /// </summary>
    private void ValidateArguments(RunRequest request)
    {
        if (!IsPlain(request.RunId, 128))
        {
            ContainerAppsLog.InvalidArgument(logger, request.Job.Name, "(invalid)", -1);
            throw new RunnerException("The run id is not a plain string.");
        }

        for (var i = 0; i < request.Arguments.Count; i++)
        {
            if (!IsPlain(request.Arguments[i], MaxArgumentLength))
            {
                ContainerAppsLog.InvalidArgument(logger, request.Job.Name, request.RunId, i);
                throw new RunnerException($"Argument {i} of job '{request.Job.Name}' is not a plain string.");
            }
        }

        static bool IsPlain(string? value, int maxLength) =>
            !string.IsNullOrEmpty(value) && value.Length <= maxLength && !value.Any(char.IsControl);
    }

    private async Task<JsonNode?> ReadTemplateAsync(RunRequest request, ContainerAppsJobTarget target, CancellationToken cancellationToken)
    {
        ArmResponse response;
        try
        {
            response = await arm.GetJobAsync(target, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (AuthenticationFailedException ex)
        {
            throw CredentialFailure(ex);
        }
        catch (Exception ex) when (IsTransportFailure(ex))
        {
            ContainerAppsLog.ArmUnreachable(logger, "read", target.JobName, request.Job.Name, ex);
            throw new RunnerException("Azure Resource Manager could not be reached.", 502, ex);
        }

        if (!response.IsSuccess)
        {
            ContainerAppsLog.ReadJobFailed(logger, target.JobName, request.Job.Name, response.Status, response.ErrorCode, response.ErrorMessage, response.RequestId, response.CorrelationRequestId);
            throw Refusal(response, target.JobName, starting: false);
        }

        return response.Body?["properties"]?["template"];
    }

    /// <summary>
    /// Follows an accepted (202) start to the execution it created: <c>Location</c> (whose final answer names the
    /// execution) or else <c>Azure-AsyncOperation</c> (whose answer only says whether it worked). Polls only the
    /// ARM endpoint itself, honours <c>Retry-After</c>, and gives up at <paramref name="deadline"/>.
    /// </summary>
    /// <returns>The execution name, or null when it could not be learnt this way.</returns>
    private async Task<string?> FollowStartAsync(
        RunRequest request,
        ContainerAppsJobTarget target,
        ArmResponse accepted,
        ContainerAppsOptions settings,
        DateTimeOffset deadline,
        CancellationToken cancellationToken)
    {
        var isAsyncOperation = accepted.Location is null;
        if (!TryOperationUrl(accepted.Location ?? accepted.AzureAsyncOperation, settings, out var url))
        {
            ContainerAppsLog.StartNotFollowed(logger, target.JobName, request.RunId, "no operation URL on the Resource Manager endpoint", accepted.Status, accepted.RequestId);
            return null;
        }

        var retryAfter = accepted.RetryAfter;
        while (true)
        {
            var wait = retryAfter ?? settings.PollInterval;
            if (timeProvider.GetUtcNow() + wait > deadline)
            {
                ContainerAppsLog.StartNotFollowed(logger, target.JobName, request.RunId, "the start did not complete in time", accepted.Status, accepted.RequestId);
                return null;
            }

            await Task.Delay(wait, timeProvider, cancellationToken).ConfigureAwait(false);

            ArmResponse poll;
            try
            {
                poll = await arm.GetUrlAsync(url, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsTransportFailure(ex) || ex is AuthenticationFailedException)
            {
                ContainerAppsLog.StartNotFollowed(logger, target.JobName, request.RunId, Describe(ex), 0, null, ex is AuthenticationFailedException ? null : ex);
                return null;
            }

            if (poll.Status == 202 || (isAsyncOperation && poll.IsSuccess && !IsFinal(ReadString(poll.Body?["status"]))))
            {
                retryAfter = poll.RetryAfter;
                if (!isAsyncOperation && TryOperationUrl(poll.Location, settings, out var next))
                {
                    url = next;
                }

                continue;
            }

            if (!poll.IsSuccess)
            {
                ContainerAppsLog.StartNotFollowed(logger, target.JobName, request.RunId, "the operation answered an error", poll.Status, poll.RequestId);
                return null;
            }

            if (!isAsyncOperation)
            {
                var name = ExecutionMatcher.ExecutionName(poll.Body);
                if (name is null)
                {
                    ContainerAppsLog.StartNotFollowed(logger, target.JobName, request.RunId, "the result names no execution", poll.Status, poll.RequestId);
                }

                return name;
            }

            // An async operation's own name is the operation's, not the execution's: find the execution by run id.
            var operationStatus = ReadString(poll.Body?["status"])!;
            if (!string.Equals(operationStatus, "Succeeded", StringComparison.OrdinalIgnoreCase))
            {
                var code = ReadString(poll.Body?["error"]?["code"]);
                ContainerAppsLog.StartOperationFailed(logger, target.JobName, request.RunId, operationStatus, code, poll.RequestId);
                throw new RunnerException($"Azure could not start Container Apps Job '{target.JobName}' ({SafeCode(code) ?? operationStatus}).", 502);
            }

            return null;
        }

        static bool IsFinal(string? status) =>
            status is not null
            && (status.Equals("Succeeded", StringComparison.OrdinalIgnoreCase)
                || status.Equals("Failed", StringComparison.OrdinalIgnoreCase)
                || status.Equals("Canceled", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// After a start whose outcome was not seen: list the job's executions (a few times, as a new execution may take
    /// a moment to be listed) and adopt ours, or fail. Never starts again.
    /// </summary>
    private async Task<RunStart> AdoptOrUnknownAsync(
        RunRequest request,
        ContainerAppsJobTarget target,
        DateTimeOffset attemptedAt,
        ContainerAppsOptions settings,
        int failureStatus,
        CancellationToken cancellationToken)
    {
        var deadline = timeProvider.GetUtcNow() + settings.StartTimeout;
        for (var attempt = 0; attempt < AdoptionAttempts; attempt++)
        {
            if (attempt > 0)
            {
                if (timeProvider.GetUtcNow() + settings.PollInterval > deadline)
                {
                    break;
                }

                await Task.Delay(settings.PollInterval, timeProvider, cancellationToken).ConfigureAwait(false);
            }

            var (executions, _) = await ListExecutionsAsync(request.RunId, target, settings, cancellationToken).ConfigureAwait(false);
            if (ExecutionMatcher.FindOwn(executions, request.RunId, attemptedAt) is { } own)
            {
                ContainerAppsLog.ExecutionAdopted(logger, request.Job.Name, request.RunId, own.Name, own.Status, target.JobName, own.MatchedBy);
                return new RunStart.Started(Handle(target, own.Name));
            }
        }

        // Unknown is a state, not an error: the lock stays held until Azure shows the execution or proves it absent.
        ContainerAppsLog.ExecutionNotFound(logger, target.JobName, request.Job.Name, request.RunId);
        return new RunStart.Unknown(
            $"Starting Container Apps Job '{target.JobName}' did not complete and no execution of this run was found yet; the job stays locked until Azure shows whether it started.",
            failureStatus);
    }

    /// <summary>
    /// The job's executions, a few pages at most, and whether the listing is complete enough to prove an absence: every
    /// page read, and every execution recent enough to be ours showing its environment (so its run id).
    /// </summary>
    private async Task<(List<JsonObject> Executions, bool Complete)> ListExecutionsAsync(
        string runId, ContainerAppsJobTarget target, ContainerAppsOptions settings, CancellationToken cancellationToken)
    {
        const int MaxPages = 5;
        List<JsonObject> executions = [];
        Uri? next = null;
        for (var page = 0; page < MaxPages; page++)
        {
            ArmResponse response;
            try
            {
                response = next is null
                    ? await arm.ListExecutionsAsync(target, cancellationToken).ConfigureAwait(false)
                    : await arm.GetUrlAsync(next, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsTransportFailure(ex) || ex is AuthenticationFailedException)
            {
                ContainerAppsLog.StartNotFollowed(logger, target.JobName, runId, "listing executions failed: " + Describe(ex), 0, null, null);
                return (executions, false);
            }

            if (!response.IsSuccess)
            {
                ContainerAppsLog.StartNotFollowed(logger, target.JobName, runId, "listing executions failed", response.Status, response.RequestId);
                return (executions, false);
            }

            if (response.Body?["value"] is JsonArray value)
            {
                executions.AddRange(value.OfType<JsonObject>());
            }

            if (!TryOperationUrl(ReadString(response.Body?["nextLink"]), settings, out next))
            {
                return (executions, ReadString(response.Body?["nextLink"]) is null);
            }
        }

        return (executions, false); // more pages than we read
    }

    private RunStart.Started Started(RunRequest request, ContainerAppsJobTarget target, string execution, ArmResponse response)
    {
        ContainerAppsLog.Started(logger, request.Job.Name, request.RunId, execution, target.JobName, response.Status, response.RequestId);
        return new RunStart.Started(Handle(target, execution));
    }

    private static RunHandle Handle(ContainerAppsJobTarget target, string execution) =>
        new(Runner: RunnerKind, Id: ArmNames.ExecutionPath(target, execution), Execution: execution);

    private RunnerException CredentialFailure(AuthenticationFailedException ex)
    {
        // The type only: the message can quote what the token endpoint answered.
        ContainerAppsLog.CredentialFailed(logger, ex.GetType().Name);
        return new RunnerException("The function app could not get a token for Azure Resource Manager.", 500);
    }

    /// <summary>The caller-safe failure for an ARM error answer (neither a timeout nor a 5xx after a start).</summary>
    private static RunnerException Refusal(ArmResponse response, string jobName, bool starting)
    {
        var code = SafeCode(response.ErrorCode);
        return response.Status switch
        {
            401 or 403 => new RunnerException(
                $"The function app's identity is not allowed to {(starting ? "start" : "read")} the Container Apps Job '{jobName}'.", 500),
            404 => new RunnerException($"Container Apps Job '{jobName}' not found.", 500),
            400 => new RunnerException($"Azure rejected the start request for Container Apps Job '{jobName}' ({code ?? "BadRequest"}).", 500),
            409 => new RunnerException($"Container Apps Job '{jobName}' cannot start now ({code ?? "Conflict"}).", 502),
            429 => new RunnerException("Azure Resource Manager is throttling requests; try again later.", 503),
            503 => new RunnerException("Azure Resource Manager is unavailable; try again later.", 503),
            >= 500 => new RunnerException($"Azure Resource Manager failed (HTTP {response.Status}).", 502),
            _ => new RunnerException($"Azure Resource Manager answered HTTP {response.Status} ({code ?? "no error code"}).", 502),
        };
    }

    /// <summary>An ARM error code fit for a caller: a short identifier, or nothing.</summary>
    private static string? SafeCode(string? code) =>
        code is { Length: > 0 and <= 64 } && code.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_') ? code : null;

    private static bool TryOperationUrl(string? value, ContainerAppsOptions settings, out Uri url)
    {
        url = null!;
        if (!Uri.TryCreate(value, UriKind.Absolute, out var parsed)
            || !ArmContainerAppsClient.IsResourceManagerUrl(parsed, settings.ResourceManagerEndpoint))
        {
            return false;
        }

        url = parsed;
        return true;
    }

    /// <summary>
    /// Failures after which a request may or may not have been processed: no response, or a timeout. A read whose
    /// retries all failed so arrives as an <see cref="AggregateException"/> of them.
    /// </summary>
    private static bool IsTransportFailure(Exception ex) => ex switch
    {
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsTransportFailure),
        RequestFailedException { Status: 0 } or IOException or HttpRequestException or TimeoutException or OperationCanceledException => true,
        _ => false,
    };

    private static string Describe(Exception ex) => ex switch
    {
        AggregateException aggregate when aggregate.InnerExceptions.Count > 0 => Describe(aggregate.InnerExceptions[^1]),
        OperationCanceledException or TimeoutException => "timed out",
        AuthenticationFailedException => "no token",
        _ => "connection failed",
    };

    private static string Canonical(string status) =>
        char.ToUpperInvariant(status[0]) + status[1..].ToLowerInvariant();

    private static string? ReadString(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
}
