using System.Globalization;
using CronFunctions.Runners;
using CronFunctions.Runs;

namespace CronFunctions.Locking;

/// <summary>
/// The run record kept in the lock blob's metadata: which run holds (or last held) the lock and in what state, how
/// to ask its runner about it, when it started and its deadline (times are the storage service's), and the start of
/// the last run that really started (the not-due rule's "last started", which a failed start does not move).
/// </summary>
internal sealed record LockRecord(
    string RunId,
    RunState State,
    string Runner,
    DateTimeOffset Started,
    DateTimeOffset Deadline,
    string? Owner = null,
    RunHandle? Handle = null,
    DateTimeOffset? Ended = null,
    string? Outcome = null,
    int? ExitCode = null,
    DateTimeOffset? LastStarted = null,
    string? LastRunId = null,
    DateTimeOffset? Fenced = null)
{
    /// <summary>Records written by this version carry <c>v=2</c>; older ones were held by infinite leases.</summary>
    public const string Version = "2";

    /// <summary>The start the not-due rule counts from: this run's if it really started, else the last one that did.</summary>
    public DateTimeOffset? SlotStarted => State.CountsAsStarted() ? Started : LastStarted;

    /// <summary>The run id that goes with <see cref="SlotStarted"/>.</summary>
    public string? SlotRunId => State.CountsAsStarted() ? RunId : LastRunId;

    /// <summary>A new attempt's record, carrying the slot of <paramref name="previous"/>.</summary>
    public static LockRecord Begin(string runId, string runner, DateTimeOffset now, TimeSpan maxRuntime, string owner, LockRecord? previous) =>
        new(runId, RunState.Starting, runner, now, now + maxRuntime, owner, LastStarted: previous?.SlotStarted, LastRunId: previous?.SlotRunId);

    public Dictionary<string, string> ToMetadata()
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["v"] = Version,
            ["runid"] = RunId,
            ["state"] = State.ToMetadata(),
            ["runner"] = Runner,
            ["started"] = Format(Started),
            ["deadline"] = Format(Deadline),
        };
        Put(metadata, "owner", Owner);
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
        Put(metadata, "laststarted", LastStarted is { } lastStarted ? Format(lastStarted) : null);
        Put(metadata, "lastrunid", LastRunId);
        Put(metadata, "fenced", Fenced is { } fenced ? Format(fenced) : null);
        return metadata;
    }

    /// <summary>The record in <paramref name="metadata"/>, or null when there is none (a new blob) or it is unreadable.</summary>
    public static LockRecord? FromMetadata(IDictionary<string, string> metadata)
    {
        var m = new Dictionary<string, string>(metadata, StringComparer.OrdinalIgnoreCase);
        if (!m.TryGetValue("runid", out var runId) || RunStates.FromMetadata(m.GetValueOrDefault("state")) is not { } state
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
            m.GetValueOrDefault("owner") ?? handle?.Host,
            handle,
            TryParseTime(m, "ended", out var ended) ? ended : null,
            m.GetValueOrDefault("outcome"),
            int.TryParse(m.GetValueOrDefault("exitcode"), CultureInfo.InvariantCulture, out var exitCode) ? exitCode : null,
            TryParseTime(m, "laststarted", out var lastStarted) ? lastStarted : null,
            m.GetValueOrDefault("lastrunid"),
            TryParseTime(m, "fenced", out var fenced) ? fenced : null);
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
