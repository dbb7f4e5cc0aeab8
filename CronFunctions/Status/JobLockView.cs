using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using CronFunctions.Jobs;
using CronFunctions.Locking;
using CronFunctions.Runs;

namespace CronFunctions.Status;

/// <summary>What the lock says about a job: the run holding it (if one is running) and when the last run started.</summary>
internal sealed record LockView(string? RunningRunId, DateTimeOffset? LastStarted)
{
    public static readonly LockView None = new(null, null);

    public bool IsRunning => RunningRunId is not null;
}

/// <summary>
/// Reads a job's lock without taking it: the status page's and the health monitor's view of "running" and "last
/// started", from the lock blob: one HEAD of <c>cron-locks/&lt;job&gt;</c> (never created here), its record read
/// through <see cref="LockRecord.FromMetadata"/>. Running: a live record (starting, unknown, running) under a held
/// lease, or a remote run's live record whatever the lease (a remote run outlives its owner until someone adopts it).
/// Last started: the last run that really started (a failed start does not count).
/// </summary>
internal sealed class JobLockView(BlobContainerClient locks)
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

        var held = LockStore.LeaseViewOf(properties.LeaseState) == LeaseView.Held;
        var running = record.State.IsLive() && (held || record.Runner == Jobs.RunnerKinds.ContainerApp);
        return new LockView(running ? record.RunId : null, record.SlotStarted);
    }
}
