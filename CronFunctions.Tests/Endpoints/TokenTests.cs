using CronFunctions.Jobs;
using CronFunctions.Tests.Infrastructure;

namespace CronFunctions.Tests.Endpoints;

/// <summary>A forged or missing token never starts anything; a rotation token works; no token configured fails closed.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TokenTests(AzuriteFixture azurite) : AppTest(azurite)
{
    private const string Secondary = "rotation-token-9876543210-zyxwvutsrq";

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["ERIFY_CRON_TOKEN_SECONDARY"] = Secondary };

    public static TheoryData<string?> RefusedAuthorizations => new()
    {
        null, // missing header
        "",
        "Basic " + TestApp.Token, // wrong scheme
        "Token " + TestApp.Token,
        "Bearer", // empty token
        "Bearer ",
        "Bearer    ",
        "Bearer wrong-token",
        "Bearer " + TestApp.Token + "x", // longer
        "Bearer " + TestApp.Token[..^1], // prefix
        "Bearer " + TestApp.Token.ToUpperInvariant(),
        "Bearer" + TestApp.Token, // no separator
        TestApp.Token, // bare token
    };

    [Theory]
    [MemberData(nameof(RefusedAuthorizations))]
    public async Task BadAuthorization_Is401WithChallenge_AndStartsNothing(string? authorization)
    {
        var response = await App.PostAsync(JobCatalog.EeRecent, authorization: authorization);

        Assert.Equal(401, response.Status);
        Assert.Equal("Unauthorized", response.Str("error"));
        Assert.Equal("Bearer", response.Headers.WWWAuthenticate.ToString());
        await AssertNothingStartedAsync(JobCatalog.EeRecent);
    }

    [Fact]
    public async Task SeveralAuthorizationHeaders_Are401()
    {
        var response = await App.CallAsync(JobCatalog.EeRecent, "POST", authorization: null,
            headers: new Dictionary<string, string> { ["Authorization"] = "Bearer " + TestApp.Token + ",Bearer " + TestApp.Token });

        Assert.Equal(401, response.Status);
        await AssertNothingStartedAsync(JobCatalog.EeRecent);
    }

    [Theory]
    [InlineData("Bearer " + TestApp.Token)]
    [InlineData("bearer " + TestApp.Token)]
    [InlineData("Bearer " + Secondary)]
    public async Task ValidToken_OrRotationToken_StartsTheJob(string authorization)
    {
        var response = await App.PostAsync(JobCatalog.EeRecent, authorization: authorization);

        Assert.Equal(200, response.Status);
        Assert.Equal("started", response.Str("status"));
        Assert.Single(await Backend.WaitForCallsAsync(1));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public async Task NoTokenConfigured_RefusesEveryCall_AndLogsAnError(string? configured)
    {
        await using var app = new TestApp(Azurite.ConnectionString, Backend.Directory, TestApp.NewContainerName(),
            new Dictionary<string, string?> { ["ERIFY_CRON_TOKEN"] = configured });

        foreach (var authorization in new[] { "Bearer ", "Bearer " + TestApp.Token, "Bearer " + configured, null })
        {
            var response = await app.PostAsync(JobCatalog.EeRecent, authorization: authorization);
            Assert.Equal(401, response.Status);
        }

        Assert.Null(await app.LockBlobAsync(JobCatalog.EeRecent));
        Assert.Empty(Backend.Calls());
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Id.Id == 1100 && r.Level == Microsoft.Extensions.Logging.LogLevel.Error);
    }

    [Fact]
    public async Task TheToken_NeverAppearsInLogs()
    {
        await App.PostAsync(JobCatalog.EeRecent, authorization: "Bearer " + TestApp.Token);
        await App.PostAsync(JobCatalog.EeRecent, authorization: "Bearer forged-token-value");
        await App.WaitForRunsAsync();

        foreach (var record in App.Logs.GetSnapshot())
        {
            var text = record.Message + " " + string.Join(" ", record.StructuredState?.Select(kv => kv.Value) ?? []) + " " + record.Exception;
            Assert.DoesNotContain(TestApp.Token, text, StringComparison.Ordinal);
            Assert.DoesNotContain("forged-token-value", text, StringComparison.Ordinal);
        }
    }
}
