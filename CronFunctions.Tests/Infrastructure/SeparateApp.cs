using System.Diagnostics;

namespace CronFunctions.Tests.Infrastructure;

/// <summary>
/// An app instance in its own OS process (the bench tool's <c>hold</c> command): it makes one call, prints the answer,
/// and keeps watching its run until it is killed — which is how a test plays an instance dying mid-run.
/// </summary>
internal sealed class SeparateApp : IAsyncDisposable
{
    private readonly Process _process;

    private SeparateApp(Process process, IReadOnlyList<string> lines)
    {
        _process = process;
        Answers = lines.Select(line =>
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            return (int.Parse(line[..space], System.Globalization.CultureInfo.InvariantCulture),
                System.Text.Json.JsonDocument.Parse(line[(space + 1)..]).RootElement.Clone());
        }).ToList();
    }

    /// <summary>Every call's answer: HTTP status and JSON body.</summary>
    public IReadOnlyList<(int Status, System.Text.Json.JsonElement Body)> Answers { get; }

    public int Status => Answers[0].Status;

    public System.Text.Json.JsonElement Body => Answers[0].Body;

    public string? Str(string name) => Body.TryGetProperty(name, out var v) ? v.ToString() : null;

    /// <summary>Starts an app instance process that makes <paramref name="count"/> concurrent calls at once.</summary>
    public static async Task<SeparateApp> CallAsync(string connectionString, string backendDirectory, string container, string job, string? query = null, int count = 1)
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var dll = Path.Combine(AzuriteInstance.RepositoryRoot, "bench", "CronFunctions.Bench", "bin", testOutput.Parent!.Name, testOutput.Name, "CronFunctions.Bench.dll");
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { dll, "hold", job, query ?? string.Empty, count.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            startInfo.ArgumentList.Add(arg);
        }

        startInfo.Environment["AzureWebJobsStorage"] = connectionString;
        startInfo.Environment["ERIFY_CRON_TOKEN"] = TestApp.Token;
        startInfo.Environment["Cron__Local__PythonExecutable"] = "/bin/sh";
        startInfo.Environment["Cron__Local__BackendDirectory"] = backendDirectory;
        startInfo.Environment["Cron__Lock__ContainerName"] = container;
        startInfo.Environment["Cron__Runs__TableName"] = TestApp.RunsTableFor(container);

        startInfo.Environment["Cron__RateLimit__PermitsPerMinute"] = "100000";

        var process = Process.Start(startInfo)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        var lines = new List<string>();
        while (lines.Count < count)
        {
            lines.Add(await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60))
                ?? throw new InvalidOperationException($"The separate app instance printed {lines.Count} of {count} answers."));
        }

        return new SeparateApp(process, lines);
    }

    /// <summary>Kills the app instance outright (SIGKILL), leaving its run's process and its lock behind.</summary>
    public async Task CrashAsync()
    {
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await CrashAsync();
        }

        _process.Dispose();
    }
}
