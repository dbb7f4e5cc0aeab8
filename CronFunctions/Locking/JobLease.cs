using System.Diagnostics.CodeAnalysis;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using CronFunctions.Diagnostics;
using CronFunctions.Jobs;
using CronFunctions.Runners;
using CronFunctions.Storage;
using Microsoft.Extensions.Logging;

namespace CronFunctions.Locking;

/// <summary>
/// A held job lock: an infinite blob lease plus the run record in the blob's metadata, written under the lease.
/// It outlives the HTTP request: the runner releases it when the run ends, or another call takes it over once the
/// run is seen to be dead or past its deadline. Release is idempotent and ignores a lease already taken over.
/// </summary>
[SuppressMessage("Reliability", "CA1001", Justification = "The SemaphoreSlim never allocates a wait handle (only WaitAsync is used), so it holds nothing to dispose.")]
internal sealed class JobLease
{
    private readonly BlobClient _blob;
    private readonly BlobLeaseClient _leaseClient;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private LockRecord _record;
    private bool _released;

    internal JobLease(BlobClient blob, string leaseId, LockRecord record, TimeProvider timeProvider, ILogger logger)
    {
        _blob = blob;
        _leaseClient = blob.GetBlobLeaseClient(leaseId);
        _record = record;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public string RunId => _record.RunId;

    public string LeaseId => _leaseClient.LeaseId;

    public string JobName => _blob.Name;

    /// <summary>Records the started run's handle, so any instance can later ask its runner whether it is alive.</summary>
    public async Task MarkRunningAsync(RunHandle handle, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_released)
            {
                return; // the run already ended and released the lock
            }

            _record = _record with { State = LockRecord.Running, Handle = handle, Runner = handle.Runner };
            await WriteAsync(_record, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>When the lock may be taken over whatever its run's state: the run's start plus its maximum runtime.</summary>
    public DateTimeOffset Deadline => _record.Deadline;

    /// <summary>
    /// Writes the run's outcome into the record and releases the lease. Safe to call more than once, and again after a
    /// failure (<see cref="LockUnavailableException"/>): only a completed release (or a lease already gone) counts.
    /// </summary>
    public async Task ReleaseAsync(RunOutcome outcome, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_released)
            {
                return;
            }

            var ended = _record with
            {
                State = LockRecord.Finished,
                Ended = _timeProvider.GetUtcNow(),
                Outcome = outcome.Outcome,
                ExitCode = outcome.ExitCode,
            };
            try
            {
                await WriteAsync(ended, cancellationToken).ConfigureAwait(false);
                await _leaseClient.ReleaseAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                _record = ended;
                _released = true;
                Log.LockReleased(_logger, JobName, RunId);
            }
            catch (RequestFailedException ex) when (IsLeaseGone(ex))
            {
                // Taken over (its run was judged dead or past its deadline) or deleted: nothing of ours to release.
                _released = true;
                Log.LockLostBeforeRelease(_logger, JobName, RunId);
            }
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            Log.LockReleaseFailed(_logger, ex, JobName, RunId);
            throw new LockUnavailableException($"The lock of {JobName} could not be released.", ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task WriteAsync(LockRecord record, CancellationToken cancellationToken) =>
        await _blob.SetMetadataAsync(record.ToMetadata(), new BlobRequestConditions { LeaseId = LeaseId }, cancellationToken)
            .ConfigureAwait(false);

    internal static bool IsLeaseGone(RequestFailedException ex) =>
        ex.Status is 404 or 409 or 412;
}
