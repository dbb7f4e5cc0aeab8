using CronFunctions.Jobs;
using CronFunctions.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace CronFunctions.Tests.Operations;

/// <summary>
/// The not-due guard with simulated time: at most one run per scheduled slot, a missed slot caught up once,
/// duplicate deliveries start nothing, and <c>force</c> overrides the schedule but never the lock.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class NotDueTests(AzuriteFixture azurite) : IDisposable
{
    private static readonly Dictionary<string, string?> Unlimited = new() { ["Cron:RateLimit:PermitsPerMinute"] = "100000" };
    private readonly FakeBackend _backend = new();
    private readonly string _container = TestApp.NewContainerName();

    public void Dispose() => _backend.Dispose();

    [Fact]
    public async Task DailyJob_CalledEvery5MinutesFor3Days_StartsExactly3Runs()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 2, 10, 0, TimeSpan.Zero));
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, _container, Unlimited, time);
        Assert.Equal("started", (await app.PostAsync(JobCatalog.PartiesImport)).Str("status")); // yesterday's run
        await app.WaitForRunsAsync();
        time.SetUtcNow(new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero));
        var started = new List<DateTimeOffset>();
        var notDue = 0;

        for (var call = 0; call < 3 * 24 * 12; call++)
        {
            var response = await app.PostAsync(JobCatalog.PartiesImport); // "6 2 * * *"
            if (response.Str("status") == "started")
            {
                started.Add(time.GetUtcNow());
                await app.WaitForRunsAsync();
            }
            else if (response.Str("reason") == "not_due")
            {
                notDue++;
                Assert.True(DateTimeOffset.Parse(response.Str("nextDue")!, System.Globalization.CultureInfo.InvariantCulture) > time.GetUtcNow());
            }

            time.Advance(TimeSpan.FromMinutes(5));
        }

        // Once a day, at the first call after the 02:06 slot; every other call is not due.
        Assert.Equal(
            [new DateTimeOffset(2026, 11, 25, 2, 10, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 26, 2, 10, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 27, 2, 10, 0, TimeSpan.Zero)],
            started);
        Assert.Equal(3 * 24 * 12 - 3, notDue);
        Assert.Equal(4, _backend.Calls().Count); // yesterday's + the three
    }

    [Fact]
    public async Task FirstCallEver_IsDue()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, _container, Unlimited, time);

        Assert.Equal("started", (await app.PostAsync(JobCatalog.CheckCurrent)).Str("status"));
    }

    [Fact]
    public async Task MissedSlots_AreCaughtUpExactlyOnce()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 2, 10, 0, TimeSpan.Zero));
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, _container, Unlimited, time);
        Assert.Equal("started", (await app.PostAsync(JobCatalog.PartiesImport)).Str("status"));
        await app.WaitForRunsAsync();

        time.Advance(TimeSpan.FromDays(2) + TimeSpan.FromHours(3)); // two daily slots missed (no calls at all)
        var responses = new List<EndpointResponse>();
        for (var i = 0; i < 12; i++)
        {
            responses.Add(await app.PostAsync(JobCatalog.PartiesImport));
            await app.WaitForRunsAsync();
            time.Advance(TimeSpan.FromMinutes(5));
        }

        Assert.Equal("started", responses[0].Str("status"));
        Assert.All(responses.Skip(1), r => Assert.Equal("not_due", r.Str("reason")));
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 2, 6, 0, TimeSpan.Zero),
            DateTimeOffset.Parse(responses[1].Str("nextDue")!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(2, _backend.Calls().Count);
    }

    [Fact]
    public async Task DuplicateDeliveryOfTheSameSlot_StartsNothing()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 23, 33, 0, TimeSpan.Zero));
        await using var first = new TestApp(azurite.ConnectionString, _backend.Directory, _container, Unlimited, time);
        await using var second = new TestApp(azurite.ConnectionString, _backend.Directory, _container, Unlimited, time);

        // Cloudflare delivers the 23:33 trigger several times at once, to two instances.
        var burst = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => (i % 2 == 0 ? first : second).PostAsync(JobCatalog.MopRecent))));
        Assert.Single(burst, r => r.Str("status") == "started");
        await first.WaitForRunsAsync();
        await second.WaitForRunsAsync();

        // …and once more, late, after the run has ended.
        time.Advance(TimeSpan.FromSeconds(40));
        var late = await second.PostAsync(JobCatalog.MopRecent);

        Assert.Equal("not_due", late.Str("reason"));
        Assert.Single(_backend.Calls());
    }

    [Fact]
    public async Task Force_RunsWhenNotDue_ButNeverWhenAlreadyRunning()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, _container, Unlimited, time);
        Assert.Equal("started", (await app.PostAsync(JobCatalog.CheckCurrent)).Str("status"));
        await app.WaitForRunsAsync();
        Assert.Equal("not_due", (await app.PostAsync(JobCatalog.CheckCurrent)).Str("reason"));

        _backend.Mode = "sleep 30";
        var forced = await app.PostAsync(JobCatalog.CheckCurrent, "?force=true");
        Assert.Equal("started", forced.Str("status"));

        var forcedAgain = await app.PostAsync(JobCatalog.CheckCurrent, "?force=true");
        Assert.Equal("already_running", forcedAgain.Str("reason"));
        Assert.Equal(forced.Str("runId"), forcedAgain.Str("runId"));
        Assert.Equal(2, (await _backend.WaitForCallsAsync(2)).Count);
    }

    // Issue 15: every minute is a chance to catch up. The scheduler calls every job every minute; a daily job whose
    // call failed at its slot runs at the next minute the app answers, and only once.
    [Fact]
    public async Task DailyJob_CallAt0206FailsWith503_TheCallAt0207StartsIt_TheCallAt0208IsNotDue()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 2, 6, 20, TimeSpan.Zero));
        var faults = new StorageFaults();
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, _container, Unlimited, time,
            s => Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddKeyedSingleton<Azure.Core.Pipeline.HttpPipelinePolicy>(
                s, CronFunctions.CronFunctionsRegistration.StoragePolicyKey, faults));
        Assert.Equal("started", (await app.PostAsync(JobCatalog.PartiesImport)).Str("status")); // yesterday's run
        await app.WaitForRunsAsync();

        time.SetUtcNow(new DateTimeOffset(2026, 11, 25, 2, 6, 3, TimeSpan.Zero));
        faults.Arm(StorageStep.Read, StorageFault.Error); // the lock store answers 503 ServerBusy at 02:06
        var at0206 = await app.PostAsync(JobCatalog.PartiesImport);
        Assert.Equal((503, "error"), (at0206.Status, at0206.Str("status")));
        Assert.False(string.IsNullOrEmpty(at0206.Headers.RetryAfter.ToString()));

        time.SetUtcNow(new DateTimeOffset(2026, 11, 25, 2, 7, 2, TimeSpan.Zero));
        var at0207 = await app.PostAsync(JobCatalog.PartiesImport);
        Assert.Equal("started", at0207.Str("status"));
        await app.WaitForRunsAsync();

        time.SetUtcNow(new DateTimeOffset(2026, 11, 25, 2, 8, 1, TimeSpan.Zero));
        var at0208 = await app.PostAsync(JobCatalog.PartiesImport);
        Assert.Equal("not_due", at0208.Str("reason"));
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 2, 6, 0, TimeSpan.Zero), DateTimeOffset.Parse(at0208.Str("nextDue")!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(2, _backend.Calls().Count); // yesterday's and today's, no more
    }
}
