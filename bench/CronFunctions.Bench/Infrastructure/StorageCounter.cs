using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;

namespace CronFunctions.Bench.Infrastructure;

/// <summary>
/// Counts the lock store's requests. Registered as a keyed <see cref="HttpPipelinePolicy"/> under
/// <c>CronFunctionsRegistration.StoragePolicyKey</c>, which the app adds per call to its blob client: so each
/// <see cref="ProcessAsync"/> is one storage operation, and <c>ProcessingContext.RetryNumber</c> after it tells how
/// many retries the retry policy (behind us in the pipeline) made. Operations are named by verb and status.
/// </summary>
internal sealed class StorageCounter : HttpPipelinePolicy
{
    private readonly ConcurrentDictionary<string, long> _byOperation = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _sequence = new();
    private long _operations;
    private long _attempts;

    /// <summary>While true, every operation is also kept in order (for one-call-at-a-time breakdowns only).</summary>
    public bool KeepSequence { get; set; }

    /// <summary>Takes the operations kept in order since the last call.</summary>
    public IReadOnlyList<string> TakeSequence()
    {
        var taken = new List<string>();
        while (_sequence.TryDequeue(out var operation))
        {
            taken.Add(operation);
        }

        return taken;
    }

    public StorageSnapshot Snapshot() => new(
        Interlocked.Read(ref _operations),
        Interlocked.Read(ref _attempts),
        new Dictionary<string, long>(_byOperation, StringComparer.Ordinal));

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Interlocked.Increment(ref _operations);
        try
        {
            await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
        }
        finally
        {
            Count(message);
        }
    }

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Interlocked.Increment(ref _operations);
        try
        {
            ProcessNext(message, pipeline);
        }
        finally
        {
            Count(message);
        }
    }

    private void Count(HttpMessage message)
    {
        Interlocked.Add(ref _attempts, 1 + message.ProcessingContext.RetryNumber);
        var status = message.HasResponse ? message.Response.Status.ToString(System.Globalization.CultureInfo.InvariantCulture) : "no answer";
        var operation = $"{Name(message.Request)} {status}";
        _byOperation.AddOrUpdate(operation, 1, (_, n) => n + 1);
        if (KeepSequence)
        {
            _sequence.Enqueue(operation);
        }
    }

    /// <summary>The Blob REST operation behind a request (only those the lock uses are told apart).</summary>
    private static string Name(Request request)
    {
        var query = request.Uri.Query;
        var method = request.Method.Method;
        if (query.Contains("comp=lease", StringComparison.Ordinal))
        {
            return request.Headers.TryGetValue("x-ms-lease-action", out var action)
                ? "Lease." + char.ToUpperInvariant(action[0]) + action[1..]
                : "Lease";
        }

        if (query.Contains("comp=metadata", StringComparison.Ordinal))
        {
            return method == "PUT" ? "SetMetadata" : "GetMetadata";
        }

        if (query.Contains("restype=container", StringComparison.Ordinal))
        {
            return method + "Container";
        }

        return method switch
        {
            "HEAD" => "GetProperties",
            "PUT" => "Upload",
            "GET" => "Download",
            "DELETE" => "Delete",
            _ => method,
        };
    }
}

/// <summary>Storage counts at one moment; subtract two to get what happened in between.</summary>
internal sealed record StorageSnapshot(long Operations, long Attempts, IReadOnlyDictionary<string, long> ByOperation)
{
    public static StorageSnapshot operator -(StorageSnapshot after, StorageSnapshot before) => new(
        after.Operations - before.Operations,
        after.Attempts - before.Attempts,
        after.ByOperation
            .Select(p => (p.Key, Count: p.Value - before.ByOperation.GetValueOrDefault(p.Key)))
            .Where(p => p.Count > 0)
            .ToDictionary(p => p.Key, p => p.Count, StringComparer.Ordinal));

    public static StorageSnapshot Subtract(StorageSnapshot after, StorageSnapshot before) => after - before;
}
