using System.Diagnostics;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;

namespace CronFunctions.Testing;

/// <summary>The storage requests of a run's life, as the lock makes them.</summary>
public enum StorageStep
{
    /// <summary>HEAD of the lock blob (the decision's read).</summary>
    Read,

    /// <summary>Lease acquire.</summary>
    Acquire,

    /// <summary>Set metadata: the run record (starting, running, ended: count them with <c>skip</c>).</summary>
    Write,

    /// <summary>Lease renew.</summary>
    Renew,

    /// <summary>Lease release.</summary>
    Release,
}

/// <summary>What goes wrong with a request.</summary>
public enum StorageFault
{
    /// <summary>The service refuses it (503 ServerBusy): nothing happened.</summary>
    Error,

    /// <summary>The request reached the service and was done, but its answer never came (the client timed out).</summary>
    Timeout,

    /// <summary>The identity could not get a token (managed identity endpoint down): nothing was sent.</summary>
    Identity,

    /// <summary>The caller hung up while the request was on its way (the caller's token is cancelled).</summary>
    Cancel,

    /// <summary>The app process is killed outright just before the request (SIGKILL).</summary>
    Kill,

    /// <summary>Runs the armed callback (someone else acting on the blob), then sends the request.</summary>
    Callback,
}

/// <summary>
/// Injects faults into the app's storage requests (a pipeline policy on its blob client): the <c>n</c>-th request of a
/// step fails the given way, a number of times. Also counts requests per step.
/// </summary>
public sealed class StorageFaults : HttpPipelinePolicy
{
    private readonly Lock _gate = new();
    private readonly Dictionary<StorageStep, int> _seen = [];
    private (StorageStep Step, StorageFault Fault, int Skip, int Times)? _armed;
    private Func<Task>? _callback;
    private volatile bool _down;

    /// <summary>Cancelled by a <see cref="StorageFault.Cancel"/> fault: hand it to the call as its request's token.</summary>
    public CancellationTokenSource Caller { get; } = new();

    /// <summary>Set once the armed fault has fired (at least once).</summary>
    public TaskCompletionSource Fired { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Arm(StorageStep step, StorageFault fault, int skip = 0, int times = 1)
    {
        lock (_gate)
        {
            _armed = (step, fault, skip, times);
        }
    }

    /// <summary>Runs <paramref name="callback"/> just before the matching request is sent.</summary>
    public void ArmCallback(StorageStep step, Func<Task> callback, int skip = 0)
    {
        lock (_gate)
        {
            _callback = callback;
            _armed = (step, StorageFault.Callback, skip, 1);
        }
    }

    /// <summary>Storage unreachable (every request fails to connect) until <see cref="Restore"/>.</summary>
    public void Outage() => _down = true;

    public void Restore() => _down = false;

    public void Disarm()
    {
        lock (_gate)
        {
            _armed = null;
        }
    }

    public int Count(StorageStep step)
    {
        lock (_gate)
        {
            return _seen.GetValueOrDefault(step);
        }
    }

    /// <summary>The setting that arms a fault in an app instance of its own (<c>CronFunctions.Testing.Instance</c>).</summary>
    public const string EnvironmentVariable = "CRON_TEST_FAULT";

    /// <summary>A fault from a setting's value: <c>Write:1:Kill</c> (step, how many to let through first, fault).</summary>
    public static StorageFaults? FromEnvironment(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        var parts = value.Split(':');
        var faults = new StorageFaults();
        faults.Arm(Enum.Parse<StorageStep>(parts[0]), Enum.Parse<StorageFault>(parts[2]), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        return faults;
    }

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        if (_down)
        {
            throw new HttpRequestException("Injected: connection refused (127.0.0.1:10000)", new System.Net.Sockets.SocketException(111));
        }

        var fault = Match(message);
        switch (fault)
        {
            case null:
                await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
                return;
            case StorageFault.Error:
                throw new RequestFailedException(503, "Injected: the server is busy.", "ServerBusy", null);
            case StorageFault.Identity:
                throw new AuthenticationFailedException("Injected: ManagedIdentityCredential authentication unavailable.");
            case StorageFault.Timeout:
                await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
                throw new TaskCanceledException("Injected: the answer did not come within the network timeout.");
            case StorageFault.Cancel:
                await Caller.CancelAsync().ConfigureAwait(false);
                await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
                message.CancellationToken.ThrowIfCancellationRequested();
                return;
            case StorageFault.Callback:
                await _callback!().ConfigureAwait(false);
                await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
                return;
            case StorageFault.Kill:
                using (var self = System.Diagnostics.Process.GetCurrentProcess())
                {
                    self.Kill();
                }

                await Task.Delay(Timeout.Infinite).ConfigureAwait(false);
                return;
        }
    }

    private StorageFault? Match(HttpMessage message)
    {
        var step = StepOf(message.Request);
        if (step is null)
        {
            return null;
        }

        lock (_gate)
        {
            _seen[step.Value] = _seen.GetValueOrDefault(step.Value) + 1;
            if (_armed is not { } armed || armed.Step != step)
            {
                return null;
            }

            if (armed.Skip > 0)
            {
                _armed = armed with { Skip = armed.Skip - 1 };
                return null;
            }

            _armed = armed.Times > 1 ? armed with { Times = armed.Times - 1 } : null;
            Fired.TrySetResult();
            return armed.Fault;
        }
    }

    private static StorageStep? StepOf(Request request)
    {
        var query = request.Uri.Query;
        if (request.Method == RequestMethod.Head)
        {
            return StorageStep.Read;
        }

        if (query.Contains("comp=metadata", StringComparison.Ordinal))
        {
            return StorageStep.Write;
        }

        if (query.Contains("comp=lease", StringComparison.Ordinal) && request.Headers.TryGetValue("x-ms-lease-action", out var action))
        {
            return action switch
            {
                "acquire" => StorageStep.Acquire,
                "renew" => StorageStep.Renew,
                "release" => StorageStep.Release,
                _ => null,
            };
        }

        return null;
    }
}
