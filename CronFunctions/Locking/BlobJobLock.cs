using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using CronFunctions.Diagnostics;
using CronFunctions.History;
using CronFunctions.Jobs;
using CronFunctions.Runners;
using CronFunctions.Runs;
using CronFunctions.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CronFunctions.Locking;

/// <summary>
/// At most one run of a job at any moment, across app instances and restarts: an infinite lease on one blob per job,
/// with the run record in the blob's metadata. See README "The lock" for the protocol and the failure cases.
/// <para>
/// One call: read the blob (1 request). Held by a live run → busy. Held by a dead run, a run past its deadline, or a
/// holder that never wrote its record → break the lease, conditional on the ETag just read (so two callers cannot
/// both take over), and read again. Free → not-due check, then acquire the lease conditional on that same ETag (so a
/// duplicate delivery racing a run that just ended cannot start the slot twice), then write the run record under the
/// lease. Only after that write succeeds may the run start: a lease broken under us fails the write, so a takeover
/// never overlaps a started run.
/// </para>
/// </summary>
internal sealed class BlobJobLock(
    BlobContainerClient container,
    IEnumerable<IJobRunner> runners,
    RunHistory history,
    TimeProvider timeProvider,
    IOptions<LockOptions> options,
    ILogger<BlobJobLock> logger)
{
    private readonly Dictionary<string, IJobRunner> _runners = runners.ToDictionary(r => r.Kind, StringComparer.Ordinal);
    private const string NotFoundOutcome = "NotFound";
    private static readonly TimeSpan OwnerReleaseWait = TimeSpan.FromMilliseconds(250);
    private volatile bool _containerReady;

    public string ContainerName => container.Name;

    public async Task<LockAttempt> TryAcquireAsync(JobSettings settings, string runId, bool force, CancellationToken cancellationToken)
    {
        var job = settings.Job;
        var blob = container.GetBlobClient(job.Name);
        var lockOptions = options.Value;
        var delay = TimeSpan.FromMilliseconds(50);
        var waitedForRecord = TimeSpan.Zero;
        var waitedForOwner = false;
        string? lastSeenRunId = null;

        try
        {
            for (var attempt = 0; attempt < lockOptions.MaxAttempts; attempt++)
            {
                var properties = await GetOrCreateAsync(blob, cancellationToken).ConfigureAwait(false);
                var record = LockRecord.FromMetadata(properties.Metadata);
                lastSeenRunId = record?.RunId ?? lastSeenRunId;
                var now = timeProvider.GetUtcNow();

                if (properties.LeaseState is LeaseState.Leased or LeaseState.Breaking)
                {
                    var verdict = await JudgeHolderAsync(settings, record, now, cancellationToken).ConfigureAwait(false);
                    if (verdict is null)
                    {
                        return new LockAttempt.Busy(record?.RunId);
                    }

                    if (verdict == HolderVerdict.NoRecordYet && waitedForRecord < lockOptions.RecordGrace)
                    {
                        // A caller that just took the lease writes its record next: give it a moment. This waits on
                        // another process's storage request, so it is real time, not the schedule's (injected) time.
                        var wait = delay < lockOptions.RecordGrace - waitedForRecord ? delay : lockOptions.RecordGrace - waitedForRecord;
                        await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                        waitedForRecord += wait;
                        delay *= 2;
                        attempt--; // waiting for a record is not a contention round
                        continue;
                    }

                    if (verdict.RunEnded && !waitedForOwner)
                    {
                        // The run just ended: its own instance is likely writing the outcome and releasing right now.
                        // Let it, so the outcome is kept; if it doesn't, the (conditional) takeover follows.
                        waitedForOwner = true;
                        await Task.Delay(OwnerReleaseWait, cancellationToken).ConfigureAwait(false);
                        attempt--;
                        continue;
                    }

                    if (await TryBreakAsync(blob, properties.ETag, cancellationToken).ConfigureAwait(false))
                    {
                        Log.LockTakenOver(logger, job.Name, record?.RunId, verdict.Reason);
                        if (record is { IsEnded: false })
                        {
                            // Nobody else will report this run's end: record what we learned of it.
                            await history.RecordAsync(RunRecord.EndOf(record.RunId, job.Name, now, verdict.Outcome) with
                            {
                                Error = "Lock taken over: " + verdict.Reason,
                            }, CancellationToken.None).ConfigureAwait(false);
                        }
                    }

                    continue; // read again: free now, or someone else moved first
                }

                if (!force && settings.NextDueAfter(record?.Started, now) is { } nextDue)
                {
                    return new LockAttempt.NotDue(nextDue, record?.RunId);
                }

                var leaseId = await TryAcquireLeaseAsync(blob, properties.ETag, cancellationToken).ConfigureAwait(false);
                if (leaseId is null)
                {
                    continue; // someone else took it (or changed the record) since our read: judge them next round
                }

                var starting = new LockRecord(runId, LockRecord.Starting, settings.Runner, now, now + settings.MaxRuntime);
                if (await TryWriteStartingAsync(blob, leaseId, starting, cancellationToken).ConfigureAwait(false))
                {
                    return new LockAttempt.Acquired(new JobLease(blob, leaseId, starting, timeProvider, logger));
                }
            }
        }
        catch (Exception ex) when (IsStorageFailure(ex, cancellationToken))
        {
            throw new LockUnavailableException($"The lock store could not be reached for {job.Name}.", ex);
        }

        // Contention did not settle within our rounds: somebody else is winning, so this call is a duplicate.
        return new LockAttempt.Busy(lastSeenRunId);
    }

    /// <summary>Null when the holder is alive (busy); otherwise why its lock may be taken over.</summary>
    private async Task<HolderVerdict?> JudgeHolderAsync(JobSettings settings, LockRecord? record, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (record is null || record.IsEnded)
        {
            return HolderVerdict.NoRecordYet;
        }

        if (now >= record.Deadline)
        {
            return new HolderVerdict($"past its deadline {record.Deadline:O}", "DeadlineExceeded");
        }

        if (record.Handle is null || !_runners.TryGetValue(record.Handle.Runner, out var runner))
        {
            return null; // starting, or a runner this instance lacks: alive until its deadline
        }

        try
        {
            var status = await runner.GetStatusAsync(record.Handle, cancellationToken).ConfigureAwait(false);
            if (status.Liveness != RunLiveness.Ended)
            {
                return null;
            }

            // A remote API may not list a run it accepted a moment ago: "not found" only counts once the run is old.
            if (status.Outcome == NotFoundOutcome && now - record.Started < options.Value.NotFoundGrace)
            {
                return null;
            }

            return new HolderVerdict($"its run ended: {status.Outcome ?? "unknown outcome"}", status.Outcome ?? "Ended", RunEnded: true);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.LivenessCheckFailed(logger, ex, settings.Job.Name, record.RunId, runner.Kind, record.Deadline);
            return null;
        }
    }

    private async Task<BlobProperties> GetOrCreateAsync(BlobClient blob, CancellationToken cancellationToken)
    {
        try
        {
            return await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // First use: create the container and an empty lock blob. Racing creators are fine (first one wins).
            if (!_containerReady || ex.ErrorCode == BlobErrorCode.ContainerNotFound)
            {
                await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                _containerReady = true;
            }

            try
            {
                await blob.UploadAsync(
                    BinaryData.Empty,
                    new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } },
                    cancellationToken).ConfigureAwait(false);
                Log.LockBlobCreated(logger, container.Name, blob.Name);
            }
            catch (RequestFailedException exists) when (exists.Status is 409 or 412)
            {
                // Another caller created it first.
            }

            return await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<string?> TryAcquireLeaseAsync(BlobClient blob, ETag etag, CancellationToken cancellationToken)
    {
        try
        {
            var lease = await blob.GetBlobLeaseClient().AcquireAsync(
                BlobLeaseClient.InfiniteLeaseDuration,
                new RequestConditions { IfMatch = etag },
                cancellationToken).ConfigureAwait(false);
            return lease.Value.LeaseId;
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            return null; // LeaseAlreadyPresent, or the blob changed since we read it
        }
    }

    private static async Task<bool> TryBreakAsync(BlobClient blob, ETag etag, CancellationToken cancellationToken)
    {
        try
        {
            await blob.GetBlobLeaseClient().BreakAsync(
                TimeSpan.Zero,
                new RequestConditions { IfMatch = etag },
                cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            return false; // the blob changed since we judged it (a new holder wrote its record), or no lease left
        }
    }

    private static async Task<bool> TryWriteStartingAsync(BlobClient blob, string leaseId, LockRecord record, CancellationToken cancellationToken)
    {
        try
        {
            await blob.SetMetadataAsync(record.ToMetadata(), new BlobRequestConditions { LeaseId = leaseId }, cancellationToken)
                .ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            return false; // our lease was broken by a takeover before we wrote: we never started, so nothing overlaps
        }
    }

    private static bool IsStorageFailure(Exception ex, CancellationToken cancellationToken) =>
        StorageFailure.Is(ex)
        || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private sealed record HolderVerdict(string Reason, string Outcome, bool RunEnded = false)
    {
        public static readonly HolderVerdict NoRecordYet = new("its holder wrote no run record in time", "Abandoned");
    }
}
