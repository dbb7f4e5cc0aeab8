using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;

namespace CronFunctions.Tests.Infra;

/// <summary>
/// Runs the Bicep CLI that NuGet restored (package Azure.Bicep.CommandLine.linux-x64, located through the
/// <c>BicepCliDirectory</c> assembly metadata of this test project). No network: the templates use no
/// registry modules and the linter rules that would ask a registry are off.
/// </summary>
internal static partial class BicepCli
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private static readonly Lazy<string> Executable = new(FindExecutable);

    /// <summary>The repository root.</summary>
    public static string RepositoryRoot => Repository.Root;

    /// <summary>The <c>infra</c> folder of the repository.</summary>
    public static string InfraDirectory { get; } = Path.Combine(RepositoryRoot, "infra");

    /// <summary>Path of the bicep binary used by the tests.</summary>
    public static string ExecutablePath => Executable.Value;

    /// <summary>Every .bicep file under infra/, relative to infra/ with forward slashes, sorted.</summary>
    public static IReadOnlyList<string> TemplateFiles() =>
        [.. Directory.EnumerateFiles(InfraDirectory, "*.bicep", SearchOption.AllDirectories)
            .Where(path => !path.Split(Path.DirectorySeparatorChar).Contains("node_modules"))
            .Select(path => Path.GetRelativePath(InfraDirectory, path).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)];

    /// <summary><c>bicep build FILE --stdout</c>: the ARM JSON on stdout, diagnostics on stderr.</summary>
    public static Task<BicepResult> BuildAsync(string file) => RunAsync("build", file, "--stdout");

    /// <summary><c>bicep lint FILE</c>: diagnostics only.</summary>
    public static Task<BicepResult> LintAsync(string file) => RunAsync("lint", file);

    public static async Task<BicepResult> RunAsync(params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(ExecutablePath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = InfraDirectory,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        // The CLI is a self-contained .NET app; without ICU on the machine it needs invariant globalization.
        startInfo.Environment["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "1";

        using var process = Process.Start(startInfo)
            ?? throw new InvalidOperationException($"Could not start {ExecutablePath}.");
        using var timeout = new CancellationTokenSource(Timeout);
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', arguments)} did not finish in {Timeout}.");
        }

        return new BicepResult(process.ExitCode, await stdout, await stderr);
    }

    private static string FindExecutable()
    {
        var directory = Metadata("BicepCliDirectory");
        var path = Path.Combine(directory, "tools", "bicep");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"No Bicep CLI at {path}. Restore the test project (package Azure.Bicep.CommandLine.linux-x64).", path);
        }

        // NuGet extracts the binary without guaranteeing the execute bit for everyone.
        if (!OperatingSystem.IsWindows())
        {
            const UnixFileMode execute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            var mode = File.GetUnixFileMode(path);
            if ((mode & UnixFileMode.UserExecute) == 0)
            {
                File.SetUnixFileMode(path, mode | execute);
            }
        }

        return path;
    }

    private static string Metadata(string key)
    {
        var value = typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .SingleOrDefault(attribute => attribute.Key == key)?.Value;
        if (string.IsNullOrEmpty(value))
        {
            throw new InvalidOperationException($"Assembly metadata '{key}' is missing; see CronFunctions.Tests.csproj.");
        }

        return value;
    }

    /// <summary>A diagnostic line as the CLI prints it: <c>path(line,col) : Warning rule-or-code: message</c>.</summary>
    [GeneratedRegex(@"\(\d+,\d+\) : (?<level>Error|Warning|Info) (?<code>[A-Za-z0-9-]+): ")]
    internal static partial Regex DiagnosticLine();
}

/// <summary>What one CLI run printed.</summary>
internal sealed record BicepResult(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Diagnostic lines (errors, warnings, infos). The CLI prints them on stderr.</summary>
    public IReadOnlyList<string> Diagnostics =>
        [.. StandardError.Split('\n').Select(line => line.TrimEnd()).Where(line => BicepCli.DiagnosticLine().IsMatch(line))];

    /// <summary>Diagnostic codes: rule names for linter findings, BCPnnn for compiler ones.</summary>
    public IReadOnlyList<string> DiagnosticCodes =>
        [.. Diagnostics.Select(line => BicepCli.DiagnosticLine().Match(line).Groups["code"].Value)];

    /// <summary>Everything the CLI printed on stderr, for assertion messages.</summary>
    public string Output => $"exit code {ExitCode}\n{StandardError}".Trim();
}
