using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;

namespace CronFunctions.Tests.History;

/// <summary>One storage request the app made: which service (by port), the HTTP method, the URI and the answer's status.</summary>
internal sealed record StorageRequest(bool IsTable, string Method, Uri Uri, int Status)
{
    /// <summary>The path and query, unescaped: keys of a point read are in the path, a query's filter in the query.</summary>
    public string Text => Uri.UnescapeDataString(Uri.PathAndQuery);
}

/// <summary>
/// Counts the app's storage requests, as the bench does: registered as a keyed <see cref="HttpPipelinePolicy"/> under
/// <c>CronFunctionsRegistration.StoragePolicyKey</c>, which the app adds per call to its blob and table clients.
/// </summary>
internal sealed class StorageRequests(int tablePort) : HttpPipelinePolicy
{
    private readonly ConcurrentQueue<StorageRequest> _requests = new();

    public IReadOnlyList<StorageRequest> All => [.. _requests];

    public IReadOnlyList<StorageRequest> Tables => [.. _requests.Where(r => r.IsTable)];

    public void Clear() => _requests.Clear();

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        try
        {
            await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
        }
        finally
        {
            Add(message);
        }
    }

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        try
        {
            ProcessNext(message, pipeline);
        }
        finally
        {
            Add(message);
        }
    }

    private void Add(HttpMessage message) => _requests.Enqueue(new StorageRequest(
        message.Request.Uri.Port == tablePort,
        message.Request.Method.Method,
        message.Request.Uri.ToUri(),
        message.HasResponse ? message.Response.Status : 0));
}
