using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CronFunctions.Http;

/// <summary>
/// The <c>Cron:ClientAddress</c> settings: which proxies in front of the worker are trusted to say who called.
/// See README "Client addresses" for what the Functions host and Azure's front end send.
/// </summary>
internal sealed class ClientAddressOptions
{
    public const string Section = "Cron:ClientAddress";

    /// <summary>
    /// How many <c>X-Forwarded-For</c> entries, from the right, were written by trusted proxies (each only taken while
    /// the address before it is a trusted proxy). 1: the entry the Functions host's proxy appends.
    /// </summary>
    [Range(0, 10)]
    public int ForwardLimit { get; set; } = 1;

    /// <summary>Networks (CIDR, e.g. <c>10.0.0.0/8</c>) of trusted proxies, besides loopback (the host's own proxy).</summary>
    public List<string> KnownNetworks { get; set; } = [];
}

/// <summary>
/// Who called, as far as the platform vouches for it: ASP.NET Core's forwarded-headers rules (the framework's
/// <see cref="ForwardedHeadersMiddleware"/>, applied to the request) walk <c>X-Forwarded-For</c> from the right, one
/// entry per trusted hop, never further than <see cref="ClientAddressOptions.ForwardLimit"/>. A value the client
/// wrote itself is never taken: it sits left of every entry a trusted proxy appended.
/// </summary>
internal sealed class ClientAddress
{
    private readonly ForwardedHeadersMiddleware _forwarders;

    public ClientAddress(IOptions<ClientAddressOptions> options, ILoggerFactory loggerFactory)
    {
        var settings = options.Value;
        var forwarded = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor,
            ForwardLimit = settings.ForwardLimit,
            RequireHeaderSymmetry = false,
        };
        foreach (var network in settings.KnownNetworks)
        {
            forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
        }

        _forwarders = new ForwardedHeadersMiddleware(_ => Task.CompletedTask, loggerFactory, Options.Create(forwarded));
    }

    /// <summary>The client's address (IPv4-mapped addresses as IPv4), or <c>unknown</c>.</summary>
    public string Of(HttpRequest request)
    {
        var context = request.HttpContext;
        _forwarders.ApplyForwarders(context);
        var address = context.Connection.RemoteIpAddress;
        return address is null ? "unknown" : (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();
    }
}
