using System.Reflection;

namespace CronFunctions.Testing;

/// <summary>Facts baked in at build time by the csproj: the repository this harness was built from, and how.</summary>
public static class Repository
{
    /// <summary>The repository root (where <c>node_modules</c> and every project are).</summary>
    public static string Root { get; } = Metadata("RepositoryRoot");

    /// <summary>The build configuration (Debug/Release) of this harness, and so of the projects built with it.</summary>
    public static string Configuration { get; } = Metadata("BuildConfiguration");

    public static string TargetFramework { get; } = Metadata("TargetFramework");

    /// <summary>The build output of one of the repository's projects, built in the same configuration as this harness.</summary>
    public static string OutputOf(string project) => Path.Combine(Root, project, "bin", Configuration, TargetFramework);

    private static string Metadata(string key) =>
        typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}

/// <summary>The harness could not set itself up (Azurite not installed, a process that would not start): says how to fix it.</summary>
public sealed class HarnessSetupException(string message) : Exception(message);
