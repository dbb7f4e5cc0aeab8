using System.Diagnostics;
using System.Net;
using System.Text;

namespace LoadGen;

/// <summary>One measured cell: a case at one concurrency in one round.</summary>
internal sealed record CellResult(
    string Case,
    int Concurrency,
    int Round,
    long Calls,
    long Unexpected,
    string? FirstUnexpected,
    double Seconds,
    double P50Ms,
    double P99Ms,
    IReadOnlyDictionary<string, double> CpuMsPerCall)
{
    public double CallsPerSecond => Calls / Seconds;
}

/// <summary>
/// Runs the plan: for each round, each concurrency, each case (the case order rotates per round, so no case always
/// follows the same one), a warm-up at that concurrency, then a fixed-duration measurement. Every answer is checked.
/// </summary>
internal sealed class Runner(Plan plan) : IDisposable
{
    private readonly HttpClient _client = new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        MaxConnectionsPerServer = int.MaxValue,
        UseCookies = false,
        AllowAutoRedirect = false,
    })
    { Timeout = TimeSpan.FromSeconds(30) };

    public async Task<IReadOnlyList<CellResult>> RunAsync()
    {
        var results = new List<CellResult>();
        for (var round = 1; round <= plan.Rounds; round++)
        {
            foreach (var concurrency in plan.Concurrency)
            {
                for (var i = 0; i < plan.Cases.Count; i++)
                {
                    var @case = plan.Cases[(i + round - 1) % plan.Cases.Count];
                    await MeasureAsync(@case, concurrency, TimeSpan.FromSeconds(plan.WarmupSeconds), null).ConfigureAwait(false);
                    var cpuBefore = Cpu.Read(@case.Processes);
                    var cell = await MeasureAsync(@case, concurrency, TimeSpan.FromSeconds(plan.DurationSeconds), round).ConfigureAwait(false);
                    var cpuAfter = Cpu.Read(@case.Processes);
                    cell = cell! with { CpuMsPerCall = Cpu.PerCall(cpuBefore, cpuAfter, cell.Calls) };
                    results.Add(cell);
                    await Console.Error.WriteLineAsync(
                        $"round {round} {cell.Case} x{concurrency}: {Invariant.F(cell.CallsPerSecond, "0")} calls/s, p50 {Invariant.F(cell.P50Ms)} ms, p99 {Invariant.F(cell.P99Ms)} ms, unexpected {cell.Unexpected}")
                        .ConfigureAwait(false);
                }
            }
        }

        return results;
    }

    private async Task<CellResult?> MeasureAsync(Case @case, int concurrency, TimeSpan duration, int? round)
    {
        var lanes = new Lane[concurrency];
        var stopwatch = Stopwatch.StartNew();
        var deadline = stopwatch.Elapsed + duration;
        var tasks = new Task[concurrency];
        for (var i = 0; i < concurrency; i++)
        {
            var lane = lanes[i] = new Lane();
            tasks[i] = Task.Run(() => RunLaneAsync(@case, lane, stopwatch, deadline));
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
        var seconds = stopwatch.Elapsed.TotalSeconds;
        if (round is null)
        {
            return null;
        }

        var latencies = lanes.SelectMany(l => l.LatenciesMs).Order().ToArray();
        return new CellResult(
            @case.Name,
            concurrency,
            round.Value,
            latencies.Length,
            lanes.Sum(l => l.Unexpected),
            lanes.Select(l => l.FirstUnexpected).FirstOrDefault(u => u is not null),
            seconds,
            Percentile(latencies, 0.50),
            Percentile(latencies, 0.99),
            new Dictionary<string, double>());
    }

    private async Task RunLaneAsync(Case @case, Lane lane, Stopwatch stopwatch, TimeSpan deadline)
    {
        var method = new HttpMethod(@case.Method);
        var body = @case.Body is null ? null : Encoding.UTF8.GetBytes(@case.Body);
        while (stopwatch.Elapsed < deadline)
        {
            using var request = new HttpRequestMessage(method, @case.Url) { Version = HttpVersion.Version11 };
            foreach (var (name, value) in @case.Headers ?? new Dictionary<string, string>())
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            if (body is not null)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
            }

            var started = stopwatch.Elapsed;
            string? problem;
            try
            {
                using var response = await _client.SendAsync(request).ConfigureAwait(false);
                var text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                problem = (int)response.StatusCode != @case.ExpectStatus
                    || (@case.ExpectBody is not null && !text.Contains(@case.ExpectBody, StringComparison.Ordinal))
                    ? $"{(int)response.StatusCode} {Truncate(text)}"
                    : null;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
            {
                problem = ex.GetType().Name + ": " + ex.Message;
            }

            lane.LatenciesMs.Add((stopwatch.Elapsed - started).TotalMilliseconds);
            if (problem is not null)
            {
                lane.Unexpected++;
                lane.FirstUnexpected ??= problem;
            }
        }
    }

    public void Dispose() => _client.Dispose();

    private static string Truncate(string text) => text.Length <= 120 ? text : text[..120] + "…";

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private sealed class Lane
    {
        public List<double> LatenciesMs { get; } = new(capacity: 4096);

        public long Unexpected { get; set; }

        public string? FirstUnexpected { get; set; }
    }
}
