using System.Globalization;
using CronFunctions.Runners;

namespace CronFunctions.Locking;

/// <summary>
/// The run record kept in the lock blob's metadata: which run holds (or last held) the lock, how to ask its runner
/// whether it is alive, when it started (the not-due guard's "last run started") and its deadline.
/// </summary>
internal sealed record LockRecord(
    string RunId,
    string State,
    string Runner,
    DateTimeOffset Started,
    DateTimeOffset Deadline,
    RunHandle? Handle = null,
    DateTimeOffset? Ended = null,
    string? Outcome = null,
    int? ExitCode = null)
{
    public const string Starting = "starting";
    public const string Running = "running";
    public const string Finished = "ended";

    public bool IsEnded => State == Finished;

    public Dictionary<string, string> ToMetadata()
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["runid"] = RunId,
            ["state"] = State,
            ["runner"] = Runner,
            ["started"] = Format(Started),
            ["deadline"] = Format(Deadline),
        };
        if (Handle is not null)
        {
            metadata["handle"] = Handle.Id;
            Put(metadata, "host", Handle.Host);
            Put(metadata, "pid", Handle.Pid?.ToString(CultureInfo.InvariantCulture));
            Put(metadata, "pstart", Handle.ProcessStartTicks?.ToString(CultureInfo.InvariantCulture));
            Put(metadata, "execution", Handle.Execution);
        }

        Put(metadata, "ended", Ended is { } ended ? Format(ended) : null);
        Put(metadata, "outcome", Outcome);
        Put(metadata, "exitcode", ExitCode?.ToString(CultureInfo.InvariantCulture));
        return metadata;
    }

    public static LockRecord? FromMetadata(IDictionary<string, string> metadata)
    {
        var m = new Dictionary<string, string>(metadata, StringComparer.OrdinalIgnoreCase);
        if (!m.TryGetValue("runid", out var runId) || !m.TryGetValue("state", out var state)
            || !TryParseTime(m, "started", out var started) || !TryParseTime(m, "deadline", out var deadline))
        {
            return null;
        }

        var runner = m.GetValueOrDefault("runner") ?? string.Empty;
        RunHandle? handle = m.TryGetValue("handle", out var id)
            ? new RunHandle(
                runner,
                id,
                Host: m.GetValueOrDefault("host"),
                Pid: int.TryParse(m.GetValueOrDefault("pid"), CultureInfo.InvariantCulture, out var pid) ? pid : null,
                Execution: m.GetValueOrDefault("execution"),
                ProcessStartTicks: long.TryParse(m.GetValueOrDefault("pstart"), CultureInfo.InvariantCulture, out var ticks) ? ticks : null)
            : null;
        return new LockRecord(
            runId,
            state,
            runner,
            started,
            deadline,
            handle,
            TryParseTime(m, "ended", out var ended) ? ended : null,
            m.GetValueOrDefault("outcome"),
            int.TryParse(m.GetValueOrDefault("exitcode"), CultureInfo.InvariantCulture, out var exitCode) ? exitCode : null);
    }

    private static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static void Put(Dictionary<string, string> metadata, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            metadata[key] = value;
        }
    }

    private static bool TryParseTime(Dictionary<string, string> m, string key, out DateTimeOffset value)
    {
        value = default;
        return m.TryGetValue(key, out var text)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value);
    }
}
