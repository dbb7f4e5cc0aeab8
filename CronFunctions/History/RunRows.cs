using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using CronFunctions.Runs;

namespace CronFunctions.History;

/// <summary>
/// How run records map to rows of the run history table. One table, three kinds of row:
/// <list type="bullet">
/// <item><b>run</b>: PartitionKey = job, RowKey = <c>{inverted start ticks, 19 digits}_{runId}</c>. A job's partition
/// sorts newest first, so "the last N runs of a job" is one query that reads N rows. The start ticks come from the run
/// id (<c>yyyyMMddTHHmmssZ-…</c>), so a run's end computes the same key without reading anything and merges into its
/// start row (upsert, merge mode); start and end write disjoint columns, so either may land first.</item>
/// <item><b>id index</b>: PartitionKey = <c>_ids-yyyyMMdd</c> (the run id's day), RowKey = runId, column <c>Job</c>.
/// "One run by id" is two point reads: this row, then the run row. Partitioned by day so retention deletes whole
/// days of it with range queries.</item>
/// <item><b>job summary</b>: PartitionKey = <c>_jobs</c>, RowKey = job: the last check (not_due / already_running
/// calls are not stored one row per call), the last successful run, and when the health monitor began watching it.
/// Six rows, read in one query.</item>
/// </list>
/// Job names are lowercase words with hyphens (the catalog), so they never collide with the <c>_</c> partitions.
/// </summary>
internal static partial class RunRows
{
    public const string IndexPartitionPrefix = "_ids-";
    public const string SummaryPartition = "_jobs";

    /// <summary>Azure Tables keeps at most 64 KiB (32K UTF-16 characters) per string column: stay well below.</summary>
    public const int MaxLastLinesChars = 30_000;
    public const int MaxLineChars = 4_000;
    public const int MaxTextChars = 4_000;

    private const string Cut = " …[cut]";
    private static readonly long MaxTicks = DateTimeOffset.MaxValue.UtcTicks;

    /// <summary>Whether <paramref name="id"/> is a run id (<c>20261125T143512Z-3f9a1c2b</c>), and the second it names.</summary>
    public static bool TryParseIdTime(string? id, out DateTimeOffset time)
    {
        time = default;
        return id is not null && IdPattern().IsMatch(id)
            && DateTimeOffset.TryParseExact(
                id[..16], "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);
    }

    /// <summary>The run row's key: newest first within the job's partition.</summary>
    public static string RowKey(string runId, DateTimeOffset started) =>
        string.Create(CultureInfo.InvariantCulture, $"{InvertedTicks(started):D19}_{runId}");

    /// <summary>The smallest run-row key of a run that started before <paramref name="time"/> (rows at or past it are older).</summary>
    public static string OlderThanKey(DateTimeOffset time) =>
        (InvertedTicks(time) + 1).ToString("D19", CultureInfo.InvariantCulture);

    /// <summary>The start of the run ids of <paramref name="time"/>'s second: every id of an earlier run sorts before it.</summary>
    public static string IdPrefix(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    public static string IndexPartition(DateTimeOffset idTime) =>
        IndexPartitionPrefix + idTime.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    /// <summary>The run row for <paramref name="record"/>: a start (or a decision) writes its columns, an end only the end's.</summary>
    public static TableEntity RunRow(RunRecord record)
    {
        var entity = new TableEntity(record.Job, RowKeyOf(record));
        if (record.Decision != RunRecord.Finished)
        {
            Put(entity, "Decision", record.Decision);
            Put(entity, "Reason", record.Reason);
            Put(entity, "RunId", record.RunId);
            Put(entity, "Time", record.Time);
            Put(entity, "HttpStatus", record.HttpStatus);
            Put(entity, "Runner", record.Runner);
            Put(entity, "Handle", record.Handle);
            Put(entity, "Pid", record.Pid);
            Put(entity, "Execution", record.Execution);
            Put(entity, "NextDue", record.NextDue);
            Put(entity, "Force", record.Force);
            Put(entity, "Arguments", record.Arguments is null ? null : JsonSerializer.Serialize(record.Arguments, HistoryJsonContext.Default.IReadOnlyListString));
            Put(entity, "Error", Bound(record.Error));
            Put(entity, "Source", record.Source);
            Put(entity, "CfWorker", record.CfWorker);
            Put(entity, "CorrelationId", record.CorrelationId);
            Put(entity, "Client", record.Client);
            Put(entity, "ScheduledTime", record.ScheduledTime);
        }

        if (record.Decision == RunRecord.Finished || record.Outcome is not null)
        {
            Put(entity, "Ended", record.Ended ?? record.Time);
            Put(entity, "Outcome", record.Outcome);
            Put(entity, "ExitCode", record.ExitCode);
            Put(entity, "DurationSeconds", record.DurationSeconds);
            Put(entity, "LastLines", record.LastLines is null ? null : JsonSerializer.Serialize(BoundLines(record.LastLines), HistoryJsonContext.Default.IReadOnlyListString));
            if (record.Decision == RunRecord.Finished)
            {
                Put(entity, "EndError", Bound(record.Error));
            }
        }

        return entity;
    }

    /// <summary>The id index row of a record (null for a record whose id is not a run id: it can only be listed).</summary>
    public static TableEntity? IndexRow(RunRecord record) =>
        TryParseIdTime(record.Id, out var time)
            ? new TableEntity(IndexPartition(time), record.Id) { ["Job"] = record.Job }
            : null;

    /// <summary>The job summary columns a successful run's end sets.</summary>
    public static TableEntity? SuccessRow(RunRecord record) =>
        record.Decision == RunRecord.Finished && IsSuccess(record.Outcome)
            ? new TableEntity(SummaryPartition, record.Job)
            {
                ["LastSuccessRunId"] = record.Id,
                ["LastSuccessEnded"] = record.Ended ?? record.Time,
                ["LastSuccessDurationSeconds"] = record.DurationSeconds,
            }
            : null;

    public static TableEntity CheckRow(string job, JobCheck check) => new(SummaryPartition, job)
    {
        ["LastChecked"] = check.Time,
        ["LastCheckDecision"] = check.Decision,
        ["LastCheckRunId"] = check.RunId,
    };

    public static TableEntity WatchedRow(string job, DateTimeOffset since) => new(SummaryPartition, job) { ["WatchedSince"] = since };

    public static bool IsSuccess(string? outcome) => string.Equals(outcome, "Succeeded", StringComparison.OrdinalIgnoreCase);

    /// <summary>A run row read back: a start merged with its end, or an end alone (its start never written).</summary>
    public static RunRecord FromRow(TableEntity entity)
    {
        var separator = entity.RowKey.IndexOf('_', StringComparison.Ordinal);
        var id = separator >= 0 ? entity.RowKey[(separator + 1)..] : entity.RowKey;
        var decision = entity.GetString("Decision");
        var ended = entity.GetDateTimeOffset("Ended");
        var time = entity.GetDateTimeOffset("Time") ?? ended ?? (TryParseIdTime(id, out var idTime) ? idTime : entity.Timestamp ?? default);
        return new RunRecord
        {
            Id = id,
            Job = entity.PartitionKey,
            Decision = decision ?? RunRecord.Finished,
            Reason = entity.GetString("Reason"),
            RunId = entity.GetString("RunId") ?? (decision is null ? id : null),
            Time = time,
            HttpStatus = entity.GetInt32("HttpStatus"),
            Runner = entity.GetString("Runner"),
            Handle = entity.GetString("Handle"),
            Pid = entity.GetInt32("Pid"),
            Execution = entity.GetString("Execution"),
            NextDue = entity.GetDateTimeOffset("NextDue"),
            Force = entity.GetBoolean("Force"),
            Arguments = Lines(entity.GetString("Arguments")),
            Ended = ended,
            Outcome = entity.GetString("Outcome"),
            ExitCode = entity.GetInt32("ExitCode"),
            DurationSeconds = entity.GetDouble("DurationSeconds"),
            LastLines = Lines(entity.GetString("LastLines")),
            Error = entity.GetString("Error") ?? entity.GetString("EndError"),
            Source = entity.GetString("Source"),
            CfWorker = entity.GetString("CfWorker"),
            CorrelationId = entity.GetString("CorrelationId"),
            Client = entity.GetString("Client"),
            ScheduledTime = entity.GetString("ScheduledTime"),
        };
    }

    public static JobSummaryRow SummaryFromRow(TableEntity entity) => new(
        entity.RowKey,
        entity.GetDateTimeOffset("LastChecked") is { } checkedAt
            ? new JobCheck(entity.GetString("LastCheckDecision") ?? "checked", checkedAt, entity.GetString("LastCheckRunId"))
            : null,
        entity.GetString("LastSuccessRunId"),
        entity.GetDateTimeOffset("LastSuccessEnded"),
        entity.GetDouble("LastSuccessDurationSeconds"),
        entity.GetDateTimeOffset("WatchedSince"));

    /// <summary>The newest lines that fit a table column: each line cut at <see cref="MaxLineChars"/>, the oldest dropped past <see cref="MaxLastLinesChars"/>.</summary>
    public static IReadOnlyList<string> BoundLines(IReadOnlyList<string> lines)
    {
        var kept = new List<string>(lines.Count);
        var total = 2; // the JSON array's brackets
        for (var i = lines.Count - 1; i >= 0; i--)
        {
            var line = lines[i].Length > MaxLineChars ? string.Concat(lines[i].AsSpan(0, MaxLineChars), Cut) : lines[i];
            var cost = JsonSerializer.Serialize(line, HistoryJsonContext.Default.String).Length + 1;
            if (total + cost > MaxLastLinesChars)
            {
                break;
            }

            total += cost;
            kept.Add(line);
        }

        kept.Reverse();
        return kept;
    }

    private static string RowKeyOf(RunRecord record) =>
        TryParseIdTime(record.Id, out var started)
            ? RowKey(record.Id, started)
            : RowKey(KeySafe(record.Id), record.Time); // not a run id (never made by this app): keyed by its time

    private static long InvertedTicks(DateTimeOffset time) => MaxTicks - time.UtcTicks;

    private static string? Bound(string? text) =>
        text is { Length: > MaxTextChars } ? string.Concat(text.AsSpan(0, MaxTextChars), Cut) : text;

    private static string KeySafe(string id) =>
        new([.. id.Take(64).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '-')]);

    private static IReadOnlyList<string>? Lines(string? json) =>
        json is null ? null : JsonSerializer.Deserialize(json, HistoryJsonContext.Default.IReadOnlyListString);

    private static void Put(TableEntity entity, string name, object? value)
    {
        if (value is not null)
        {
            entity[name] = value;
        }
    }

    [GeneratedRegex("^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();
}

/// <summary>The last authenticated call that checked a job (its decision, time and the run it named).</summary>
internal sealed record JobCheck(string Decision, DateTimeOffset Time, string? RunId);

/// <summary>A job's summary row: its last check, last successful run, and since when the health monitor watches it.</summary>
internal sealed record JobSummaryRow(
    string Job,
    JobCheck? LastCheck,
    string? LastSuccessRunId,
    DateTimeOffset? LastSuccessEnded,
    double? LastSuccessDurationSeconds,
    DateTimeOffset? WatchedSince);

/// <summary>The list columns (arguments, last lines) as JSON text.</summary>
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(string))]
internal sealed partial class HistoryJsonContext : JsonSerializerContext;
