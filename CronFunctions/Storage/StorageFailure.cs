using Azure;

namespace CronFunctions.Storage;

/// <summary>
/// What a failed call to blob storage throws: an error answer (<see cref="RequestFailedException"/>), retries that all
/// failed (<see cref="AggregateException"/>), or the transport giving up. One definition for every place that turns
/// such a failure into a 503, a retry or a logged error.
/// </summary>
internal static class StorageFailure
{
    public static bool Is(Exception exception) =>
        exception is RequestFailedException or AggregateException or TimeoutException or HttpRequestException;
}
