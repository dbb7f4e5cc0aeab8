using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace CronFunctions.Testing;

/// <summary>
/// An app instance in its own OS process (<c>CronFunctions.Testing.Instance</c>): it makes its calls at once, prints
/// each answer, and keeps watching its runs until it is killed — which is how a test or the drill plays an instance
/// dying mid-run, and races instances across processes.
/// </summary>
public sealed class SeparateApp : IAsyncDisposable
{
    private const string Project = "CronFunctions.Testing.Instance";
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private int _disposed;

    private SeparateApp(Process process, IReadOnlyList<string> lines)
    {
        _process = process;
        Answers = lines.Select(line =>
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            using var body = JsonDocument.Parse(line[(space + 1)..]);
            return (int.Parse(line[..space], CultureInfo.InvariantCulture), body.RootElement.Clone());
        }).ToList();
    }

    /// <summary>Every call's answer: HTTP status and JSON body.</summary>
    public IReadOnlyList<(int Status, JsonElement Body)> Answers { get; }

    public JsonElement Body => Answers[0].Body;

    /// <summary>Whether the instance answered (a fault may have killed it first).</summary>
    public bool Answered => Answers.Count > 0;

    public string? Str(string name) => Answered && Body.TryGetProperty(name, out var v) ? v.ToString() : null;

    /// <summary>
    /// Starts an app instance process on <paramref name="connectionString"/>, the fake backend in
    /// <paramref name="backendDirectory"/> and lock container <paramref name="container"/> (<see cref="TestApp.Settings"/>,
    /// no rate limit) that makes <paramref name="count"/> concurrent POSTs to <paramref name="job"/> at once.
    /// </summary>
    /// <param name="fault">
    /// A fault on one of the instance's storage requests (<see cref="StorageFaults.FromEnvironment"/>, e.g.
    /// <c>Write:1:Kill</c>): it may then die before it answers.
    /// </param>
    public static Task<SeparateApp> CallAsync(
        string connectionString, string backendDirectory, string container, string job, string? query = null, int count = 1,
        string? fault = null, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var all = TestApp.Settings(connectionString, backendDirectory, container);
        all["Cron:RateLimit:PermitsPerMinute"] = "100000";
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        if (fault is not null)
        {
            all[StorageFaults.EnvironmentVariable] = fault;
        }

        return CallAsync(all, job, query, count);
    }

    /// <summary>Starts an app instance process configured by <paramref name="settings"/> (configuration keys).</summary>
    public static async Task<SeparateApp> CallAsync(IReadOnlyDictionary<string, string?> settings, string job, string? query = null, int count = 1)
    {
        var dll = Path.Combine(Repository.OutputOf(Project), Project + ".dll");
        if (!File.Exists(dll))
        {
            throw new HarnessSetupException($"{dll} is missing: build {Project} (the tests and the bench reference it, so building either builds it).");
        }

        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { dll, job, query ?? string.Empty, count.ToString(CultureInfo.InvariantCulture) })
        {
            startInfo.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in settings)
        {
            startInfo.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = Process.Start(startInfo) ?? throw new HarnessSetupException($"{Project} did not start.");
        ProcessTools.Own(process.Id);
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        var lines = new List<string>();
        var mayDie = settings.ContainsKey(StorageFaults.EnvironmentVariable);
        try
        {
            while (lines.Count < count)
            {
                var line = await process.StandardOutput.ReadLineAsync().WaitAsync(AnswerTimeout).ConfigureAwait(false);
                if (line is null && mayDie)
                {
                    break; // its fault killed it before it answered
                }

                lines.Add(line ?? throw new InvalidOperationException($"The separate app instance printed {lines.Count} of {count} answers, then exited."));
            }
        }
        catch
        {
            await KillAsync(process).ConfigureAwait(false);
            process.Dispose();
            throw;
        }

        return new SeparateApp(process, lines);
    }

    /// <summary>Stops the instance gracefully (SIGTERM) as a host stops its worker, and waits for it to exit.</summary>
    public async Task StopAsync()
    {
        _ = CronFunctions.Runners.Local.NativeMethods.Kill(_process.Id, CronFunctions.Runners.Local.NativeMethods.SigTerm);
        await _process.WaitForExitAsync().WaitAsync(AnswerTimeout).ConfigureAwait(false);
    }

    /// <summary>Waits until the instance has died by itself (its fault killed it).</summary>
    public Task ExitedAsync() => _process.WaitForExitAsync().WaitAsync(AnswerTimeout);

    /// <summary>Kills the app instance outright (SIGKILL), leaving its runs' processes and their locks behind.</summary>
    public Task CrashAsync() => KillAsync(_process);

    /// <summary>Kills the instance if it still runs; a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await KillAsync(_process).ConfigureAwait(false);
        _process.Dispose();
    }

    private static async Task KillAsync(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: false);
            await process.WaitForExitAsync().ConfigureAwait(false);
        }

        ProcessTools.Disown(process.Id);
    }
}
