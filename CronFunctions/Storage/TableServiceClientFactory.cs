using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;

namespace CronFunctions.Storage;

/// <summary>
/// Builds the <see cref="TableServiceClient"/> for the run history from the same <c>AzureWebJobsStorage</c> setting as
/// <see cref="BlobServiceClientFactory"/>: a connection string locally (Azurite's table endpoint, 10002 by default), or
/// in Azure <c>AzureWebJobsStorage__tableServiceUri</c> (or <c>__accountName</c>) with the same identity settings
/// (<c>__credential=managedidentity</c>, <c>__clientId</c>). No account keys.
/// </summary>
internal static class TableServiceClientFactory
{
    public static TableServiceClient Create(IConfiguration configuration, TableClientOptions options)
    {
        var section = configuration.GetSection(BlobServiceClientFactory.Setting);
        if (!string.IsNullOrWhiteSpace(section.Value))
        {
            return new TableServiceClient(section.Value, options);
        }

        var serviceUri = section["tableServiceUri"];
        if (string.IsNullOrWhiteSpace(serviceUri) && section["accountName"] is { Length: > 0 } account)
        {
            serviceUri = $"https://{account}.table.core.windows.net";
        }

        if (string.IsNullOrWhiteSpace(serviceUri))
        {
            throw new InvalidOperationException(
                $"Table storage is not configured: set {BlobServiceClientFactory.Setting} (a connection string) or " +
                $"{BlobServiceClientFactory.Setting}__tableServiceUri (or __accountName) with a managed identity.");
        }

        return new TableServiceClient(new Uri(serviceUri), BlobServiceClientFactory.CreateCredential(section), options);
    }
}
