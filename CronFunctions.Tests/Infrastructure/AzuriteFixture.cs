namespace CronFunctions.Tests.Infrastructure;

/// <summary>One Azurite for the whole test run; test classes use their own containers in it.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public AzuriteInstance Instance { get; private set; } = null!;

    public string ConnectionString => Instance.ConnectionString;

    public async Task InitializeAsync() => Instance = await AzuriteInstance.StartAsync();

    public async Task DisposeAsync() => await Instance.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
