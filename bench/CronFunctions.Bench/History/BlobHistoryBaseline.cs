using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using CronFunctions.Runs;

namespace CronFunctions.Bench.History;

/// <summary>
/// The run history as it was before the table (kept here only to measure it): JSON lines in hourly append blobs
/// (<c>yyyy/MM/dd/HH.jsonl</c>, named by the hour in the run id), a run's start and end as two lines, appended in blocks
/// of at most 1 MiB; a list reads the container's listing, then downloads hour blobs newest first, merging ends into
/// starts, until it has the records it was asked for. The read path is the old <c>RunHistory.ListAsync</c>'s.
/// </summary>
internal sealed class BlobHistoryBaseline(BlobContainerClient container)
{
    private const int MaxBlockBytes = 1024 * 1024;
    private static readonly byte[] NewLine = "\n"u8.ToArray();

    /// <summary>Stores the records the old way: grouped by hour, appended in blocks of at most 1 MiB.</summary>
    public async Task WriteAsync(IEnumerable<RunRecord> records, CancellationToken cancellationToken)
    {
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        foreach (var hour in records.GroupBy(BlobNameOf))
        {
            var blob = container.GetAppendBlobClient(hour.Key);
            await blob.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            using var block = new MemoryStream();
            foreach (var record in hour)
            {
                JsonSerializer.Serialize(block, record, RunJsonContext.Default.RunRecord);
                block.Write(NewLine);
                if (block.Length >= MaxBlockBytes)
                {
                    await AppendAsync(blob, block, cancellationToken).ConfigureAwait(false);
                }
            }

            if (block.Length > 0)
            {
                await AppendAsync(blob, block, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The old list: newest records first, a run's end merged into its start; optionally one job's.</summary>
    public async Task<IReadOnlyList<RunRecord>> ListAsync(string? job, int limit, CancellationToken cancellationToken)
    {
        var names = new List<string>();
        try
        {
            await foreach (var item in container.GetBlobsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                names.Add(item.Name);
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return [];
        }

        var result = new List<RunRecord>();
        foreach (var name in names.OrderDescending(StringComparer.Ordinal))
        {
            result.AddRange(Merge(await ReadAsync(name, cancellationToken).ConfigureAwait(false)).Where(r => job is null || r.Job == job));
            if (result.Count >= limit)
            {
                break;
            }
        }

        return [.. result.OrderByDescending(r => r.Time).ThenByDescending(r => r.Id, StringComparer.Ordinal).Take(limit)];
    }

    /// <summary>The old get: the hour blob named by the id, downloaded whole, merged, searched.</summary>
    public async Task<RunRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var time = DateTimeOffset.ParseExact(id[..16], "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        return Merge(await ReadAsync(BlobNameFor(time), cancellationToken).ConfigureAwait(false)).FirstOrDefault(r => r.Id == id);
    }

    private static async Task AppendAsync(AppendBlobClient blob, MemoryStream block, CancellationToken cancellationToken)
    {
        block.Position = 0;
        await blob.AppendBlockAsync(block, cancellationToken: cancellationToken).ConfigureAwait(false);
        block.SetLength(0);
    }

    private static string BlobNameFor(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy'/'MM'/'dd'/'HH'.jsonl'", CultureInfo.InvariantCulture);

    private static string BlobNameOf(RunRecord record) =>
        BlobNameFor(DateTimeOffset.ParseExact(record.Id[..16], "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal));

    private async Task<List<RunRecord>> ReadAsync(string blobName, CancellationToken cancellationToken)
    {
        var content = await container.GetBlobClient(blobName).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
        var records = new List<RunRecord>();
        foreach (var line in Encoding.UTF8.GetString(content.Value.Content).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (JsonSerializer.Deserialize(line, RunJsonContext.Default.RunRecord) is { } record)
            {
                records.Add(record);
            }
        }

        return records;
    }

    /// <summary>Folds each end into the start of the same run, whichever came first (the old client-side merge).</summary>
    private static List<RunRecord> Merge(List<RunRecord> records)
    {
        var merged = new List<RunRecord>(records.Count);
        var byId = new Dictionary<string, int>(StringComparer.Ordinal);
        var endings = new Dictionary<string, RunRecord>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            if (record.Decision == RunRecord.Finished)
            {
                endings[record.Id] = record;
            }
            else if (byId.TryAdd(record.Id, merged.Count))
            {
                merged.Add(record);
            }
        }

        foreach (var (id, end) in endings)
        {
            if (!byId.TryGetValue(id, out var index))
            {
                merged.Add(end);
                continue;
            }

            merged[index] = merged[index] with
            {
                Ended = end.Ended ?? end.Time,
                Outcome = end.Outcome,
                ExitCode = end.ExitCode,
                DurationSeconds = end.DurationSeconds,
                LastLines = end.LastLines,
            };
        }

        return merged;
    }
}
