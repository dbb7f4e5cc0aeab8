using Azure;
using Azure.Identity;
using CronFunctions.Storage;

namespace CronFunctions.History;

/// <summary>Which failures of a history write are worth a retry, and which mean the record itself was refused.</summary>
internal static class HistoryFailure
{
    /// <summary>
    /// Storage unreachable or erroring, the identity unable to get a token (<see cref="AuthenticationFailedException"/>,
    /// e.g. a managed identity endpoint down or a role not yet assigned), or the write cancelled or timed out: the
    /// record is fine, the moment is not.
    /// </summary>
    public static bool IsTransient(Exception exception) =>
        !IsRejected(exception)
        && (StorageFailure.Is(exception) || exception is OperationCanceledException);

    /// <summary>The service refused the record itself (malformed or too large): writing it again cannot help.</summary>
    public static bool IsRejected(Exception exception) => exception is RequestFailedException { Status: 400 or 413 };
}
