using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using CronFunctions.Diagnostics;
using CronFunctions.Storage;
using Microsoft.Extensions.Logging;

namespace CronFunctions.Locking;

/// <summary>What a lock blob's lease looks like to a reader.</summary>
internal enum LeaseView
{
    /// <summary>Never leased, or released.</summary>
    Free,

    /// <summary>Leased (or being broken): its holder is alive and renewing, or was within the lease's duration.</summary>
    Held,

    /// <summary>The lease ran out: its holder stopped renewing (dead, hung, or cut off from storage).</summary>
    Expired,

    /// <summary>Someone broke the lease (an operator in Storage Explorer): its holder may not know yet.</summary>
    Broken,
}

/// <summary>One read of a job's lock blob: the lease, the run record, the ETag to act on, and the service's clock.</summary>
internal sealed record LockSnapshot(LeaseView Lease, bool InfiniteLease, LockRecord? Record, ETag ETag, DateTimeOffset? ServerTime);

/// <summary>The answer to a conditional write: done, or the condition failed (someone else moved first / the lease is gone).</summary>
internal enum LockWrite
{
    Done,
    Conflict,
}

/// <summary>
/// The blob adapter of the lock: reads and conditional writes on one blob per job, returning named outcomes for the
/// answers that are part of the protocol (409/412: someone else moved first, the lease is gone) and throwing
/// <see cref="LockUnavailableException"/> for everything else — storage down, throttled, forbidden, identity failure,
/// or an answer that never came. No decision is made here.
/// </summary>
internal sealed class LockStore(BlobContainerClient container, ILockClock clock, ILogger<LockStore> logger)
{
    private volatile bool _containerReady;

    public string ContainerName => container.Name;

    /// <summary>What a blob's lease state means to the lock.</summary>
    public static LeaseView LeaseViewOf(LeaseState? state) => state switch
    {
        LeaseState.Leased or LeaseState.Breaking => LeaseView.Held,
        LeaseState.Expired => LeaseView.Expired,
        LeaseState.Broken => LeaseView.Broken,
        _ => LeaseView.Free,
    };

    /// <summary>Reads the job's lock blob (creating it on first use).</summary>
    public Task<LockSnapshot> ReadAsync(string job, CancellationToken cancellationToken) =>
        Guard(job, "read", async () =>
        {
            var blob = container.GetBlobClient(job);
            Response<BlobProperties> response;
            try
            {
                response = await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                await CreateAsync(blob, ex, cancellationToken).ConfigureAwait(false);
                response = await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            var properties = response.Value;
            var serverTime = Observe(response.GetRawResponse());
            var lease = LeaseViewOf(properties.LeaseState);
            return new LockSnapshot(
                lease,
                lease == LeaseView.Held && properties.LeaseDuration == LeaseDurationType.Infinite,
                LockRecord.FromMetadata(properties.Metadata),
                properties.ETag,
                serverTime);
        }, cancellationToken);

    /// <summary>
    /// Takes a lease of <paramref name="duration"/> with our own <paramref name="leaseId"/>, only if the blob is still as
    /// read (<paramref name="etag"/>). Never cancelled by the caller: once sent, the lease may exist, and we must know.
    /// <see cref="LockWrite.Conflict"/>: someone else holds it or changed the blob since.
    /// </summary>
    public Task<LockWrite> AcquireAsync(string job, ETag etag, string leaseId, TimeSpan duration) =>
        ConditionalAsync(job, "acquire", async ct => (await container.GetBlobClient(job).GetBlobLeaseClient(leaseId)
            .AcquireAsync(duration, new RequestConditions { IfMatch = etag }, ct).ConfigureAwait(false)).GetRawResponse(), CancellationToken.None);

    /// <summary>Renews our lease. <see cref="LockWrite.Conflict"/>: it is gone (broken, taken, or expired and the blob changed).</summary>
    public Task<LockWrite> RenewAsync(string job, string leaseId, CancellationToken cancellationToken) =>
        ConditionalAsync(job, "renew", async ct => (await container.GetBlobClient(job).GetBlobLeaseClient(leaseId)
            .RenewAsync(cancellationToken: ct).ConfigureAwait(false)).GetRawResponse(), cancellationToken);

    /// <summary>Writes the run record under our lease. <see cref="LockWrite.Conflict"/>: the lease is no longer ours.</summary>
    public Task<LockWrite> WriteAsync(string job, string leaseId, LockRecord record, CancellationToken cancellationToken) =>
        ConditionalAsync(job, "write", async ct => (await container.GetBlobClient(job)
            .SetMetadataAsync(record.ToMetadata(), new BlobRequestConditions { LeaseId = leaseId }, ct).ConfigureAwait(false)).GetRawResponse(), cancellationToken);

    /// <summary>Writes a record on a blob nobody leases, only if it is still as read.</summary>
    public Task<LockWrite> WriteUnleasedAsync(string job, ETag etag, LockRecord record, CancellationToken cancellationToken) =>
        ConditionalAsync(job, "fence", async ct => (await container.GetBlobClient(job)
            .SetMetadataAsync(record.ToMetadata(), new BlobRequestConditions { IfMatch = etag }, ct).ConfigureAwait(false)).GetRawResponse(), cancellationToken);

    /// <summary>Releases our lease. <see cref="LockWrite.Conflict"/>: it was not ours any more (nothing to release).</summary>
    public Task<LockWrite> ReleaseAsync(string job, string leaseId, CancellationToken cancellationToken) =>
        ConditionalAsync(job, "release", async ct => (await container.GetBlobClient(job).GetBlobLeaseClient(leaseId)
            .ReleaseAsync(cancellationToken: ct).ConfigureAwait(false)).GetRawResponse(), cancellationToken);

    /// <summary>Breaks a lease at once, only if the blob is still as read (an older version's infinite lease).</summary>
    public Task<LockWrite> BreakAsync(string job, ETag etag, CancellationToken cancellationToken) =>
        ConditionalAsync(job, "break", async ct => (await container.GetBlobClient(job).GetBlobLeaseClient()
            .BreakAsync(TimeSpan.Zero, new RequestConditions { IfMatch = etag }, ct).ConfigureAwait(false)).GetRawResponse(), cancellationToken);

    private async Task CreateAsync(BlobClient blob, RequestFailedException notFound, CancellationToken cancellationToken)
    {
        // First use: create the container and an empty lock blob. Racing creators are fine (first one wins).
        if (!_containerReady || notFound.ErrorCode == BlobErrorCode.ContainerNotFound)
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
    }

    private DateTimeOffset? Observe(Response response)
    {
        var date = response.Headers.Date;
        if (date is { } serverTime)
        {
            clock.Observe(serverTime);
        }

        return date;
    }

    /// <summary>
    /// One conditional request: done, or <see cref="LockWrite.Conflict"/> when its condition failed (409: lease present
    /// or absent; 412: ETag or lease id mismatch; 404: the blob is gone) — someone else moved first.
    /// </summary>
    private Task<LockWrite> ConditionalAsync(string job, string operation, Func<CancellationToken, Task<Response>> request, CancellationToken cancellationToken) =>
        Guard(job, operation, async () =>
        {
            try
            {
                Observe(await request(cancellationToken).ConfigureAwait(false));
                return LockWrite.Done;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412 or 404)
            {
                return LockWrite.Conflict;
            }
        }, cancellationToken);

    /// <summary>Every failure that is not a named outcome becomes <see cref="LockUnavailableException"/>, logged once here.</summary>
    private async Task<T> Guard<T>(string job, string operation, Func<Task<T>> action, CancellationToken cancellationToken)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (Exception ex) when (StorageFailure.IsNotCancelledBy(ex, cancellationToken))
        {
            Log.LockStoreFailed(logger, ex, job, operation);
            throw new LockUnavailableException($"The lock store failed to {operation} the lock of {job}.", ex);
        }
    }
}
