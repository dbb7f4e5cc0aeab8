using CronFunctions.Jobs;
using CronFunctions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CronFunctions.Tests.Endpoints;

/// <summary>Bad settings fail at start-up with a message naming the setting, not at the first call.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class SettingsValidationTests(AzuriteFixture azurite) : IDisposable
{
    private readonly FakeBackend _backend = new();

    public void Dispose() => _backend.Dispose();

    [Theory]
    [InlineData("Cron:Jobs:SopnParse:Schedule", "every minute", "SopnParse")]
    [InlineData("Cron:Jobs:SopnParse:Runner", "kubernetes", "kubernetes")]
    [InlineData("Cron:Jobs:SopnParse:MaxRuntime", "00:00:10", "MaxRuntime")]
    [InlineData("Cron:Jobs:sopn-parse:Runner", "local", "names no job")]
    [InlineData("Cron:DefaultMaxRuntime", "30.00:00:00", "DefaultMaxRuntime")]
    [InlineData("Cron:Lock:ContainerName", "Bad_Name", "ContainerName")]
    [InlineData("Cron:RateLimit:PermitsPerMinute", "0", "PermitsPerMinute")]
    [InlineData("Cron:Jobs:SopnParse:FailingAfter", "21", "Cron:Jobs:SopnParse:FailingAfter must be from 1 to 20.")]
    [InlineData("Cron:Jobs:SopnParse:FailingAfter", "0", "Cron:Jobs:SopnParse:FailingAfter must be from 1 to 20.")]
    [InlineData("Cron:Jobs:PartiesImport:OverdueGrace", "00:00:30", "Cron:Jobs:PartiesImport:OverdueGrace must be from 00:01:00 to 7.00:00:00.")]
    [InlineData("Cron:Jobs:PartiesImport:OverdueGrace", "8.00:00:00", "Cron:Jobs:PartiesImport:OverdueGrace must be from 00:01:00 to 7.00:00:00.")]
    public async Task InvalidSetting_FailsValidation_NamingTheProblem(string key, string value, string expected)
    {
        // Starting the app (its hosted services read their settings) or reading the settings: either fails, naming it.
        TestApp? app = null;
        var failure = Assert.ThrowsAny<OptionsValidationException>(() =>
        {
            app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName(), new Dictionary<string, string?> { [key] = value });
            _ = app.Services.GetRequiredService<IOptions<CronOptions>>().Value;
            _ = app.Services.GetRequiredService<IOptions<CronFunctions.Locking.LockOptions>>().Value;
            _ = app.Services.GetRequiredService<IOptions<CronFunctions.Http.RateLimitOptions>>().Value;
        });
        if (app is not null)
        {
            await app.DisposeAsync();
        }

        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthSettings_ReachTheJobsSettings_UnsetOnesStayNull()
    {
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName(), new Dictionary<string, string?>
        {
            ["Cron:Jobs:SopnParse:FailingAfter"] = "5",
            ["Cron:Jobs:PartiesImport:OverdueGrace"] = "00:30:00",
        });

        var jobs = app.Services.GetRequiredService<JobSettingsCatalog>();

        Assert.Equal(((int?)5, (TimeSpan?)null), (jobs[JobCatalog.SopnParse].FailingAfter, jobs[JobCatalog.SopnParse].OverdueGrace));
        Assert.Equal(((int?)null, (TimeSpan?)TimeSpan.FromMinutes(30)), (jobs[JobCatalog.PartiesImport].FailingAfter, jobs[JobCatalog.PartiesImport].OverdueGrace));
    }

    [Fact]
    public async Task ScheduleOverride_ChangesTheNotDueRule()
    {
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName(),
            new Dictionary<string, string?> { ["Cron:Jobs:SopnParse:Schedule"] = "0 0 1 1 *" });

        var settings = app.Services.GetRequiredService<JobSettingsCatalog>()[JobCatalog.SopnParse];

        Assert.Equal(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero),
            settings.NextDueAfter(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 25, 12, 1, 0, TimeSpan.Zero)));
    }
}
