using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;

namespace CronFunctions.Storage;

/// <summary>
/// Builds the <see cref="BlobServiceClient"/> for the locks from the same <c>AzureWebJobsStorage</c> setting the
/// Functions host uses: a connection string locally (Azurite: <c>UseDevelopmentStorage=true</c>), or in Azure the
/// identity-based form <c>AzureWebJobsStorage__blobServiceUri</c> (or <c>__accountName</c>) with
/// <c>__credential=managedidentity</c> and <c>__clientId</c> for a user-assigned identity. No account keys.
/// </summary>
internal static class BlobServiceClientFactory
{
    public const string Setting = "AzureWebJobsStorage";

    public static BlobServiceClient Create(IConfiguration configuration, BlobClientOptions options)
    {
        var section = configuration.GetSection(Setting);
        if (!string.IsNullOrWhiteSpace(section.Value))
        {
            return new BlobServiceClient(section.Value, options);
        }

        var serviceUri = section["blobServiceUri"] ?? section["serviceUri"];
        if (string.IsNullOrWhiteSpace(serviceUri) && section["accountName"] is { Length: > 0 } account)
        {
            serviceUri = $"https://{account}.blob.core.windows.net";
        }

        if (string.IsNullOrWhiteSpace(serviceUri))
        {
            throw new InvalidOperationException(
                $"Storage is not configured: set {Setting} (a connection string) or {Setting}__blobServiceUri with a managed identity.");
        }

        return new BlobServiceClient(new Uri(serviceUri), CreateCredential(section), options);
    }

    internal static TokenCredential CreateCredential(IConfigurationSection section)
    {
        var clientId = section["clientId"];
        if (string.Equals(section["credential"], "managedidentity", StringComparison.OrdinalIgnoreCase))
        {
            return string.IsNullOrWhiteSpace(clientId)
                ? new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned)
                : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
        }

        return new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId });
    }
}
