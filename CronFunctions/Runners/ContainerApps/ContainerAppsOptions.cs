using System.ComponentModel.DataAnnotations;
using CronFunctions.Jobs;

namespace CronFunctions.Runners.ContainerApps;

/// <summary>
/// Settings of the Container Apps Job runner, bound from <c>Cron:ContainerApps</c>
/// (app settings <c>Cron__ContainerApps__JobName</c> and so on).
/// </summary>
/// <remarks>
/// Validated when a job first uses this runner, not at start-up: a developer running <c>func start</c> with the
/// local process runner has no Azure settings at all and must not be stopped by them.
/// </remarks>
internal sealed class ContainerAppsOptions
{
    public const string SectionName = "Cron:ContainerApps";

    /// <summary>A stable Microsoft.App API version that has jobs get/start and executions list/get.</summary>
    public const string DefaultApiVersion = "2025-01-01";

    public const string DefaultCommandPrefix = "python manage.py";

    public const string DefaultTokenScope = "https://management.azure.com/.default";

    /// <summary>The subscription that holds the Container Apps Job (a GUID).</summary>
    [Required(ErrorMessage = "SubscriptionId is required.")]
    [RegularExpression(ArmNames.GuidPattern, ErrorMessage = "SubscriptionId must be a subscription GUID.")]
    public string? SubscriptionId { get; set; }

    /// <summary>The job's resource group; a job may override it under <see cref="Jobs"/>.</summary>
    [RegularExpression(ArmNames.ResourceGroupPattern, ErrorMessage = "ResourceGroup is not a valid resource group name.")]
    public string? ResourceGroup { get; set; }

    /// <summary>The Container Apps Job to start; a job may override it under <see cref="Jobs"/>.</summary>
    [RegularExpression(ArmNames.NamePattern, ErrorMessage = "JobName is not a valid Container Apps Job name.")]
    public string? JobName { get; set; }

    /// <summary>
    /// The container whose command is overridden. Empty: the template's only container (an error when it has several).
    /// </summary>
    [RegularExpression(ArmNames.NamePattern, ErrorMessage = "ContainerName is not a valid container name.")]
    public string? ContainerName { get; set; }

    /// <summary>
    /// Split on whitespace into the container's <c>command</c>; the job's arguments become its <c>args</c>.
    /// Empty: the template's command (the image entrypoint) is kept and only <c>args</c> is set.
    /// </summary>
    public string? CommandPrefix { get; set; } = DefaultCommandPrefix;

    [Required(ErrorMessage = "ApiVersion is required.")]
    [RegularExpression(@"^\d{4}-\d{2}-\d{2}(-preview)?$", ErrorMessage = "ApiVersion must look like 2025-01-01.")]
    public string ApiVersion { get; set; } = DefaultApiVersion;

    /// <summary>Client id of a user-assigned managed identity. Empty: <c>DefaultAzureCredential</c>.</summary>
    [RegularExpression(ArmNames.GuidPattern, ErrorMessage = "ManagedIdentityClientId must be a client id GUID.")]
    public string? ManagedIdentityClientId { get; set; }

    /// <summary>Azure Resource Manager. Must be https: the bearer token is never sent in clear text.</summary>
    [Required(ErrorMessage = "ResourceManagerEndpoint is required.")]
    public Uri ResourceManagerEndpoint { get; set; } = new("https://management.azure.com");

    /// <summary>The token scope for <see cref="ResourceManagerEndpoint"/>.</summary>
    [Required(ErrorMessage = "TokenScope is required.")]
    public string TokenScope { get; set; } = DefaultTokenScope;

    /// <summary>How long one request to ARM may take (the start request included).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:02:00", ErrorMessage = "NetworkTimeout must be between 1 second and 2 minutes.")]
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long, after the start request, the runner may spend learning the execution's name: following an accepted
    /// (202) start, or looking for the execution after an ambiguous failure.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:02:00", ErrorMessage = "StartTimeout must be between 1 second and 2 minutes.")]
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The wait between polls when ARM sends no <c>Retry-After</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:30", ErrorMessage = "PollInterval must be between 10 ms and 30 seconds.")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long after a start ARM's "not found" is not yet believed (it may take a moment to list an execution it
    /// accepted): until then an execution that cannot be found is neither alive nor proved absent.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00", ErrorMessage = "NotFoundGrace must be between 0 and 1 hour.")]
    public TimeSpan NotFoundGrace { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often the instance that owns a remote run asks ARM whether it is still running.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "StatusPollInterval must be between 1 second and 10 minutes.")]
    public TimeSpan StatusPollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries for reads (GET). The start request is never retried.</summary>
    [Range(0, 10, ErrorMessage = "MaxReadRetries must be between 0 and 10.")]
    public int MaxReadRetries { get; set; } = 3;

    /// <summary>The first delay between read retries (exponential after that).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:30", ErrorMessage = "RetryDelay must be between 10 ms and 30 seconds.")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(0.8);

    /// <summary>
    /// Per-job overrides keyed by <see cref="JobDefinition.FunctionName"/> (<c>MopRecent</c>), since app setting
    /// names cannot hold the hyphen of <c>mop-recent</c>.
    /// </summary>
    public Dictionary<string, ContainerAppsJobOverride> Jobs { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The command prefix as the container's <c>command</c>; empty when the template's command is kept.</summary>
    public IReadOnlyList<string> CommandPrefixParts =>
        (CommandPrefix ?? string.Empty).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>
    /// Where <paramref name="job"/> runs: the global settings with the job's overrides applied, or the names of the
    /// settings that are missing.
    /// </summary>
    public ContainerAppsJobTarget? ResolveTarget(JobDefinition job, out string? missing)
    {
        Jobs.TryGetValue(job.FunctionName, out var jobOverride);
        var resourceGroup = FirstSet(jobOverride?.ResourceGroup, ResourceGroup);
        var jobName = FirstSet(jobOverride?.JobName, JobName);
        var containerName = FirstSet(jobOverride?.ContainerName, ContainerName);

        List<string> absent = [];
        if (string.IsNullOrWhiteSpace(SubscriptionId))
        {
            absent.Add("SubscriptionId");
        }

        if (resourceGroup is null)
        {
            absent.Add($"ResourceGroup (or Jobs:{job.FunctionName}:ResourceGroup)");
        }

        if (jobName is null)
        {
            absent.Add($"JobName (or Jobs:{job.FunctionName}:JobName)");
        }

        if (absent.Count > 0)
        {
            missing = string.Join(", ", absent);
            return null;
        }

        missing = null;
        return new ContainerAppsJobTarget(SubscriptionId!, resourceGroup!, jobName!, containerName);
    }

    private static string? FirstSet(string? first, string? second) =>
        !string.IsNullOrWhiteSpace(first) ? first : !string.IsNullOrWhiteSpace(second) ? second : null;
}

/// <summary>What one job (by function name) may change: which Container Apps Job, container and resource group.</summary>
internal sealed class ContainerAppsJobOverride
{
    public string? ResourceGroup { get; set; }

    public string? JobName { get; set; }

    public string? ContainerName { get; set; }
}

/// <summary>A Container Apps Job as ARM addresses it, plus the container to override (null: the only one).</summary>
internal sealed record ContainerAppsJobTarget(string SubscriptionId, string ResourceGroup, string JobName, string? ContainerName)
{
    public string ResourcePath =>
        $"/subscriptions/{SubscriptionId}/resourceGroups/{ResourceGroup}/providers/Microsoft.App/jobs/{JobName}";
}
