using System.Diagnostics;
using System.Globalization;
using System.Reflection.PortableExecutable;
using CronFunctions.Bench.Infrastructure;
using CronFunctions.Jobs;
using Microsoft.Extensions.Configuration;

namespace CronFunctions.Bench;

/// <summary>
/// Start-up time: the bench runs itself as a child process in the hidden <c>startup-probe</c> mode, which composes
/// the app and makes one started call, and times Process.Start → the answer's line on the child's stdout.
/// Measured for the normal build (JIT) and, when it can be published, a ReadyToRun build.
/// </summary>
internal static class StartupCommand
{
    public const string ProbeCommand = "startup-probe";
    private const int Runs = 5;
    private static readonly JobDefinition Job = JobCatalog.EeRecent;

    /// <summary>The child: compose the app, make one call (a forced start of a trivial run), print when answered.</summary>
    public static async Task<int> ProbeAsync(IConfiguration configuration)
    {
        var atMain = DateTime.UtcNow;
        DateTime processStart;
        using (var self = Process.GetCurrentProcess())
        {
            processStart = self.StartTime.ToUniversalTime();
        }

        await using var app = new TestApp(configuration, services: TestApp.LogWarningsToStandardError);
        var composed = DateTime.UtcNow;
        var answer = await app.PostAsync(Job, "?force=true", "Bearer " + configuration["ERIFY_CRON_TOKEN"]).ConfigureAwait(false);
        var answered = DateTime.UtcNow;
        Console.WriteLine(FormattableString.Invariant(
            $"answered {answer.Status} main={(atMain - processStart).TotalMilliseconds:F0} compose={(composed - atMain).TotalMilliseconds:F1} call={(answered - composed).TotalMilliseconds:F1} {answer.Body.GetRawText()}"));
        await Console.Out.FlushAsync().ConfigureAwait(false);
        await app.WaitForRunsAsync().ConfigureAwait(false); // release the lock before exiting, for the next probe
        return answer.Status == 200 ? 0 : 1;
    }

    /// <summary>The parent: measures each variant (one discarded run to warm the file cache, then five).</summary>
    public static async Task<List<string>> MeasureAsync(AzuriteInstance azurite, FakeBackend backend, StorageCounter storage, LogCounter logs, bool tryReadyToRun)
    {
        var container = BenchApp.NewContainerName("bench-startup");
        await using (var prepare = BenchApp.Create(azurite.ConnectionString, backend, container, storage, logs))
        {
            // The lock blob exists already, as in production: the probe's call is a steady-state start.
            backend.SetMode(Job.Name, "exit");
            await prepare.TimedPostAsync(Job, "?force=true").ConfigureAwait(false);
            await prepare.WaitForRunsAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }

        var environment = BenchApp.Settings(azurite.ConnectionString, backend.Directory, container)
            .ToDictionary(p => p.Key.Replace(":", "__", StringComparison.Ordinal), p => p.Value);
        var rows = new List<string>
        {
            "### Start-up",
            string.Empty,
            "Wall time from `Process.Start` of the bench in `startup-probe` mode to its line saying the first call was answered " +
            $"(a forced start of a trivial run; the lock blob exists). Median of {Runs} runs after one discarded run. " +
            "The child's own split: runtime start → Main (from the process start time, 10 ms resolution), composing the services, the first call.",
            string.Empty,
            "| variant | median ms | min ms | max ms | → Main ms | compose ms | first call ms |",
            "|---|---:|---:|---:|---:|---:|---:|",
        };
        var notes = new List<string>();

        var (jitFile, jitArgs) = SelfCommand();
        rows.Add(await VariantAsync("JIT (build output)", jitFile, jitArgs, environment).ConfigureAwait(false));

        if (tryReadyToRun)
        {
            RunCommand.Progress("start-up: publishing the ReadyToRun variant");
            var (r2rFile, problem) = await PublishReadyToRunAsync().ConfigureAwait(false);
            if (r2rFile is not null)
            {
                rows.Add(await VariantAsync("ReadyToRun (`dotnet publish -r linux-x64 -p:PublishReadyToRun=true`)", r2rFile, [], environment).ConfigureAwait(false));
            }
            else
            {
                notes.Add($"The ReadyToRun variant could not be built: {problem}");
            }
        }
        else
        {
            notes.Add("The ReadyToRun variant was skipped (`--no-r2r`).");
        }

        rows.Add(string.Empty);
        rows.AddRange(notes.SelectMany(n => new[] { n, string.Empty }));
        return rows;
    }

    private static async Task<string> VariantAsync(string name, string file, IReadOnlyList<string> prefix, Dictionary<string, string?> environment)
    {
        var walls = new List<double>();
        var splits = new List<(double Main, double Compose, double Call)>();
        for (var run = 0; run <= Runs; run++)
        {
            var startInfo = new ProcessStartInfo(file)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in prefix.Append(ProbeCommand))
            {
                startInfo.ArgumentList.Add(arg);
            }

            foreach (var (key, value) in environment)
            {
                startInfo.Environment[key] = value;
            }

            var stopwatch = Stopwatch.StartNew();
            using var process = Process.Start(startInfo) ?? throw new HarnessSetupException($"{file} did not start.");
            ProcessTools.Own(process.Id);
            process.ErrorDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            var wall = stopwatch.Elapsed.TotalMilliseconds;
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            ProcessTools.Disown(process.Id);
            if (line is null || !line.StartsWith("answered 200 ", StringComparison.Ordinal))
            {
                throw new HarnessSetupException($"The start-up probe ({name}) answered \"{line}\" instead of a started run.");
            }

            if (run == 0)
            {
                continue; // warms the file cache; not counted
            }

            walls.Add(wall);
            var fields = line.Split(' ').Skip(2).Take(3).Select(f => double.Parse(f[(f.IndexOf('=', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture)).ToArray();
            splits.Add((fields[0], fields[1], fields[2]));
        }

        return $"| {name} | {Fmt.N(Median(walls))} | {Fmt.N(walls.Min())} | {Fmt.N(walls.Max())} | {Fmt.N(Median(splits.Select(s => s.Main)))} | {Fmt.N(Median(splits.Select(s => s.Compose)), "0.0")} | {Fmt.N(Median(splits.Select(s => s.Call)))} |";
    }

    /// <summary>How to start this very build of the bench: its app host, or <c>dotnet bench.dll</c>.</summary>
    internal static (string File, IReadOnlyList<string> Prefix) SelfCommand()
    {
        var path = Environment.ProcessPath ?? "dotnet";
        return Path.GetFileNameWithoutExtension(path) == "dotnet"
            ? (path, [typeof(StartupCommand).Assembly.Location])
            : (path, []);
    }

    private static async Task<(string? File, string? Problem)> PublishReadyToRunAsync()
    {
        var project = Path.Combine(Repository.Root, "bench", "CronFunctions.Bench", "CronFunctions.Bench.csproj");
        var outputDirectory = Path.Combine(Repository.Root, "bench", "CronFunctions.Bench", "bin", "r2r");
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "publish", project, "-c", "Release", "-r", "linux-x64", "--self-contained", "false", "-p:PublishReadyToRun=true", "-o", outputDirectory, "--nologo" })
        {
            startInfo.ArgumentList.Add(arg);
        }

        using var process = Process.Start(startInfo) ?? throw new HarnessSetupException("dotnet publish did not start.");
        ProcessTools.Own(process.Id);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(4)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            ProcessTools.KillWithDescendants(process.Id);
            return (null, "`dotnet publish` did not finish within 4 minutes.");
        }

        ProcessTools.Disown(process.Id);
        var log = (await stdout.ConfigureAwait(false)) + (await stderr.ConfigureAwait(false));
        if (process.ExitCode != 0)
        {
            var errors = log.Split('\n').Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)).Take(3);
            return (null, $"`dotnet publish` exited with {process.ExitCode}: {string.Join(" / ", errors).Trim()}");
        }

        var executable = Path.Combine(outputDirectory, "CronFunctions.Bench");
        var app = Path.Combine(outputDirectory, "CronFunctions.dll");
        if (!File.Exists(executable) || !IsReadyToRun(app))
        {
            return (null, $"the publish output has no ReadyToRun code ({app}).");
        }

        return (executable, null);
    }

    /// <summary>True when the assembly carries precompiled native code (a ReadyToRun header).</summary>
    private static bool IsReadyToRun(string assembly)
    {
        using var stream = File.OpenRead(assembly);
        using var reader = new PEReader(stream);
        return reader.PEHeaders.CorHeader?.ManagedNativeHeaderDirectory.Size > 0;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
