using System.Diagnostics.Metrics;
using System.Net;
using Azure.Core;
using Azure.Core.Pipeline;
using CronFunctions.Http;
using CronFunctions.Jobs;
using CronFunctions.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CronFunctions.Tests.Operations;

/// <summary>
/// Hostile traffic costs nothing and reaches nothing: refusals are charged to their client's own budget and never to
/// the authenticated calls' budget, write nothing to storage, and are counted rather than logged one by one; the
/// client address is the one the platform vouches for, never a value the client wrote.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class RateLimitTests(AzuriteFixture azurite) : IDisposable
{
    private const string Forged = "Bearer forged-token-forged-token-forged-token";
    private readonly FakeBackend _backend = new("exit");

    public void Dispose() => _backend.Dispose();

    private static Dictionary<string, string> From(string forwardedFor) => new() { ["X-Forwarded-For"] = forwardedFor };

    [Fact]
    public async Task TenThousandBadTokenCalls_FromOneClient_DoNotStarveAValidCall_AndWriteNothing()
    {
        var storage = new RequestCounter();
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName(),
            services: s => s.AddKeyedSingleton<HttpPipelinePolicy>(CronFunctions.CronFunctionsRegistration.StoragePolicyKey, storage));

        var statuses = new Dictionary<int, int>();
        for (var i = 0; i < 10_000; i++)
        {
            var refused = await app.CallAsync(JobCatalog.SopnParse, "POST", authorization: Forged, headers: From("198.51.100.7"));
            statuses[refused.Status] = statuses.GetValueOrDefault(refused.Status) + 1;
        }

        var storageRequestsOfTheFlood = storage.Count;
        var valid = await app.CallAsync(JobCatalog.SopnParse, "POST", headers: From("198.51.100.7"));

        Assert.True(valid.Status == 200, $"The valid call answered {valid.Status}: {valid.Str("error")}; the app logged:{Environment.NewLine}{app.WarningsAndErrors()}");
        Assert.Equal("started", valid.Str("status"));
        Assert.Equal(30, statuses[401]); // the client's refusal budget, then 429s
        Assert.Equal(10_000 - 30, statuses[429]);
        Assert.Equal(0, storageRequestsOfTheFlood); // 10,000 refused calls: not one storage request, not one byte
        Assert.True(storage.Count > 0, "The valid call reached storage (so the counter counts).");
        Assert.Single(await _backend.WaitForCallsAsync(1));
    }

    [Fact]
    public async Task BadTokenCalls_FromRotatingSpoofedAddresses_DoNotStarveAValidCall()
    {
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName());

        // Behind the host's proxy every caller comes from loopback with the address the host appended last: a client
        // can put anything before it, and it never counts.
        for (var i = 0; i < 2_000; i++)
        {
            await app.CallAsync(JobCatalog.SopnParse, "POST", authorization: Forged, headers: From($"10.{i / 256}.{i % 256}.1, 203.0.113.50"));
        }

        var valid = await app.CallAsync(JobCatalog.SopnParse, "POST", headers: From("203.0.113.50"));
        var validFromTheSameSpoof = await app.CallAsync(JobCatalog.EeRecent, "POST", headers: From("10.0.0.1, 203.0.113.50"));

        Assert.Equal("started", valid.Str("status"));
        Assert.Equal("started", validFromTheSameSpoof.Str("status"));
    }

    [Fact]
    public async Task AuthenticatedCalls_HaveTheirOwnBudgetPerEndpoint_Past_It429WithRetryAfter()
    {
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName(),
            new Dictionary<string, string?> { ["Cron:RateLimit:PermitsPerMinute"] = "20" });

        for (var i = 0; i < 20; i++)
        {
            Assert.NotEqual(429, (await app.CallAsync(JobCatalog.SopnParse, "POST")).Status);
        }

        var limited = await app.CallAsync(JobCatalog.SopnParse, "POST");
        var otherJob = await app.CallAsync(JobCatalog.EeRecent, "POST");

        Assert.Equal(429, limited.Status);
        Assert.Equal("Rate limit exceeded", limited.Str("error"));
        Assert.InRange(int.Parse(limited.Headers.RetryAfter.ToString(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Id.Id == 1010);
        Assert.NotEqual(429, otherJob.Status);
    }

    [Fact]
    public async Task RefusedCalls_AreCountedAndSummarized_NeverLoggedOneByOne()
    {
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName());
        using var metric = new MetricCollector<long>(app.Services.GetRequiredService<IMeterFactory>(), RefusalCounter.MeterName, "cronfunctions.refused");

        for (var i = 0; i < 50; i++)
        {
            await app.CallAsync(JobCatalog.EeRecent, "POST", authorization: i % 2 == 0 ? Forged : null, headers: From("198.51.100.20"));
        }

        await app.CallAsync(JobCatalog.EeRecent, "GET", headers: From("198.51.100.21"));
        var perCall = app.Logs.GetSnapshot().Count;
        app.Services.GetRequiredService<RefusalCounter>().Summarize();

        Assert.Equal(0, perCall);
        var summary = Assert.Single(app.Logs.GetSnapshot(), r => r.Id.Id == 1013);
        Assert.Equal("51", summary.GetStructuredStateValue("Count"));
        Assert.Contains("rate_limited 20", summary.GetStructuredStateValue("ByReason"), StringComparison.Ordinal);
        Assert.Contains("198.51.100.20 50", summary.GetStructuredStateValue("ByClient"), StringComparison.Ordinal);
        Assert.DoesNotContain("forged-token", summary.Message, StringComparison.Ordinal);

        // ...and as the metric, one measurement per refusal tagged by reason and endpoint (what a dashboard charts).
        var measurements = metric.GetMeasurementSnapshot();
        Assert.Equal(51, measurements.EvaluateAsCounter());
        Assert.Equal(51, measurements.Count(m => m.Tags["endpoint"] is "ee-recent"));
        Assert.Equal(20, measurements.Count(m => m.Tags["reason"] is "rate_limited"));
        Assert.Equal(51 - 20, measurements.Count(m => m.Tags["reason"] is not "rate_limited"));
    }

    public static TheoryData<string?, string, string, int> Addresses => new()
    {
        // X-Forwarded-For,                       remote address, expected client, ForwardLimit
        { null, "127.0.0.1", "127.0.0.1", 1 },                                      // missing: the connection's
        { "203.0.113.7", "127.0.0.1", "203.0.113.7", 1 },                            // the host's proxy appended it
        { "203.0.113.7:50312", "127.0.0.1", "203.0.113.7", 1 },                      // with a port
        { "6.6.6.6, 203.0.113.7", "127.0.0.1", "203.0.113.7", 1 },                    // spoofed entry before it: ignored
        { "6.6.6.6, 7.7.7.7, 203.0.113.7", "127.0.0.1", "203.0.113.7", 1 },           // several spoofed entries
        { "6.6.6.6", "198.51.100.9", "198.51.100.9", 1 },                             // not from a trusted proxy: ignored
        { "2001:db8::1", "127.0.0.1", "2001:db8::1", 1 },                             // IPv6
        { "[2001:db8::1]:443", "127.0.0.1", "2001:db8::1", 1 },                       // IPv6 with port
        { "::ffff:203.0.113.7", "127.0.0.1", "203.0.113.7", 1 },                      // IPv4-mapped
        { "not-an-address", "127.0.0.1", "127.0.0.1", 1 },                            // malformed: not taken
        { "203.0.113.7, not-an-address", "127.0.0.1", "127.0.0.1", 1 },               // malformed last entry
        { "", "127.0.0.1", "127.0.0.1", 1 },                                          // empty
        { "203.0.113.7", "127.0.0.1", "127.0.0.1", 0 },                               // forwarding not trusted at all
        { "6.6.6.6, 203.0.113.7, 10.1.2.3", "127.0.0.1", "203.0.113.7", 2 },          // two trusted hops (front end in 10/8)
    };

    [Theory]
    [MemberData(nameof(Addresses))]
    public void ClientAddress_IsTheEntryTheTrustedProxyAppended_NeverOneTheClientChose(string? forwardedFor, string remote, string expected, int forwardLimit)
    {
        var options = new ClientAddressOptions { ForwardLimit = forwardLimit, KnownNetworks = forwardLimit > 1 ? ["10.0.0.0/8"] : [] };
        var addresses = new ClientAddress(Options.Create(options), NullLoggerFactory.Instance);
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(remote);
        if (forwardedFor is not null)
        {
            context.Request.Headers["X-Forwarded-For"] = forwardedFor;
        }

        Assert.Equal(expected, addresses.Of(context.Request));
    }

    /// <summary>Counts storage requests.</summary>
    private sealed class RequestCounter : HttpPipelinePolicy
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Interlocked.Increment(ref _count);
            ProcessNext(message, pipeline);
        }

        public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Interlocked.Increment(ref _count);
            return ProcessNextAsync(message, pipeline);
        }
    }
}
