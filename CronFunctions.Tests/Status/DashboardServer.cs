using CronFunctions.Functions;
using CronFunctions.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CronFunctions.Tests.Status;

/// <summary>
/// Serves the dashboard function of a <see cref="TestApp"/> over real HTTP on a free loopback port (Kestrel), so a
/// real browser loads it with its headers — the Content-Security-Policy included — as it would through the host.
/// </summary>
internal sealed class DashboardServer : IAsyncDisposable
{
    public const string Path = "/api/cron/dashboard";

    private readonly WebApplication _web;

    private DashboardServer(WebApplication web, Uri address)
    {
        _web = web;
        Url = new Uri(address, Path + "?code=test-function-key");
    }

    public Uri Url { get; }

    public static async Task<DashboardServer> StartAsync(TestApp app)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var web = builder.Build();
        web.MapGet(Path, async context =>
        {
            var functions = ActivatorUtilities.CreateInstance<StatusEndpoints>(app.Services);
            var result = await functions.Dashboard(context.Request, context.RequestAborted);
            await result.ExecuteResultAsync(new ActionContext(context, new RouteData(), new ActionDescriptor()));
        });
        await web.StartAsync();
        var address = web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new DashboardServer(web, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        await _web.StopAsync();
        await _web.DisposeAsync();
    }
}
