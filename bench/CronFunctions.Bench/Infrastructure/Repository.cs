using System.Reflection;

namespace CronFunctions.Bench.Infrastructure;

/// <summary>The repository the bench was built from (baked in at build time by the csproj).</summary>
internal static class Repository
{
    public static string Root { get; } =
        typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "RepositoryRoot").Value!;
}

/// <summary>The bench could not set itself up (Azurite missing, a child that would not start): a clear message, exit 2.</summary>
internal sealed class BenchSetupException(string message) : Exception(message);
