using System.Globalization;
using System.Text.Json;
using LoadGen;

// Usage: LoadGen <plan.json>. Prints Markdown to stdout, progress to stderr. Exit 0 all answers as expected, 1 an
// unexpected answer, 2 bad usage.
if (args.Length != 1 || !File.Exists(args[0]))
{
    await Console.Error.WriteLineAsync("usage: LoadGen <plan.json>").ConfigureAwait(false);
    return 2;
}

var plan = JsonSerializer.Deserialize(await File.ReadAllTextAsync(args[0]).ConfigureAwait(false), PlanJsonContext.Default.Plan)
    ?? throw new InvalidOperationException("empty plan");
using var runner = new Runner(plan);
var results = await runner.RunAsync().ConfigureAwait(false);
Console.Write(Report.Markdown(plan, results));
return results.Any(r => r.Unexpected > 0) ? 1 : 0;

namespace LoadGen
{
    internal static class Invariant
    {
        public static string F(double value, string format = "0.00") => value.ToString(format, CultureInfo.InvariantCulture);
    }
}
