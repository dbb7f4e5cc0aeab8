using System.Diagnostics;

namespace CronFunctions.Tests.Infrastructure;

/// <summary>
/// An app instance in its own OS process (the bench tool's <c>hold</c> command): it makes one call, prints the answer,
/// and keeps watching its run until it is killed — which is how a test plays an instance dying mid-run.
/// </summary>
internal sealed class SeparateApp : IAsyncDisposable
{
    private readonly Process _process;

    private SeparateApp(Process process, string firstLine)
    {
        _process = process;
        var space = firstLine.IndexOf(' ', StringComparison.Ordinal);
        Status = int.Parse(firstLine[..space], System.Globalization.CultureInfo.InvariantCulture);
        Body = System.Text.Json.JsonDocument.Parse(firstLine[(space + 1)..]).RootElement.Clone();
    }

    public int Status { get; }

    public System.Text.Json.JsonElement Body { get; }

    public string? Str(string name) => Body.TryGetProperty(name, out var v) ? v.ToString() : null;

    public static async Task<SeparateApp> CallAsync(string connectionString, string backendDirectory, string container, string job, string? query = null)
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var dll = Path.Combine(AzuriteInstance.RepositoryRoot, "bench", "CronFunctions.Bench", "bin", testOutput.Parent!.Name, testOutput.Name, "CronFunctions.Bench.dll");
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { dll, "hold", job, query ?? string.Empty })
        {
            startInfo.ArgumentList.Add(arg);
        }

        startInfo.Environment["AzureWebJobsStorage"] = connectionString;
        startInfo.Environment["ERIFY_CRON_TOKEN"] = TestApp.Token;
        startInfo.Environment["Cron__Local__PythonExecutable"] = "/bin/sh";
        startInfo.Environment["Cron__Local__BackendDirectory"] = backendDirectory;
        startInfo.Environment["Cron__Lock__ContainerName"] = container;

        var process = Process.Start(startInfo)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60))
            ?? throw new InvalidOperationException("The separate app instance printed nothing.");
        return new SeparateApp(process, line);
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
