using Azure;
using Azure.Identity;

namespace CronFunctions.Storage;

/// <summary>
/// What a failed call to storage throws: an error answer (<see cref="RequestFailedException"/>), retries that all
/// failed (<see cref="AggregateException"/>), the transport giving up, or the identity failing to get a token
/// (<see cref="AuthenticationFailedException"/>: an IMDS hiccup, a role not yet propagated — storage is unusable
/// either way). One definition for every place that turns such a failure into a 503, a retry or a logged error.
/// </summary>
internal static class StorageFailure
{
    public static bool Is(Exception exception) =>
        exception is RequestFailedException or AggregateException or TimeoutException or HttpRequestException or IOException
            or AuthenticationFailedException;

    /// <summary>
    /// A failure, or a cancellation the caller did not ask for (the SDK's own network timeout surfaces as a
    /// <see cref="TaskCanceledException"/>).
    /// </summary>
    public static bool IsNotCancelledBy(Exception exception, CancellationToken callerToken) =>
        Is(exception) || (exception is OperationCanceledException && !callerToken.IsCancellationRequested);
}
