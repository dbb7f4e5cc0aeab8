using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using CronFunctions.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CronFunctions.Http;

/// <summary>
/// Refused calls, counted instead of logged or stored one by one: a flood of them costs a counter increment each.
/// They stay visible as a metric (<c>cronfunctions.refused</c>, tagged by reason and endpoint) and as one log line
/// per interval with the counts per reason and the busiest clients. Distinct clients kept per interval are bounded;
/// the rest are counted together.
/// </summary>
internal sealed class RefusalCounter : BackgroundService
{
    public const string MeterName = "CronFunctions";
    private const int MaxClients = 1000;
    private const string OtherClients = "(other clients)";

    private readonly Counter<long> _refused;
    private readonly RateLimitOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<RefusalCounter> _logger;
    private ConcurrentDictionary<(string Client, string Reason), long> _counts = new();

    public RefusalCounter(IMeterFactory meters, IOptions<RateLimitOptions> options, TimeProvider timeProvider, ILogger<RefusalCounter> logger)
    {
        _refused = meters.Create(MeterName).CreateCounter<long>("cronfunctions.refused", description: "Calls refused before reaching a job (token, method, rate limit)");
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public void Count(string endpoint, string reason, string client)
    {
        _refused.Add(1, new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("endpoint", endpoint));
        var counts = Volatile.Read(ref _counts);
        // ContainsKey first: Count takes every lock of the dictionary, so it is asked only for a key not yet counted.
        var key = counts.ContainsKey((client, reason)) || counts.Count < MaxClients ? (client, reason) : (OtherClients, reason);
        counts.AddOrUpdate(key, 1, (_, n) => n + 1);
    }

    /// <summary>Logs the counts since the last summary (if any) and starts a new interval.</summary>
    public void Summarize()
    {
        var counts = Interlocked.Exchange(ref _counts, new ConcurrentDictionary<(string Client, string Reason), long>());
        if (counts.IsEmpty)
        {
            return;
        }

        var total = counts.Values.Sum();
        var byReason = string.Join(", ", counts.GroupBy(c => c.Key.Reason).OrderByDescending(g => g.Sum(c => c.Value)).Select(g => $"{g.Key} {g.Sum(c => c.Value)}"));
        var byClient = string.Join(", ", counts.GroupBy(c => c.Key.Client).OrderByDescending(g => g.Sum(c => c.Value)).Take(10).Select(g => $"{g.Key} {g.Sum(c => c.Value)}"));
        Log.RefusalSummary(_logger, total, _options.RefusalSummaryInterval.TotalSeconds, byReason, byClient);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.RefusalSummaryInterval, _timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Summarize();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            Summarize();
        }
    }
}
