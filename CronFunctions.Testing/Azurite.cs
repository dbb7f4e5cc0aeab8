using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace CronFunctions.Testing;

/// <summary>
/// A real Azurite emulator — blob, queue and table services, each on a free loopback port, one process — started from
/// the repo's <c>node_modules</c> (<c>npm ci</c> at the repo root installs it; the test script does that) with a fresh
/// data directory. Each instance is its own process, so a test or the drill can kill it and start it again on the same
/// ports and data directory to play an outage.
/// </summary>
public sealed class AzuriteInstance : IAsyncDisposable
{
    // The emulator's well-known development account (public; not a secret).
    private const string Account = "devstoreaccount1";
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    // Azurite keeps blob metadata (leases included) in this LokiJS file, saved every 5 s while it is dirty.
    private const string BlobDatabaseFile = "__azurite_db_blob__.json";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private Process? _process;

    private AzuriteInstance(int blobPort, int queuePort, int tablePort)
    {
        BlobPort = blobPort;
        QueuePort = queuePort;
        TablePort = tablePort;
    }

    public int BlobPort { get; }

    public int QueuePort { get; }

    public int TablePort { get; }

    /// <summary>Where Azurite keeps its data (kept across <see cref="StopAsync"/> and <see cref="StartAgainAsync"/>).</summary>
    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("azurite-").FullName;

    /// <summary>A connection string with the blob, queue and table endpoints of this instance.</summary>
    public string ConnectionString => string.Create(CultureInfo.InvariantCulture,
        $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{BlobPort}/{Account};QueueEndpoint=http://127.0.0.1:{QueuePort}/{Account};" +
        $"TableEndpoint=http://127.0.0.1:{TablePort}/{Account};");

    /// <summary>The emulator's pid while it runs (node execs in place of the <c>azurite</c> script).</summary>
    public int? Pid => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>Whether the emulator keeps its data in memory only (faster writes; nothing survives a restart).</summary>
    public bool InMemory { get; private init; }

    /// <summary>
    /// Starts Azurite, or throws <see cref="HarnessSetupException"/> telling how to install it. <paramref name="inMemory"/>:
    /// no database file (much faster to fill with many rows; a stop loses everything).
    /// </summary>
    public static async Task<AzuriteInstance> StartAsync(bool inMemory = false)
    {
        var ports = FreePorts(3);
        var instance = new AzuriteInstance(ports[0], ports[1], ports[2]) { InMemory = inMemory };
        await instance.StartAgainAsync().ConfigureAwait(false);
        return instance;
    }

    /// <summary>(Re)starts the emulator on the same ports and data directory, and waits until every service listens.</summary>
    public async Task StartAgainAsync()
    {
        var executable = Path.Combine(Repository.Root, "node_modules", ".bin", "azurite");
        if (!File.Exists(executable))
        {
            throw new HarnessSetupException($"Azurite is not installed at {executable}: run `npm ci` in {Repository.Root} (the test script does).");
        }

        var startInfo = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "--blobHost", "127.0.0.1", "--blobPort", Invariant(BlobPort),
                     "--queueHost", "127.0.0.1", "--queuePort", Invariant(QueuePort),
                     "--tableHost", "127.0.0.1", "--tablePort", Invariant(TablePort),
                     "--location", DataDirectory, "--skipApiVersionCheck", "--disableTelemetry", "--silent",
                 })
        {
            startInfo.ArgumentList.Add(arg);
        }

        if (InMemory)
        {
            startInfo.ArgumentList.Add("--inMemoryPersistence");
        }

        _process = Process.Start(startInfo) ?? throw new HarnessSetupException("Azurite did not start.");
        ProcessTools.Own(_process.Id);
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = Stopwatch.GetTimestamp() + (long)(StartTimeout.TotalSeconds * Stopwatch.Frequency);
        foreach (var port in new[] { BlobPort, QueuePort, TablePort })
        {
            while (!await ListensAsync(port).ConfigureAwait(false))
            {
                if (_process.HasExited)
                {
                    throw new HarnessSetupException($"Azurite exited with code {_process.ExitCode} (ports {BlobPort}, {QueuePort}, {TablePort}).");
                }

                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new HarnessSetupException($"Azurite did not listen on port {port} within {StartTimeout.TotalSeconds} s.");
                }

                await Task.Delay(50).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Waits until Azurite has saved its blob database after <paramref name="after"/>, so a stop right after loses
    /// nothing acknowledged (Azure Storage does not forget acknowledged writes; Azurite killed at a random moment forgets
    /// up to 5 s of them, which would test the emulator's durability rather than the app). False on timeout.
    /// </summary>
    public async Task<bool> TryWaitForSaveAsync(DateTime after, TimeSpan timeout)
    {
        var file = Path.Combine(DataDirectory, BlobDatabaseFile);
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!(File.Exists(file) && File.GetLastWriteTimeUtc(file) > after))
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                return false;
            }

            await Task.Delay(2).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary><see cref="TryWaitForSaveAsync"/> within 20 s, or a <see cref="TimeoutException"/>.</summary>
    public async Task WaitForSaveAsync(DateTime after)
    {
        if (!await TryWaitForSaveAsync(after, TimeSpan.FromSeconds(20)).ConfigureAwait(false))
        {
            throw new TimeoutException($"Azurite did not save {BlobDatabaseFile} within 20 s.");
        }
    }

    /// <summary>Kills the emulator outright (SIGKILL): in-flight requests fail, new connections are refused.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().ConfigureAwait(false);
        }

        if (_process is not null)
        {
            ProcessTools.Disown(_process.Id);
        }

        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static async Task<bool> ListensAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Distinct free loopback ports (all held open until every one is chosen, so none repeats).</summary>
    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            listeners.ForEach(l => l.Start());
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
