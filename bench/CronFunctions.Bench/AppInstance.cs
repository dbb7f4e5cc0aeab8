using System.Text.Json;
using CronFunctions.Functions;
using CronFunctions.Jobs;
using CronFunctions.Runs;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CronFunctions.Bench;

/// <summary>
/// One app instance composed exactly as the Functions worker composes it (<c>AddCronFunctions</c>), driven through
/// the real function methods. Configuration comes from environment variables, as in Azure. Its hosted services (the
/// run history's background writer) run as they do under the worker's host.
/// </summary>
internal sealed class AppInstance : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly IReadOnlyList<IHostedService> _hostedServices;

    public AppInstance(IConfiguration configuration, Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(configuration);
        services.AddLogging(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
        configure?.Invoke(services);
        services.AddCronFunctions(configuration);
        _services = services.BuildServiceProvider();
        _hostedServices = [.. _services.GetServices<IHostedService>()];
        foreach (var hosted in _hostedServices)
        {
            hosted.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
    }

    public IServiceProvider Services => _services;

    public async Task<(int Status, string Body)> CallAsync(JobDefinition job, string method, string? query, string? authorization, CancellationToken cancellationToken = default)
    {
        var context = new DefaultHttpContext { RequestServices = _services };
        context.Request.Method = method;
        context.Request.Path = "/api/" + job.Route;
        if (query is not null)
        {
            context.Request.QueryString = new QueryString(query);
        }

        if (authorization is not null)
        {
            context.Request.Headers.Authorization = authorization;
        }

        var body = await FunctionInvoker.InvokeAsync(typeof(CronEndpoints), context, job.FunctionName, [], cancellationToken);
        return (context.Response.StatusCode, System.Text.Encoding.UTF8.GetString(body));
    }

    public Task WaitForRunsAsync() => Task.WhenAll(_services.GetRequiredService<RunSupervisor>().Active);

    public async ValueTask DisposeAsync()
    {
        foreach (var hosted in _hostedServices.Reverse())
        {
            await hosted.StopAsync(CancellationToken.None);
        }

        await _services.DisposeAsync();
    }

    public static string? StatusOf(string body)
    {
        using var json = JsonDocument.Parse(body);
        return json.RootElement.TryGetProperty("status", out var s) ? s.GetString() : null;
    }
}
