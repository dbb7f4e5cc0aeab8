namespace CronFunctions.Tests.Infra;

/// <summary>
/// Every template under infra/ compiles and passes the linter of infra/bicepconfig.json with no diagnostic
/// at all, and the check itself can fail (a known-bad template does produce diagnostics).
/// </summary>
public sealed class BicepTemplateTests
{
    public static TheoryData<string> Templates()
    {
        var data = new TheoryData<string>();
        foreach (var file in BicepCli.TemplateFiles())
        {
            data.Add(file);
        }

        return data;
    }

    [Fact]
    public void Templates_IncludeMainAndTheAppModules()
    {
        var files = BicepCli.TemplateFiles();

        Assert.Contains("main.bicep", files);
        Assert.Contains("app/api.bicep", files);
        Assert.Contains("app/rbac.bicep", files);
        Assert.Contains("app/containerapps-job.bicep", files);
        Assert.True(File.Exists(Path.Combine(BicepCli.InfraDirectory, "bicepconfig.json")), "infra/bicepconfig.json is missing.");
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public async Task Build_Template_CompilesWithoutDiagnostics(string file)
    {
        var result = await BicepCli.BuildAsync(file);

        Assert.True(result.ExitCode == 0 && string.IsNullOrWhiteSpace(result.StandardError), $"bicep build {file}:\n{result.Output}");
        Assert.StartsWith("{", result.StandardOutput.TrimStart(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public async Task Lint_Template_HasNoFindings(string file)
    {
        var result = await BicepCli.LintAsync(file);

        Assert.True(result.ExitCode == 0 && string.IsNullOrWhiteSpace(result.StandardError), $"bicep lint {file}:\n{result.Output}");
    }

    [Fact]
    public async Task Lint_BadTemplateUnderOurConfig_ReportsWarnings()
    {
        // A template that breaks three of our rules, linted with a copy of infra/bicepconfig.json: if the config
        // were not picked up or the linter were off, this would pass silently and so would everything above.
        using var directory = new TemporaryDirectory();
        File.Copy(Path.Combine(BicepCli.InfraDirectory, "bicepconfig.json"), Path.Combine(directory.Path, "bicepconfig.json"));
        var template = Path.Combine(directory.Path, "bad.bicep");
        await File.WriteAllTextAsync(template, """
            param unused string
            param described string

            output echo string = described
            """);

        var result = await BicepCli.LintAsync(template);

        Assert.Contains("no-unused-params", result.DiagnosticCodes);
        Assert.Contains("use-description-params", result.DiagnosticCodes);
        Assert.Contains("use-description-outputs", result.DiagnosticCodes);
        Assert.All(result.Diagnostics, line => Assert.Contains(" : Warning ", line, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Build_TemplateWithASyntaxError_FailsWithAnError()
    {
        using var directory = new TemporaryDirectory();
        var template = Path.Combine(directory.Path, "broken.bicep");
        await File.WriteAllTextAsync(template, "param broken int = \n");

        var result = await BicepCli.BuildAsync(template);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(result.Diagnostics, line => line.Contains(" : Error BCP", StringComparison.Ordinal));
    }
}

/// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
internal sealed class TemporaryDirectory : IDisposable
{
    public TemporaryDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "cronfunctions-infra-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
