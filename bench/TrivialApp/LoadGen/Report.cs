using System.Text;

namespace LoadGen;

/// <summary>
/// The Markdown tables: the median of the rounds per case and concurrency with ratios to each floor (every case whose
/// name starts with "trivial"), then every cell.
/// </summary>
internal static class Report
{
    public static string Markdown(Plan plan, IReadOnlyList<CellResult> results)
    {
        var text = new StringBuilder();
        var baselines = plan.Cases.Select(c => c.Name).Where(n => n.StartsWith("trivial", StringComparison.Ordinal)).DefaultIfEmpty(plan.Cases[0].Name).ToArray();
        var processNames = plan.Cases.SelectMany(c => c.Processes?.Keys ?? Enumerable.Empty<string>()).Distinct().ToArray();
        text.AppendLine($"Median of {plan.Rounds} interleaved rounds; each cell {Invariant.F(plan.DurationSeconds, "0.#")} s after a {Invariant.F(plan.WarmupSeconds, "0.#")} s warm-up at the same concurrency. Ratio = calls/s of the case ÷ calls/s of the floor named in the column at the same concurrency.");
        text.AppendLine();
        text.Append("| case | callers | calls/s |");
        text.Append(string.Concat(baselines.Select(b => $" ratio to `{b}` |")));
        text.Append(" p50 ms | p99 ms |");
        text.Append(string.Concat(processNames.Select(p => $" CPU ms/call {p} |")));
        text.AppendLine(" unexpected |");
        text.Append("|---|---:|---:|");
        text.Append(string.Concat(baselines.Select(_ => "---:|")));
        text.Append("---:|---:|");
        text.Append(string.Concat(processNames.Select(_ => "---:|")));
        text.AppendLine("---:|");
        foreach (var concurrency in plan.Concurrency)
        {
            var baseRates = baselines.Select(b => Median(results.Where(r => r.Case == b && r.Concurrency == concurrency).Select(r => r.CallsPerSecond))).ToArray();
            foreach (var @case in plan.Cases)
            {
                var cells = results.Where(r => r.Case == @case.Name && r.Concurrency == concurrency).ToArray();
                var rate = Median(cells.Select(c => c.CallsPerSecond));
                text.Append($"| {@case.Name} | {concurrency} | {Invariant.F(rate, "0")} |");
                text.Append(string.Concat(baseRates.Select(b => $" {Invariant.F(rate / b)} |")));
                text.Append($" {Invariant.F(Median(cells.Select(c => c.P50Ms)))} | {Invariant.F(Median(cells.Select(c => c.P99Ms)))} |");
                foreach (var process in processNames)
                {
                    var cpu = Median(cells.Where(c => c.CpuMsPerCall.ContainsKey(process)).Select(c => c.CpuMsPerCall[process]));
                    text.Append(double.IsNaN(cpu) ? " – |" : $" {Invariant.F(cpu, "0.000")} |");
                }

                text.AppendLine($" {cells.Sum(c => c.Unexpected)} |");
            }
        }

        text.AppendLine();
        text.AppendLine("Every cell (round order as run):");
        text.AppendLine();
        text.AppendLine("| round | case | callers | calls | calls/s | p50 ms | p99 ms | unexpected (first) |");
        text.AppendLine("|---:|---|---:|---:|---:|---:|---:|---|");
        foreach (var r in results)
        {
            text.AppendLine($"| {r.Round} | {r.Case} | {r.Concurrency} | {r.Calls} | {Invariant.F(r.CallsPerSecond, "0")} | {Invariant.F(r.P50Ms)} | {Invariant.F(r.P99Ms)} | {r.Unexpected}{(r.FirstUnexpected is null ? string.Empty : $" ({r.FirstUnexpected.Replace('|', '/')})")} |");
        }

        return text.ToString();
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
