namespace CronFunctions.Runners;

/// <summary>The registered runners, by <see cref="IJobRunner.Kind"/>.</summary>
internal sealed class RunnerRegistry(IEnumerable<IJobRunner> runners)
{
    private readonly Dictionary<string, IJobRunner> _byKind = runners.ToDictionary(r => r.Kind, StringComparer.Ordinal);

    /// <summary>The runner of <paramref name="kind"/>, or null when none is registered (a record from another version).</summary>
    public IJobRunner? Find(string kind) => _byKind.GetValueOrDefault(kind);

    public IJobRunner Get(string kind) =>
        _byKind.TryGetValue(kind, out var runner)
            ? runner
            : throw new InvalidOperationException($"No runner of kind '{kind}' is registered.");
}
