using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using CronFunctions.Diagnostics;
using CronFunctions.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CronFunctions.Runs;

/// <summary>
/// The run history in blob storage (no extra service): one append blob of JSON lines per hour, named by the hour of
/// the call (a run's end is appended to the blob of its start, so one read finds both). Records are buffered and
/// written in batches off the request path, at <see cref="RunHistoryOptions.FlushInterval"/> and before the app stops,
/// so recording costs a call no storage request; older blobs than the retention are deleted as new hours begin.
/// </summary>
internal sealed class RunHistory : BackgroundService
{
    private const int MaxBlockBytes = 1024 * 1024;
    private const int FlushAtCount = 1000;
    private static readonly byte[] NewLine = "\n"u8.ToArray();

    private readonly BlobContainerClient _container;
    private readonly RunHistoryOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<RunHistory> _logger;
    private readonly Channel<RunRecord> _pending;
    private readonly SemaphoreSlim _flushGate = new(1, 1);
    private readonly List<RunRecord> _retry = [];
    private bool _containerReady;
    private TaskCompletionSource _flushNow = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public RunHistory(BlobServiceClient service, IOptions<RunHistoryOptions> options, TimeProvider timeProvider, ILogger<RunHistory> logger)
    {
        _options = options.Value;
        _container = service.GetBlobContainerClient(_options.ContainerName);
        _timeProvider = timeProvider;
        _logger = logger;
        _pending = Channel.CreateBounded<RunRecord>(
            new BoundedChannelOptions(_options.MaxPending) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped => Log.RunRecordDropped(_logger, dropped.Job, dropped.Id, dropped.Decision));
    }

    public string ContainerName => _container.Name;

    /// <summary>Queues a record; it is written within <see cref="RunHistoryOptions.FlushInterval"/>.</summary>
    public void Add(RunRecord record)
    {
        _pending.Writer.TryWrite(record);
        if (_pending.Reader.Count >= FlushAtCount)
        {
            Volatile.Read(ref _flushNow).TrySetResult(); // a burst: write now rather than at the next interval
        }
    }

    /// <summary>Writes every queued record now. A failure is logged and the records are kept for the next flush.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _flushGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var batch = new List<RunRecord>(_retry);
            _retry.Clear();
            while (_pending.Reader.TryRead(out var record))
            {
                batch.Add(record);
            }

            foreach (var group in batch.GroupBy(BlobNameOf))
            {
                var records = group.ToList();
                var written = 0;
                try
                {
                    foreach (var (block, count) in Blocks(records))
                    {
                        using (block)
                        {
                            await AppendBlockAsync(group.Key, block, cancellationToken).ConfigureAwait(false);
                        }

                        written += count;
                    }
                }
                catch (Exception ex) when (StorageFailure.Is(ex))
                {
                    // Keep what was not written (only that: no record is stored twice) for the next flush.
                    Log.RunRecordsNotWritten(_logger, ex, records.Count - written, group.Key);
                    _retry.AddRange(records.Skip(written).Take(Math.Max(0, _options.MaxPending - _retry.Count)));
                }
            }
        }
        finally
        {
            _flushGate.Release();
        }
    }

    /// <summary>The newest records first, a run's end merged into its start; optionally only one job's.</summary>
    public async Task<IReadOnlyList<RunRecord>> ListAsync(string? job, int limit, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        var names = new List<string>();
        try
        {
            await foreach (var item in _container.GetBlobsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                names.Add(item.Name);
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return []; // nothing recorded yet
        }

        var result = new List<RunRecord>();
        foreach (var name in names.OrderDescending(StringComparer.Ordinal))
        {
            var records = Merge(await ReadAsync(name, cancellationToken).ConfigureAwait(false))
                .Where(r => job is null || r.Job == job);
            result.AddRange(records);
            if (result.Count >= limit)
            {
                break;
            }
        }

        return [.. result.OrderByDescending(r => r.Time).ThenByDescending(r => r.Id, StringComparer.Ordinal).Take(limit)];
    }

    /// <summary>The record of one call or run (its start merged with its end), or null.</summary>
    public async Task<RunRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        if (!TryParseIdTime(id, out var time))
        {
            return null;
        }

        try
        {
            return Merge(await ReadAsync(BlobNameFor(time), cancellationToken).ConfigureAwait(false)).FirstOrDefault(r => r.Id == id);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        _flushGate.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _pending.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false);
                var flushNow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref _flushNow, flushNow);
                if (_pending.Reader.Count < FlushAtCount)
                {
                    await Task.WhenAny(Task.Delay(_options.FlushInterval, _timeProvider, stoppingToken), flushNow.Task).ConfigureAwait(false);
                }

                await FlushAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    internal static string BlobNameFor(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy'/'MM'/'dd'/'HH'.jsonl'", CultureInfo.InvariantCulture);

    internal static bool TryParseIdTime(string id, out DateTimeOffset time) =>
        DateTimeOffset.TryParseExact(
            id.Length >= 16 ? id[..16] : id, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);

    private static string BlobNameOf(RunRecord record) =>
        BlobNameFor(TryParseIdTime(record.Id, out var time) ? time : record.Time);

    /// <summary>The records as JSON lines, in append blocks of about 1 MiB (a block may hold 4 MiB at most).</summary>
    private static IEnumerable<(MemoryStream Block, int Count)> Blocks(List<RunRecord> records)
    {
        var block = new MemoryStream();
        var count = 0;
        foreach (var record in records)
        {
            JsonSerializer.Serialize(block, record, RunJsonContext.Default.RunRecord);
            block.Write(NewLine);
            count++;
            if (block.Length >= MaxBlockBytes)
            {
                yield return (block, count);
                block = new MemoryStream();
                count = 0;
            }
        }

        if (count > 0)
        {
            yield return (block, count);
        }
        else
        {
            block.Dispose();
        }
    }

    private async Task AppendBlockAsync(string blobName, MemoryStream content, CancellationToken cancellationToken)
    {
        var blob = _container.GetAppendBlobClient(blobName);
        try
        {
            content.Position = 0;
            await blob.AppendBlockAsync(content, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // A new hour (or the first record ever): create the blob, and let old hours go.
            if (!_containerReady || ex.ErrorCode == BlobErrorCode.ContainerNotFound)
            {
                await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                _containerReady = true;
            }

            await blob.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            content.Position = 0;
            await blob.AppendBlockAsync(content, cancellationToken: cancellationToken).ConfigureAwait(false);
            await DeleteExpiredAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task DeleteExpiredAsync(CancellationToken cancellationToken)
    {
        var cutoff = BlobNameFor(_timeProvider.GetUtcNow() - TimeSpan.FromDays(_options.RetentionDays));
        await foreach (var item in _container.GetBlobsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (string.CompareOrdinal(item.Name, cutoff) < 0)
            {
                await _container.DeleteBlobIfExistsAsync(item.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
                Log.RunRecordsExpired(_logger, item.Name);
            }
        }
    }

    private async Task<List<RunRecord>> ReadAsync(string blobName, CancellationToken cancellationToken)
    {
        var content = await _container.GetBlobClient(blobName).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
        var records = new List<RunRecord>();
        foreach (var line in Encoding.UTF8.GetString(content.Value.Content).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            try
            {
                if (JsonSerializer.Deserialize(line, RunJsonContext.Default.RunRecord) is { } record)
                {
                    records.Add(record);
                }
            }
            catch (JsonException ex)
            {
                Log.RunRecordUnreadable(_logger, ex, blobName);
            }
        }

        return records;
    }

    /// <summary>
    /// Folds each <c>ended</c> record into the record of the same run, whichever was written first (a quick run's end
    /// can be queued before its start is, and a takeover on another instance writes whenever it happens).
    /// </summary>
    internal static List<RunRecord> Merge(List<RunRecord> records)
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
                merged.Add(end); // the run started in a record we don't have (another hour, or never written)
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
