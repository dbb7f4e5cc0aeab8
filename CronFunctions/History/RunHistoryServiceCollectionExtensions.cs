using Azure.Data.Tables;
using CronFunctions.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CronFunctions.History;

internal static class RunHistoryServiceCollectionExtensions
{
    /// <summary>The run history: its settings, table client (from <c>AzureWebJobsStorage</c>), store and background writer.</summary>
    public static IServiceCollection AddRunHistory(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RunHistoryOptions>().BindConfiguration(RunHistoryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => TableServiceClientFactory.Create(configuration, StorageClientOptions.FailFast(new TableClientOptions(), sp)));
        services.AddSingleton<RunTable>();
        services.AddSingleton<PendingRecords>();
        services.AddSingleton<JobChecks>();
        services.AddSingleton<RunHistory>();
        services.AddSingleton<RunHistoryWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<RunHistoryWriter>());
        return services;
    }
}
