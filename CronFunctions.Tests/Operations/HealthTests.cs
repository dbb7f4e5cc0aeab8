using CronFunctions.Tests.Infrastructure;

namespace CronFunctions.Tests.Operations;

/// <summary><c>GET /api/health</c>: 200 with storage up and a token configured, 503 otherwise, never a secret.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class HealthTests(AzuriteFixture azurite) : IDisposable
{
    private readonly FakeBackend _backend = new();

    public void Dispose() => _backend.Dispose();

    [Fact]
    public async Task Health_Is200_WithStorageUpAndATokenConfigured()
    {
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName());

        var health = await app.HealthAsync();

        Assert.Equal(200, health.Status);
        Assert.Equal("Healthy", health.Str("status"));
        Assert.Equal("Healthy", health.Body.GetProperty("checks").GetProperty("storage").GetProperty("status").GetString());
        Assert.Equal("Healthy", health.Body.GetProperty("checks").GetProperty("token").GetProperty("status").GetString());
        Assert.DoesNotContain(TestApp.Token, health.Body.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("AccountKey", health.Body.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_Is503_WithStorageDown_AndBackWhenItIs()
    {
        await using var storage = await AzuriteInstance.StartAsync();
        await using var app = new TestApp(storage.ConnectionString, _backend.Directory, TestApp.NewContainerName());
        Assert.Equal(200, (await app.HealthAsync()).Status);

        await storage.StopAsync();
        var down = await app.HealthAsync();

        Assert.Equal(503, down.Status);
        Assert.Equal("Unhealthy", down.Str("status"));
        Assert.Equal("Unhealthy", down.Body.GetProperty("checks").GetProperty("storage").GetProperty("status").GetString());
        Assert.Equal("Healthy", down.Body.GetProperty("checks").GetProperty("token").GetProperty("status").GetString());
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Id.Id == 1300);

        await storage.StartAgainAsync();
        Assert.Equal(200, (await app.HealthAsync()).Status);
    }

    [Fact]
    public async Task Health_Is503_WithNoTokenConfigured()
    {
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName(),
            new Dictionary<string, string?> { ["ERIFY_CRON_TOKEN"] = "" });

        var health = await app.HealthAsync();

        Assert.Equal(503, health.Status);
        Assert.Equal("Unhealthy", health.Body.GetProperty("checks").GetProperty("token").GetProperty("status").GetString());
    }
}
