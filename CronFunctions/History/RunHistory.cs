using CronFunctions.Jobs;
using CronFunctions.Runs;
using Microsoft.Extensions.Logging;

namespace CronFunctions.History;

/// <summary>
/// The run history: what the app decided about authenticated calls and how each run ended, one table row per run
/// (see <see cref="RunRows"/> for the keys). A record is written when it happens, awaited by its caller; if storage
/// or the identity fails, it is kept in memory and retried by <see cref="RunHistoryWriter"/>, so recording never fails
/// a call. <c>not_due</c> and <c>already_running</c> answers are not stored one row per call:
/// <see cref="NoteChecked"/> keeps each job's last check in memory and the writer persists it at most once a minute.
/// Reads go to storage only; they never touch the records still pending.
/// </summary>
internal sealed class RunHistory(RunTable table, PendingRecords pending, JobChecks checks, TimeProvider timeProvider, ILogger<RunHistory> logger)
{
    public string TableName => table.Name;

    /// <summary>
    /// Writes <paramref name="record"/> now (its run row, merged with whatever part of the run is already there).
    /// Never throws: a storage, identity or timeout failure, or <paramref name="cancellationToken"/> firing, keeps the
    /// record for retry in the background; a record storage refuses is dropped, counted and logged as an error.
    /// </summary>
    public async Task RecordAsync(RunRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Decision != RunRecord.Finished)
        {
            // Every recorded decision is also a check of its job.
            checks.Note(record.Job, new JobCheck(record.Decision == RunRecord.Started ? RunRecord.Started : record.Reason ?? record.Decision, record.Time, record.RunId));
        }

        try
        {
            await table.WriteAsync(record, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (HistoryFailure.IsRejected(ex))
        {
            pending.CountDropped(1);
            HistoryLog.RecordRejected(logger, ex, record.Job, record.Id, record.Decision);
        }
        catch (Exception ex) when (HistoryFailure.IsTransient(ex))
        {
            pending.Enqueue(record);
            HistoryLog.RecordQueued(logger, ex, record.Job, record.Id, record.Decision, pending.Count);
        }
#pragma warning disable CA1031 // Recording must never fail the call or the run it records: anything else is logged and counted.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            pending.CountDropped(1);
            HistoryLog.RecordFailed(logger, ex, record.Job, record.Id, record.Decision);
        }
    }

    /// <summary>
    /// Notes that an authenticated call checked <paramref name="job"/> and got <paramref name="decision"/>
    /// (<c>not_due</c>, <c>already_running</c>). In memory only: costs the call no storage request.
    /// </summary>
    public void NoteChecked(string job, string decision, DateTimeOffset time, string? runId) =>
        checks.Note(job, new JobCheck(decision, time, runId));

    /// <summary>The newest records first, a run's end merged into its start; one job's (one query) or all jobs'.</summary>
    public async Task<IReadOnlyList<RunRecord>> ListAsync(string? job, int limit, CancellationToken cancellationToken)
    {
        if (job is not null)
        {
            return await table.ListAsync(job, limit, cancellationToken).ConfigureAwait(false);
        }

        var perJob = await Task.WhenAll(JobCatalog.All.Select(j => table.ListAsync(j.Name, limit, cancellationToken))).ConfigureAwait(false);
        return [.. perJob.SelectMany(records => records)
            .OrderByDescending(r => r.Time)
            .ThenByDescending(r => r.Id, StringComparer.Ordinal)
            .Take(limit)];
    }

    /// <summary>The record of one run or call by its id (two point reads), or null.</summary>
    public Task<RunRecord?> GetAsync(string id, CancellationToken cancellationToken) => table.GetAsync(id, cancellationToken);

    /// <summary>Each job's summary (last check, last success, watched since), this instance's newer checks included.</summary>
    public async Task<IReadOnlyDictionary<string, JobSummaryRow>> ReadSummariesAsync(CancellationToken cancellationToken)
    {
        var stored = await table.ReadSummariesAsync(cancellationToken).ConfigureAwait(false);
        var summaries = new Dictionary<string, JobSummaryRow>(StringComparer.Ordinal);
        foreach (var job in JobCatalog.All)
        {
            var summary = stored.GetValueOrDefault(job.Name) ?? new JobSummaryRow(job.Name, null, null, null, null, null);
            if (checks.Latest(job.Name) is { } local && (summary.LastCheck is null || local.Time > summary.LastCheck.Time))
            {
                summary = summary with { LastCheck = local };
            }

            summaries[job.Name] = summary;
        }

        return summaries;
    }

    /// <summary>Records when the health monitor began watching <paramref name="job"/> (its reference until a first run).</summary>
    public Task MarkWatchedAsync(string job, CancellationToken cancellationToken) =>
        table.WriteWatchedSinceAsync(job, timeProvider.GetUtcNow(), cancellationToken);
}
