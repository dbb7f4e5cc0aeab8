using System.Collections.Concurrent;

namespace CronFunctions.History;

/// <summary>
/// The last authenticated call that checked each job, in memory (so <c>not_due</c> and <c>already_running</c> answers
/// cost no storage request), and which of them the background writer still has to persist to the job's summary row.
/// </summary>
internal sealed class JobChecks
{
    /// <summary>A job's check is written to storage at most this often.</summary>
    public static readonly TimeSpan WriteEvery = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, JobCheck> _latest = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (JobCheck? Written, DateTimeOffset Attempted)> _writes = new(StringComparer.Ordinal);

    public void Note(string job, JobCheck check) =>
        _latest.AddOrUpdate(job, check, (_, old) => check.Time >= old.Time ? check : old);

    public JobCheck? Latest(string job) => _latest.GetValueOrDefault(job);

    /// <summary>The checks newer than what was written, for jobs not attempted in the last <see cref="WriteEvery"/>.</summary>
    public IReadOnlyList<(string Job, JobCheck Check)> DueForWrite(DateTimeOffset now, bool ignoreInterval = false) =>
        [.. _latest
            .Where(p => !_writes.TryGetValue(p.Key, out var write)
                || (write.Written != p.Value && (ignoreInterval || now - write.Attempted >= WriteEvery)))
            .Select(p => (p.Key, p.Value))];

    public void Attempted(string job, JobCheck? written, DateTimeOffset at) =>
        _writes.AddOrUpdate(job, (written, at), (_, old) => (written ?? old.Written, at));
}
