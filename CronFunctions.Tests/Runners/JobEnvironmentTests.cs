using System.Collections;
using CronFunctions.Jobs;
using CronFunctions.Runners.Local;
using CronFunctions.Tests.Infrastructure;

namespace CronFunctions.Tests.Runners;

/// <summary>
/// A local job gets only the environment it needs: the host's and platform's secrets never reach it, in any case of
/// their names, whatever the operator allows; the operator passes what the backend needs.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class JobEnvironmentTests(AzuriteFixture azurite) : IDisposable
{
    private static readonly Dictionary<string, string> AppEnvironment = new()
    {
        ["PATH"] = "/usr/bin:/bin",
        ["HOME"] = "/home/site",
        ["LANG"] = "C.UTF-8",
        ["LC_ALL"] = "C.UTF-8",
        ["TZ"] = "UTC",
        ["DJANGO_SETTINGS_MODULE"] = "ynr.settings",
        ["AzureWebJobsStorage"] = "DefaultEndpointsProtocol=https;AccountKey=secret",
        ["AzureWebJobsStorage__accountName"] = "stcron",
        ["azurewebjobsstorage__clientId"] = "client",
        ["IDENTITY_ENDPOINT"] = "http://169.254.169.254/msi/token",
        ["IDENTITY_HEADER"] = "identity-secret",
        ["MSI_ENDPOINT"] = "http://localhost:8081/msi/token",
        ["MSI_SECRET"] = "msi-secret",
        ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = "InstrumentationKey=secret",
        ["WEBSITE_AUTH_ENCRYPTION_KEY"] = "auth-secret",
        ["ERIFY_CRON_TOKEN"] = "token-secret",
        ["erify_cron_token_secondary"] = "token-secret-2",
        ["Erify_Anything"] = "token-secret-3",
        ["Cron__Local__PythonExecutable"] = "python",
        ["AZURE_CLIENT_SECRET"] = "sp-secret",
        ["DATABASE_URL"] = "postgres://db/ynr",
        ["DJANGO_SECRET_KEY"] = "django-secret",
        ["SLACK_TOKEN"] = "slack",
        ["RANDOM_APP_SETTING"] = "x",
    };

    private readonly FakeBackend _backend = new("env");

    public void Dispose() => _backend.Dispose();

    public static TheoryData<string, bool> Expectations => new()
    {
        // name, reaches the job (with PassEnvironment = DATABASE_URL, DJANGO_*, ERIFY_*, IDENTITY_HEADER)
        { "PATH", true },
        { "HOME", true },
        { "LANG", true },
        { "LC_ALL", true },
        { "TZ", true },
        { "DJANGO_SETTINGS_MODULE", true },
        { "DATABASE_URL", true },
        { "DJANGO_SECRET_KEY", true },
        { "SLACK_TOKEN", false },
        { "RANDOM_APP_SETTING", false },
        { "AzureWebJobsStorage", false },
        { "AzureWebJobsStorage__accountName", false },
        { "azurewebjobsstorage__clientId", false },
        { "IDENTITY_ENDPOINT", false },
        { "IDENTITY_HEADER", false },
        { "MSI_ENDPOINT", false },
        { "MSI_SECRET", false },
        { "APPLICATIONINSIGHTS_CONNECTION_STRING", false },
        { "WEBSITE_AUTH_ENCRYPTION_KEY", false },
        { "ERIFY_CRON_TOKEN", false },
        { "erify_cron_token_secondary", false },
        { "Erify_Anything", false },
        { "Cron__Local__PythonExecutable", false },
        { "AZURE_CLIENT_SECRET", false },
    };

    [Theory]
    [MemberData(nameof(Expectations))]
    public void Variable_ReachesTheJob_OnlyWhenAllowedAndNeverWhenASecret(string name, bool reaches)
    {
        var options = new LocalRunnerOptions { PassEnvironment = ["DATABASE_URL", "DJANGO_*", "ERIFY_*", "IDENTITY_HEADER"] };

        var environment = JobEnvironment.Build(new Hashtable(AppEnvironment), options, "run-1", "sopn-parse");

        Assert.Equal(reaches, environment.ContainsKey(name));
    }

    [Fact]
    public void ValuesTheOperatorSets_AreAdded_AndTheRunsIdentityToo()
    {
        var options = new LocalRunnerOptions { Environment = { ["DJANGO_LOG_LEVEL"] = "INFO" } };

        var environment = JobEnvironment.Build(new Hashtable(AppEnvironment), options, "run-1", "sopn-parse");

        Assert.Equal("INFO", environment["DJANGO_LOG_LEVEL"]);
        Assert.Equal(("run-1", "sopn-parse", "1"), (environment["CRON_RUN_ID"], environment["CRON_JOB"], environment["PYTHONUNBUFFERED"]));
    }

    [Theory]
    [InlineData("Cron:Local:Environment:ERIFY_CRON_TOKEN", "x")]
    [InlineData("Cron:Local:Environment:msi_secret", "x")]
    [InlineData("Cron:Local:PassEnvironment:0", "*")]
    public async Task SettingThatWouldHandASecretToTheJob_FailsValidation(string key, string value)
    {
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName(), new Dictionary<string, string?> { [key] = value });

        Assert.ThrowsAny<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
                .GetRequiredService<Microsoft.Extensions.Options.IOptions<LocalRunnerOptions>>(app.Services).Value);
    }

    [Fact]
    public async Task ARealJob_SeesExactlyTheAllowedEnvironment()
    {
        Environment.SetEnvironmentVariable("ERIFY_CRON_TOKEN", "process-token-secret-value");
        Environment.SetEnvironmentVariable("erify_cron_token_secondary", "process-token-secret-value-2");
        Environment.SetEnvironmentVariable("IDENTITY_HEADER", "process-identity-secret");
        Environment.SetEnvironmentVariable("CRONTEST_PASSED", "yes");
        try
        {
            await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName(),
                new Dictionary<string, string?> { ["Cron:Local:PassEnvironment:0"] = "CRONTEST_*" });
            var started = await app.PostAsync(JobCatalog.SopnParse);
            await app.WaitForRunsAsync();

            var lines = app.Logs.GetSnapshot().Where(r => r.Id.Id == 2500).Select(r => (string)r.GetStructuredStateValue("Line")!).ToList();
            var names = lines.Select(l => l.Split('=', 2)[0]).ToHashSet(StringComparer.Ordinal);
            Assert.Contains("CRONTEST_PASSED", names);
            Assert.Contains("CRON_RUN_ID=" + started.Str("runId"), lines);
            Assert.DoesNotContain(names, n => n.StartsWith("ERIFY", StringComparison.OrdinalIgnoreCase) || n.StartsWith("IDENTITY", StringComparison.Ordinal));
            Assert.All(names, n => Assert.True(
                JobEnvironment.Matches([.. JobEnvironment.Basics, "CRONTEST_*", "CRON_RUN_ID", "CRON_JOB", "PYTHONUNBUFFERED", "DOTNET_gcServer", "PWD", "SHLVL", "_"], n),
                $"{n} reached the job without being allowed"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("ERIFY_CRON_TOKEN", null);
            Environment.SetEnvironmentVariable("erify_cron_token_secondary", null);
            Environment.SetEnvironmentVariable("IDENTITY_HEADER", null);
            Environment.SetEnvironmentVariable("CRONTEST_PASSED", null);
        }
    }
}
