using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CronFunctions.Runners.ContainerApps;

internal static class ContainerAppsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the Container Apps Job runner (kind <c>containerapp</c>) as an <see cref="IJobRunner"/>: one
    /// singleton, reachable as an entry of <c>IEnumerable&lt;IJobRunner&gt;</c> (to index by
    /// <see cref="IJobRunner.Kind"/>) and as the keyed service <c>"containerapp"</c>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Settings come from <c>Cron:ContainerApps</c>. They are validated when a job first uses the runner, not at
    /// start-up, so a deployment (or a developer's machine) that never uses it needs none of them.
    /// </para>
    /// <para>
    /// The identity is a keyed <see cref="TokenCredential"/> <c>"containerapp"</c> when one is registered, else a
    /// <see cref="ManagedIdentityCredential"/> for <c>ManagedIdentityClientId</c>, else
    /// <see cref="DefaultAzureCredential"/>.
    /// </para>
    /// </remarks>
    internal static IServiceCollection AddContainerAppsRunner(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);

        // No ValidateOnStart: see the remarks.
        services.AddOptions<ContainerAppsOptions>()
            .BindConfiguration(ContainerAppsOptions.SectionName)
            .ValidateDataAnnotations();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ContainerAppsOptions>, ContainerAppsOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IContainerAppsArmClient>(provider => new ArmContainerAppsClient(
            provider.GetRequiredService<IOptions<ContainerAppsOptions>>(),
            settings => provider.GetKeyedService<TokenCredential>(ContainerAppsRunner.RunnerKind) ?? CreateCredential(settings),
            provider.GetRequiredService<TimeProvider>()));

        services.TryAddSingleton(provider => new ContainerAppsRunner(
            provider.GetRequiredService<IOptions<ContainerAppsOptions>>(),
            provider.GetRequiredService<IContainerAppsArmClient>(),
            provider.GetRequiredService<ILogger<ContainerAppsRunner>>(),
            provider.GetRequiredService<TimeProvider>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IJobRunner, ContainerAppsRunner>(
            provider => provider.GetRequiredService<ContainerAppsRunner>()));
        services.TryAddKeyedSingleton<IJobRunner>(
            ContainerAppsRunner.RunnerKind,
            (provider, _) => provider.GetRequiredService<ContainerAppsRunner>());

        return services;
    }

    private static TokenCredential CreateCredential(ContainerAppsOptions settings) =>
        string.IsNullOrWhiteSpace(settings.ManagedIdentityClientId)
            ? new DefaultAzureCredential()
            : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(settings.ManagedIdentityClientId));
}
