using Azure;
using Azure.Data.Tables;
using CronFunctions.Runs;
using Microsoft.Extensions.Options;

namespace CronFunctions.History;

/// <summary>
/// The storage adapter of the run history: the reads and upserts <see cref="RunRows"/> describes, against one Azure
/// Table (created on first write). Failures propagate (<see cref="HistoryFailure"/> tells which are worth a retry);
/// a missing table reads as empty.
/// </summary>
internal sealed class RunTable(TableServiceClient service, IOptions<RunHistoryOptions> options)
{
    /// <summary>Azure Tables takes at most 100 operations in one entity group transaction.</summary>
    private const int MaxBatch = 100;

    private readonly TableClient _table = service.GetTableClient(options.Value.TableName);

    public string Name => _table.Name;

    /// <summary>
    /// Writes a record: its run row (merged), its id index row and, for a successful end, the job summary's last
    /// success. Idempotent: writing a record again changes nothing, so a retry is always safe.
    /// </summary>
    public async Task WriteAsync(RunRecord record, CancellationToken cancellationToken)
    {
        var rows = new List<TableEntity>(3) { RunRows.RunRow(record) };
        if (RunRows.IndexRow(record) is { } index)
        {
            rows.Add(index);
        }

        if (RunRows.SuccessRow(record) is { } success)
        {
            rows.Add(success);
        }

        await Task.WhenAll(rows.Select(row => UpsertAsync(row, cancellationToken))).ConfigureAwait(false);
    }

    /// <summary>The newest <paramref name="limit"/> records of <paramref name="job"/>, newest first: one query.</summary>
    public async Task<IReadOnlyList<RunRecord>> ListAsync(string job, int limit, CancellationToken cancellationToken)
    {
        var records = new List<RunRecord>(limit);
        try
        {
            var query = _table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {job}"), maxPerPage: limit, cancellationToken: cancellationToken);
            await foreach (var page in query.AsPages().ConfigureAwait(false))
            {
                foreach (var entity in page.Values)
                {
                    records.Add(RunRows.FromRow(entity));
                    if (records.Count == limit)
                    {
                        return records;
                    }
                }
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // no table yet: nothing recorded
        }

        return records;
    }

    /// <summary>One record by its id: a point read of its index row, then of its run row. Null when unknown.</summary>
    public async Task<RunRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        if (!RunRows.TryParseIdTime(id, out var time))
        {
            return null;
        }

        try
        {
            var index = await _table.GetEntityIfExistsAsync<TableEntity>(RunRows.IndexPartition(time), id, ["Job"], cancellationToken).ConfigureAwait(false);
            if (!index.HasValue || index.Value!.GetString("Job") is not { Length: > 0 } job)
            {
                return null;
            }

            var row = await _table.GetEntityIfExistsAsync<TableEntity>(job, RunRows.RowKey(id, time), cancellationToken: cancellationToken).ConfigureAwait(false);
            return row.HasValue ? RunRows.FromRow(row.Value!) : null;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Every job's summary row (last check, last success, watched since): one query.</summary>
    public async Task<IReadOnlyDictionary<string, JobSummaryRow>> ReadSummariesAsync(CancellationToken cancellationToken)
    {
        var summaries = new Dictionary<string, JobSummaryRow>(StringComparer.Ordinal);
        try
        {
            await foreach (var entity in _table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {RunRows.SummaryPartition}"), cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                summaries[entity.RowKey] = RunRows.SummaryFromRow(entity);
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // no table yet
        }

        return summaries;
    }

    public Task WriteCheckAsync(string job, JobCheck check, CancellationToken cancellationToken) =>
        UpsertAsync(RunRows.CheckRow(job, check), cancellationToken);

    public Task WriteWatchedSinceAsync(string job, DateTimeOffset since, CancellationToken cancellationToken) =>
        UpsertAsync(RunRows.WatchedRow(job, since), cancellationToken);

    /// <summary>
    /// Deletes the run rows of <paramref name="jobs"/> that started before <paramref name="cutoff"/> (one range query
    /// per job: older rows sort last) and their id index rows. Returns how many
    /// rows it deleted.
    /// </summary>
    public async Task<int> DeleteOlderThanAsync(IEnumerable<string> jobs, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var deleted = 0;
        string[] keysOnly = ["PartitionKey", "RowKey"];
        try
        {
            foreach (var job in jobs)
            {
                var filter = TableClient.CreateQueryFilter($"PartitionKey eq {job} and RowKey ge {RunRows.OlderThanKey(cutoff)}");
                deleted += await DeleteAsync(_table.QueryAsync<TableEntity>(filter, MaxBatch * 10, keysOnly, cancellationToken), cancellationToken).ConfigureAwait(false);
            }

            // Index rows: whole days before the cutoff's day, then that day's rows before the cutoff (ids sort by time).
            var indexFilter = TableClient.CreateQueryFilter(
                $"PartitionKey ge {RunRows.IndexPartitionPrefix} and PartitionKey lt {RunRows.IndexPartition(cutoff)}");
            deleted += await DeleteAsync(_table.QueryAsync<TableEntity>(indexFilter, MaxBatch * 10, keysOnly, cancellationToken), cancellationToken).ConfigureAwait(false);
            var cutoffDayFilter = TableClient.CreateQueryFilter(
                $"PartitionKey eq {RunRows.IndexPartition(cutoff)} and RowKey lt {RunRows.IdPrefix(cutoff)}");
            deleted += await DeleteAsync(_table.QueryAsync<TableEntity>(cutoffDayFilter, MaxBatch * 10, keysOnly, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // no table yet: nothing to delete
        }

        return deleted;
    }

    private async Task<int> DeleteAsync(AsyncPageable<TableEntity> rows, CancellationToken cancellationToken)
    {
        // Collect first, then delete: deleting while paging through the same range could skip rows.
        var keys = new List<(string PartitionKey, string RowKey)>();
        await foreach (var row in rows.ConfigureAwait(false))
        {
            keys.Add((row.PartitionKey, row.RowKey));
        }

        foreach (var partition in keys.GroupBy(k => k.PartitionKey, StringComparer.Ordinal))
        {
            foreach (var batch in partition.Chunk(MaxBatch))
            {
                try
                {
                    await _table.SubmitTransactionAsync(
                        batch.Select(k => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(k.PartitionKey, k.RowKey))),
                        cancellationToken).ConfigureAwait(false);
                }
                catch (TableTransactionFailedException)
                {
                    // Another instance's cleanup deleted some of these first: the batch fails whole, so delete one by
                    // one (a row already gone is fine).
                    foreach (var (partitionKey, rowKey) in batch)
                    {
                        try
                        {
                            await _table.DeleteEntityAsync(partitionKey, rowKey, ETag.All, cancellationToken).ConfigureAwait(false);
                        }
                        catch (RequestFailedException ex) when (ex.Status == 404)
                        {
                            // already gone
                        }
                    }
                }
            }
        }

        return keys.Count;
    }

    private async Task UpsertAsync(TableEntity entity, CancellationToken cancellationToken)
    {
        try
        {
            await _table.UpsertEntityAsync(entity, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // The first write ever (or the table was deleted): create it and write again.
            await _table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
            await _table.UpsertEntityAsync(entity, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
        }
    }
}
