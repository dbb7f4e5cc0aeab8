using System.Collections;

namespace CronFunctions.Runners.Local;

/// <summary>
/// The environment a local job gets: an allow-list, never the app's whole environment. The job sees the basics a
/// Python process needs (<see cref="Basics"/>), the variables the operator names (<c>Cron:Local:PassEnvironment</c>,
/// names or <c>PREFIX_*</c> patterns), the values the operator sets (<c>Cron:Local:Environment:NAME</c>), and
/// <c>CRON_RUN_ID</c>, <c>CRON_JOB</c>, <c>PYTHONUNBUFFERED</c>. The host's and platform's secrets
/// (<see cref="Denied"/>, plus <c>Cron:Local:DenyEnvironment</c>) never reach it, whatever is allowed; names are
/// compared ignoring case, because Linux keeps <c>erify_cron_token</c> and <c>ERIFY_CRON_TOKEN</c> apart.
/// </summary>
internal static class JobEnvironment
{
    /// <summary>What any process expects to find, and the usual Python/Django/TLS settings. No secrets.</summary>
    public static readonly IReadOnlyList<string> Basics =
    [
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_*", "TZ", "TMPDIR", "TEMP", "TMP",
        "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONIOENCODING", "DJANGO_SETTINGS_MODULE",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "DOTNET_ROOT", "DOTNET_ROOT_*",
    ];

    /// <summary>The host's and the platform's secrets and identities: removed even when a pattern allows them.</summary>
    public static readonly IReadOnlyList<string> Denied =
    [
        "AzureWebJobs*", "IDENTITY_*", "MSI_*", "APPLICATIONINSIGHTS_*", "APPINSIGHTS_*", "WEBSITE_AUTH_*", "ERIFY_*",
        "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE*", "AZURE_FEDERATED_TOKEN*", "AZURE_USERNAME", "AZURE_PASSWORD",
        "CONTAINER_ENCRYPTION_KEY", "WEBSITE_ENCRYPTION_KEY", "FUNCTIONS_ENCRYPTION_KEY", "Cron__*", "Cron:*",
    ];

    /// <summary>The job's environment, built from <paramref name="source"/> (the app's environment).</summary>
    public static Dictionary<string, string> Build(IDictionary source, LocalRunnerOptions options, string runId, string job)
    {
        var denied = Denied.Concat(options.DenyEnvironment).ToList();
        var allowed = Basics.Concat(options.PassEnvironment).ToList();
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in source)
        {
            if (entry.Key is string name && entry.Value is string value && Matches(allowed, name) && !Matches(denied, name))
            {
                environment[name] = value;
            }
        }

        foreach (var (name, value) in options.Environment)
        {
            if (!Matches(denied, name))
            {
                environment[name] = value;
            }
        }

        environment["CRON_RUN_ID"] = runId;
        environment["CRON_JOB"] = job;
        environment["PYTHONUNBUFFERED"] = "1";
        return environment;
    }

    /// <summary>Whether <paramref name="name"/> matches one of <paramref name="patterns"/> (exact, or <c>PREFIX*</c>), ignoring case.</summary>
    public static bool Matches(IEnumerable<string> patterns, string name) =>
        patterns.Any(pattern => pattern.EndsWith('*')
            ? name.StartsWith(pattern[..^1], StringComparison.OrdinalIgnoreCase)
            : string.Equals(name, pattern, StringComparison.OrdinalIgnoreCase));
}
