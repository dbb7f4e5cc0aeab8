using CronFunctions.Jobs;

namespace CronFunctions.Tests.Infrastructure;

/// <summary>
/// A test class with one app instance and one fake backend per test, on the shared Azurite (each test its own lock
/// container). Override <see cref="Settings"/> to add settings.
/// </summary>
public abstract class AppTest(AzuriteFixture azurite) : IAsyncLifetime
{
    protected AzuriteFixture Azurite { get; } = azurite;

    protected FakeBackend Backend { get; } = new();

    internal TestApp App { get; private set; } = null!;

    protected virtual IDictionary<string, string?>? Settings => null;

    public Task InitializeAsync()
    {
        App = new TestApp(Azurite.ConnectionString, Backend.Directory, TestApp.NewContainerName(), Settings);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await App.DisposeAsync();
        Backend.Dispose();
    }

    /// <summary>
    /// Asserts that no run of <paramref name="job"/> was started, on settled state rather than after a sleep: a run is
    /// only started under a lease on the job's lock blob, taken before the call answers, so no blob in this test's
    /// fresh lock container proves no run; and no process recorded a call.
    /// </summary>
    private protected async Task AssertNothingStartedAsync(JobDefinition job)
    {
        Assert.Null(await App.LockBlobAsync(job));
        Assert.Empty(Backend.Calls());
    }
}
