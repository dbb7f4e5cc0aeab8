using CronFunctions.Http;
using CronFunctions.Jobs;
using CronFunctions.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace CronFunctions.Tests.Operations;

/// <summary>Per-client limits: 60 a minute by default, 429 with Retry-After past it, failed token checks count double.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class RateLimitTests(AzuriteFixture azurite) : AppTest(azurite)
{

    private static Dictionary<string, string> From(string forwardedFor) => new() { ["X-Forwarded-For"] = forwardedFor };

    [Fact]
    public async Task The61stRequestInAMinute_Is429WithRetryAfter_AndOtherClientsAreUnaffected()
    {
        for (var i = 0; i < 60; i++)
        {
            var ok = await App.CallAsync(JobCatalog.SopnParse, "POST", headers: From("198.51.100.1:1000"));
            Assert.NotEqual(429, ok.Status);
        }

        var limited = await App.CallAsync(JobCatalog.SopnParse, "POST", headers: From("198.51.100.1:2000"));

        Assert.Equal(429, limited.Status);
        Assert.Equal("Rate limit exceeded", limited.Str("error"));
        var retryAfter = int.Parse(limited.Headers.RetryAfter.ToString(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 60);
        Assert.Contains(App.Logs.GetSnapshot(), r => r.Id.Id == 1010);

        var other = await App.CallAsync(JobCatalog.SopnParse, "POST", "?force=true", headers: From("198.51.100.2"));
        Assert.NotEqual(429, other.Status);
        var otherV6 = await App.CallAsync(JobCatalog.SopnParse, "POST", "?force=true", headers: From("[2001:db8::5]:443"));
        Assert.NotEqual(429, otherV6.Status);
    }

    [Fact]
    public async Task FailedTokenChecks_CountDouble()
    {
        for (var i = 0; i < 30; i++)
        {
            Assert.Equal(401, (await App.CallAsync(JobCatalog.SopnParse, "POST", authorization: "Bearer guess" + i, headers: From("198.51.100.9"))).Status);
        }

        var afterThirtyFailures = await App.CallAsync(JobCatalog.SopnParse, "POST", headers: From("198.51.100.9"));

        Assert.Equal(429, afterThirtyFailures.Status);
        await AssertNothingStartedAsync(JobCatalog.SopnParse);
    }

    [Fact]
    public async Task RateLimitedCalls_StartNothing()
    {
        Backend.Mode = "exit";
        var responses = new List<EndpointResponse>();
        for (var i = 0; i < 70; i++)
        {
            responses.Add(await App.CallAsync(JobCatalog.EeRecent, "POST", "?force=true", headers: From("198.51.100.3")));
            await App.WaitForRunsAsync();
        }

        Assert.Equal(10, responses.Count(r => r.Status == 429));
        Assert.Equal(60, (await Backend.WaitForCallsAsync(60)).Count);
    }

    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("203.0.113.7:50312", "203.0.113.7")]
    [InlineData("203.0.113.7:50312, 10.0.0.1", "203.0.113.7")]
    [InlineData(" 203.0.113.7 ,10.0.0.1:80", "203.0.113.7")]
    [InlineData("2001:db8::1", "2001:db8::1")]
    [InlineData("[2001:db8::1]:443", "2001:db8::1")]
    [InlineData("[2001:db8::1]", "2001:db8::1")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("not-an-address", "192.0.2.99")]
    [InlineData("", "192.0.2.99")]
    public void ClientAddress_IsTheFirstForwardedForEntry_WithoutPort(string forwardedFor, string expected)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = System.Net.IPAddress.Parse("192.0.2.99");
        if (forwardedFor.Length > 0)
        {
            context.Request.Headers["X-Forwarded-For"] = forwardedFor;
        }

        Assert.Equal(expected, ClientRateLimiter.ClientOf(context.Request));
    }
}
