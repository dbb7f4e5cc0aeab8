using Azure.Storage.Blobs;
using CronFunctions.Storage;
using Microsoft.Extensions.Configuration;

namespace CronFunctions.Tests.Storage;

/// <summary>The lock store's client from the same settings the Functions host reads: identity in Azure, a connection string locally.</summary>
public sealed class BlobServiceClientFactoryTests
{
    private static BlobServiceClient Create(Dictionary<string, string?> settings) =>
        BlobServiceClientFactory.Create(new ConfigurationBuilder().AddInMemoryCollection(settings).Build(), new BlobClientOptions());

    [Fact]
    public void IdentityBased_BlobServiceUriWithAUserAssignedIdentity_IsUsed()
    {
        var client = Create(new()
        {
            ["AzureWebJobsStorage:blobServiceUri"] = "https://stcron.blob.core.windows.net/",
            ["AzureWebJobsStorage:credential"] = "managedidentity",
            ["AzureWebJobsStorage:clientId"] = "11111111-1111-1111-1111-111111111111",
        });

        Assert.Equal(new Uri("https://stcron.blob.core.windows.net/"), client.Uri);
        Assert.False(client.CanGenerateAccountSasUri); // no key: a token credential
    }

    [Fact]
    public void IdentityBased_AccountName_MapsToItsBlobEndpoint()
    {
        var client = Create(new() { ["AzureWebJobsStorage:accountName"] = "stcron" });

        Assert.Equal(new Uri("https://stcron.blob.core.windows.net"), client.Uri);
        Assert.False(client.CanGenerateAccountSasUri);
    }

    [Fact]
    public void ConnectionString_ForAzurite_IsUsed()
    {
        var client = Create(new() { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true" });

        Assert.Equal("devstoreaccount1", client.AccountName);
        Assert.Equal(10000, client.Uri.Port);
    }

    [Fact]
    public void NothingConfigured_FailsWithAMessageNamingTheSettings()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Create(new()));

        Assert.Contains("AzureWebJobsStorage__blobServiceUri", error.Message, StringComparison.Ordinal);
    }
}
