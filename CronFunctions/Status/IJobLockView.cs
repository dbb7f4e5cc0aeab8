using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using CronFunctions.Jobs;
using CronFunctions.Locking;

namespace CronFunctions.Status;

/// <summary>What the lock says about a job: the run holding it (if one is running), when the last run started, its deadline.</summary>
internal sealed record LockView(string? RunningRunId, DateTimeOffset? LastStarted, DateTimeOffset? Deadline, string? LastRunId)
{
    public static readonly LockView None = new(null, null, null, null);

    public bool IsRunning => RunningRunId is not null;
}

/// <summary>Reads a job's lock without taking it: the status page's and the health monitor's view of "running" and "last started".</summary>
internal interface IJobLockView
{
    Task<LockView> ReadAsync(JobSettings settings, CancellationToken cancellationToken);
}

/// <summary>
/// The lock view from today's lock blob: one HEAD of <c>cron-locks/&lt;job&gt;</c>, its metadata read through
/// <see cref="LockRecord.FromMetadata"/>. Running = leased, not ended, before its deadline. (Kept to this one small
/// type so it follows the lock's record when that changes.)
/// </summary>
internal sealed class BlobJobLockView(BlobContainerClient locks, TimeProvider timeProvider) : IJobLockView
{
    public async Task<LockView> ReadAsync(JobSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        BlobProperties properties;
        try
        {
            properties = await locks.GetBlobClient(settings.Job.Name).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return LockView.None; // never called yet
        }

        if (LockRecord.FromMetadata(properties.Metadata) is not { } record)
        {
            return LockView.None;
        }

        var running = properties.LeaseState is LeaseState.Leased or LeaseState.Breaking
            && !record.IsEnded
            && timeProvider.GetUtcNow() < record.Deadline;
        return new LockView(running ? record.RunId : null, record.Started, record.Deadline, record.RunId);
    }
}
