using CronFunctions.Jobs;
using CronFunctions.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace CronFunctions.Tests.Endpoints;

/// <summary>
/// A token setting that is an unresolved Key Vault reference (App Service hands the app the reference text when it
/// cannot read the secret — and that text names the vault, which is in the app's public host name) or is too short
/// to be a secret counts as no token: every call is refused, health says why, an error is logged.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class UnusableTokenTests(AzuriteFixture azurite) : IDisposable
{
    private const string Reference = "@Microsoft.KeyVault(VaultName=kv-abc123xyz;SecretName=erify-cron-token)";
    private readonly FakeBackend _backend = new();

    public void Dispose() => _backend.Dispose();

    public static TheoryData<string, string> UnusableTokens => new()
    {
        { Reference, "unresolved" },
        { "@Microsoft.KeyVault(SecretUri=https://kv-abc123xyz.vault.azure.net/secrets/erify-cron-token/)", "unresolved" },
        { "  @microsoft.keyvault(VaultName=kv-abc123xyz;SecretName=erify-cron-token)  ", "unresolved" },
        { "@Microsoft.AppConfiguration(Endpoint=https://x.azconfig.io; Key=erify-cron-token)", "unresolved" },
        { "short-token", "shorter than 32" },
        { new string('a', 31), "shorter than 32" },
        { "  " + new string('b', 31) + "  ", "shorter than 32" },
    };

    [Theory]
    [MemberData(nameof(UnusableTokens))]
    public async Task UnusableToken_CountsAsNoToken_EveryCallRefused_HealthSaysWhy(string configured, string reason)
    {
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName(),
            new Dictionary<string, string?> { ["ERIFY_CRON_TOKEN"] = configured });

        foreach (var authorization in new[] { "Bearer " + configured, "Bearer " + configured.Trim(), "Bearer " + Reference, "Bearer " + TestApp.Token, null })
        {
            var response = await app.PostAsync(JobCatalog.EeRecent, "?force=true", authorization: authorization);
            Assert.Equal(401, response.Status);
        }

        var health = await app.HealthAsync();
        Assert.Equal(503, health.Status);
        var token = health.Body.GetProperty("checks").GetProperty("token");
        Assert.Equal("Unhealthy", token.GetProperty("status").GetString());
        Assert.Contains(reason, token.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Contains("ERIFY_CRON_TOKEN", token.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(configured.Trim(), health.Body.ToString(), StringComparison.Ordinal);

        var logs = app.Logs.GetSnapshot();
        Assert.Contains(logs, r => r.Id.Id == 1101 && r.Level == LogLevel.Error);
        Assert.Contains(logs, r => r.Id.Id == 1100 && r.Level == LogLevel.Error);
        Assert.DoesNotContain(logs, r => (r.Message + r.Exception).Contains(configured.Trim(), StringComparison.Ordinal));
        Assert.Empty(_backend.Calls());
    }

    [Fact]
    public async Task TokenOf32Characters_IsAccepted()
    {
        var token = new string('k', 32);
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName(),
            new Dictionary<string, string?> { ["ERIFY_CRON_TOKEN"] = token });

        var response = await app.PostAsync(JobCatalog.EeRecent, authorization: "Bearer " + token);

        Assert.Equal("started", response.Str("status"));
        Assert.Single(await _backend.WaitForCallsAsync(1));
    }

    [Fact]
    public async Task UnresolvedRotationToken_IsRefused_ThePrimaryStillWorks_AndHealthIsDegraded()
    {
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName(),
            new Dictionary<string, string?> { ["ERIFY_CRON_TOKEN_SECONDARY"] = Reference });

        Assert.Equal(401, (await app.PostAsync(JobCatalog.EeRecent, authorization: "Bearer " + Reference)).Status);
        Assert.Equal("started", (await app.PostAsync(JobCatalog.EeRecent, authorization: "Bearer " + TestApp.Token)).Str("status"));

        var health = await app.HealthAsync();
        Assert.Equal(200, health.Status);
        var token = health.Body.GetProperty("checks").GetProperty("token");
        Assert.Equal("Degraded", token.GetProperty("status").GetString());
        Assert.Contains("ERIFY_CRON_TOKEN_SECONDARY", token.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Id.Id == 1101 && r.Level == LogLevel.Error);
    }
}
