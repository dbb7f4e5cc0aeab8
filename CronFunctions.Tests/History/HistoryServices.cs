using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Identity;
using CronFunctions.History;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace CronFunctions.Tests.History;

/// <summary>
/// The app's services (as <c>AddCronFunctions</c> registers them) for the run history alone: its own table, a fake
/// clock if given, captured logs, a storage request counter, and optionally a table client that replaces the one the
/// settings would make (to play an identity that cannot get a token).
/// </summary>
internal sealed class HistoryServices : IAsyncDisposable
{
    public const string Token = "history-test-token-0123456789-abcdefgh";

    private readonly ServiceProvider _services;

    public HistoryServices(string connectionString, int tablePort, TimeProvider? time = null, IDictionary<string, string?>? settings = null, TableServiceClient? tableClient = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = connectionString,
            ["ERIFY_CRON_TOKEN"] = Token,
            ["Cron:Runs:TableName"] = "h" + Guid.NewGuid().ToString("N")[..20],
            ["Cron:Lock:ContainerName"] = "h" + Guid.NewGuid().ToString("N")[..20],
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        Requests = new StorageRequests(tablePort);
        var collection = new ServiceCollection();
        collection.AddSingleton<IConfiguration>(configuration);
        collection.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace));
        collection.AddFakeLogging();
        if (time is not null)
        {
            collection.AddSingleton(time);
        }

        collection.AddKeyedSingleton<HttpPipelinePolicy>(CronFunctionsRegistration.StoragePolicyKey, Requests);
        collection.AddCronFunctions(configuration);
        if (tableClient is not null)
        {
            collection.AddSingleton(tableClient); // registered last: replaces the one from the settings
        }

        _services = collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        TableName = values["Cron:Runs:TableName"]!;
    }

    public string TableName { get; }

    public StorageRequests Requests { get; }

    public IServiceProvider Services => _services;

    public RunHistory History => _services.GetRequiredService<RunHistory>();

    public RunHistoryWriter Writer => _services.GetRequiredService<RunHistoryWriter>();

    public PendingRecords Pending => _services.GetRequiredService<PendingRecords>();

    public FakeLogCollector Logs => _services.GetFakeLogCollector();

    /// <summary>A table client whose identity can never get a token (no request leaves the machine: it fails first).</summary>
    public static TableServiceClient WithoutAToken(StorageRequests? requests = null)
    {
        var options = new TableClientOptions { Retry = { MaxRetries = 0 } };
        if (requests is not null)
        {
            options.AddPolicy(requests, HttpPipelinePosition.PerCall);
        }

        return new TableServiceClient(new Uri("https://127.0.0.1:1/devstoreaccount1"), new NoTokenCredential(), options);
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    private sealed class NoTokenCredential : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            throw new AuthenticationFailedException("ManagedIdentityCredential authentication failed: the identity endpoint is unreachable (test).");

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            throw new AuthenticationFailedException("ManagedIdentityCredential authentication failed: the identity endpoint is unreachable (test).");
    }
}
