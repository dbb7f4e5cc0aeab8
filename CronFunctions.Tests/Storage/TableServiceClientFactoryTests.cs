using Azure.Data.Tables;
using CronFunctions.Storage;
using Microsoft.Extensions.Configuration;

namespace CronFunctions.Tests.Storage;

/// <summary>The run history's table client from the same settings as the lock store's: identity in Azure, a connection string locally.</summary>
public sealed class TableServiceClientFactoryTests
{
    private static TableServiceClient Create(Dictionary<string, string?> settings) =>
        TableServiceClientFactory.Create(new ConfigurationBuilder().AddInMemoryCollection(settings).Build(), new TableClientOptions());

    [Fact]
    public void IdentityBased_TableServiceUriWithAUserAssignedIdentity_IsUsed()
    {
        var client = Create(new()
        {
            ["AzureWebJobsStorage:blobServiceUri"] = "https://stcron.blob.core.windows.net/",
            ["AzureWebJobsStorage:tableServiceUri"] = "https://stcron.table.core.windows.net/",
            ["AzureWebJobsStorage:credential"] = "managedidentity",
            ["AzureWebJobsStorage:clientId"] = "11111111-1111-1111-1111-111111111111",
        });

        Assert.Equal(new Uri("https://stcron.table.core.windows.net/"), client.Uri);
        Assert.Equal("stcron", client.AccountName);
    }

    [Fact]
    public void IdentityBased_AccountName_MapsToItsTableEndpoint()
    {
        var client = Create(new() { ["AzureWebJobsStorage:accountName"] = "stcron" });

        Assert.Equal(new Uri("https://stcron.table.core.windows.net"), client.Uri);
    }

    [Fact]
    public void ConnectionString_ForAzurite_IsUsed()
    {
        var client = Create(new() { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true" });

        Assert.Equal("devstoreaccount1", client.AccountName);
        Assert.Equal(10002, client.Uri.Port);
    }

    [Fact]
    public void OnlyABlobEndpoint_FailsWithAMessageNamingTheTableSetting()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Create(new() { ["AzureWebJobsStorage:blobServiceUri"] = "https://stcron.blob.core.windows.net/" }));

        Assert.Contains("AzureWebJobsStorage__tableServiceUri", error.Message, StringComparison.Ordinal);
    }
}
