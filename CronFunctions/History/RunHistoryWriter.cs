using CronFunctions.Jobs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CronFunctions.History;

/// <summary>
/// The run history's background work, one round every <see cref="RunHistoryOptions.RetryInterval"/>: write the
/// records kept after a failed write (oldest first, stopping at the first failure), persist each job's last check (at
/// most once a minute per job), report dropped records as one error with their count (at most once a minute), and
/// every <see cref="RunHistoryOptions.CleanupInterval"/> delete rows past the retention. No exception escapes it (a
/// faulted hosted service would stop the host); at shutdown it writes what it can and reports what it could not.
/// </summary>
internal sealed class RunHistoryWriter(
    RunTable table,
    PendingRecords pending,
    JobChecks checks,
    IOptions<RunHistoryOptions> options,
    TimeProvider timeProvider,
    ILogger<RunHistoryWriter> logger) : BackgroundService
{
    private static readonly TimeSpan ReportEvery = TimeSpan.FromMinutes(1);

    private readonly RunHistoryOptions _options = options.Value;
    private readonly SemaphoreSlim _round = new(1, 1);
    private DateTimeOffset? _nextCleanup;
    private DateTimeOffset? _lastDropReport;
    private DateTimeOffset? _lastRetryWarning;
    private DateTimeOffset _droppedSince = timeProvider.GetUtcNow();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.RetryInterval, timeProvider, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            await RunOnceAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>One round of the background work. Never throws.</summary>
    internal async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _round.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        try
        {
            await GuardAsync("retry", ct => RetryPendingAsync(ct), cancellationToken).ConfigureAwait(false);
            await GuardAsync("check write", ct => WriteChecksAsync(ignoreInterval: false, ct), cancellationToken).ConfigureAwait(false);
            ReportDrops(force: false);
            var now = timeProvider.GetUtcNow();
            if (_nextCleanup is null || now >= _nextCleanup)
            {
                _nextCleanup = now + _options.CleanupInterval;
                await GuardAsync("cleanup", CleanupAsync, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _round.Release();
        }
    }

    /// <summary>Deletes the rows past the retention: a range query per job partition and per index day, no scan.</summary>
    internal async Task CleanupAsync(CancellationToken cancellationToken)
    {
        var cutoff = timeProvider.GetUtcNow() - TimeSpan.FromDays(_options.RetentionDays);
        var deleted = await table.DeleteOlderThanAsync(JobCatalog.All.Select(j => j.Name), cutoff, cancellationToken).ConfigureAwait(false);
        if (deleted > 0)
        {
            HistoryLog.RowsExpired(logger, deleted, cutoff, _options.RetentionDays);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);

        // A last chance, within the host's shutdown time, for what is pending; then say what is lost.
        await GuardAsync("retry at shutdown", ct => RetryPendingAsync(ct), cancellationToken).ConfigureAwait(false);
        await GuardAsync("check write at shutdown", ct => WriteChecksAsync(ignoreInterval: true, ct), cancellationToken).ConfigureAwait(false);
        pending.CountDropped(pending.Count);
        ReportDrops(force: true);
    }

    public override void Dispose()
    {
        _round.Dispose();
        base.Dispose();
    }

    private async Task RetryPendingAsync(CancellationToken cancellationToken)
    {
        var written = 0;
        while (pending.Oldest() is { } node)
        {
            var record = node.Value;
            try
            {
                await table.WriteAsync(record, cancellationToken).ConfigureAwait(false);
                pending.Remove(node);
                written++;
            }
            catch (Exception ex) when (HistoryFailure.IsRejected(ex))
            {
                pending.Remove(node);
                pending.CountDropped(1);
                HistoryLog.RecordRejected(logger, ex, record.Job, record.Id, record.Decision);
            }
            catch (Exception ex) when (HistoryFailure.IsTransient(ex) && !cancellationToken.IsCancellationRequested)
            {
                var now = timeProvider.GetUtcNow();
                if (_lastRetryWarning is null || now - _lastRetryWarning >= ReportEvery)
                {
                    _lastRetryWarning = now;
                    HistoryLog.RetryFailed(logger, ex, pending.Count, _options.RetryInterval.TotalSeconds);
                }

                break; // still down: the next round tries again
            }
        }

        if (written > 0)
        {
            HistoryLog.RetrySucceeded(logger, written);
        }
    }

    private async Task WriteChecksAsync(bool ignoreInterval, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        foreach (var (job, check) in checks.DueForWrite(now, ignoreInterval))
        {
            checks.Attempted(job, null, now); // a failure waits for the next interval too
            await table.WriteCheckAsync(job, check, cancellationToken).ConfigureAwait(false);
            checks.Attempted(job, check, now);
        }
    }

    private void ReportDrops(bool force)
    {
        var now = timeProvider.GetUtcNow();
        if (!force && _lastDropReport is { } last && now - last < ReportEvery)
        {
            return;
        }

        var dropped = pending.TakeDropped();
        if (dropped > 0)
        {
            HistoryLog.RecordsDropped(logger, dropped, _droppedSince, pending.MaxPending);
            _lastDropReport = now;
            _droppedSince = now;
        }
    }

    private async Task GuardAsync(string step, Func<CancellationToken, Task> action, CancellationToken cancellationToken)
    {
        try
        {
            await action(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // stopping
        }
        catch (Exception ex) when (HistoryFailure.IsTransient(ex))
        {
            HistoryLog.StepFailed(logger, ex, step);
        }
#pragma warning disable CA1031 // A hosted service must not fault (it would stop the host): log it and carry on next round.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            HistoryLog.StepFailedUnexpectedly(logger, ex, step);
        }
    }
}
