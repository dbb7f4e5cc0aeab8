using Microsoft.Extensions.Options;

namespace CronFunctions.Runners.ContainerApps;

/// <summary>
/// What data annotations cannot say: https only for ARM, a usable command prefix, and well-formed per-job overrides.
/// </summary>
internal sealed class ContainerAppsOptionsValidator : IValidateOptions<ContainerAppsOptions>
{
    public ValidateOptionsResult Validate(string? name, ContainerAppsOptions options)
    {
        List<string> failures = [];

        var endpoint = options.ResourceManagerEndpoint;
        if (endpoint is not null
            && (!endpoint.IsAbsoluteUri
                || endpoint.Scheme != Uri.UriSchemeHttps
                || !string.IsNullOrEmpty(endpoint.Query)
                || endpoint.AbsolutePath != "/"))
        {
            // The bearer token must never travel in clear text, and the path is ours to build.
            failures.Add("ResourceManagerEndpoint must be an https origin such as https://management.azure.com.");
        }

        if (options.CommandPrefix is { } prefix && prefix.Any(char.IsControl))
        {
            failures.Add("CommandPrefix must not contain control characters.");
        }

        foreach (var (functionName, jobOverride) in options.Jobs)
        {
            if (jobOverride is null)
            {
                continue;
            }

            if (!string.IsNullOrWhiteSpace(jobOverride.ResourceGroup) && !ArmNames.IsResourceGroup(jobOverride.ResourceGroup))
            {
                failures.Add($"Jobs:{functionName}:ResourceGroup is not a valid resource group name.");
            }

            if (!string.IsNullOrWhiteSpace(jobOverride.JobName) && !ArmNames.IsName(jobOverride.JobName))
            {
                failures.Add($"Jobs:{functionName}:JobName is not a valid Container Apps Job name.");
            }

            if (!string.IsNullOrWhiteSpace(jobOverride.ContainerName) && !ArmNames.IsName(jobOverride.ContainerName))
            {
                failures.Add($"Jobs:{functionName}:ContainerName is not a valid container name.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
