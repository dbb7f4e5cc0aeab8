using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace CronFunctions.Bench.Infrastructure;

/// <summary>
/// The bench's own Azurite emulator (blob, queue, table): started from the repository's <c>node_modules</c> on free loopback ports
/// with a fresh data directory, killed (SIGKILL) and started again on the same port and data directory by the drill.
/// </summary>
internal sealed class AzuriteServer : IAsyncDisposable
{
    // The emulator's well-known development account key (public; not a secret).
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    // Azurite keeps blob metadata (leases included) in this LokiJS file, saved every 5 s while it is dirty.
    private const string DatabaseFile = "__azurite_db_blob__.json";

    private readonly string _executable;
    private Process? _process;

    private AzuriteServer(string executable, int port, bool inMemory)
    {
        _executable = executable;
        Port = port;
        InMemory = inMemory;
    }

    /// <summary>Keeps everything in memory (no database file saved every few seconds): for large data sets that are not killed.</summary>
    public bool InMemory { get; }

    public int Port { get; }

    /// <summary>The table service's port (the run history).</summary>
    public int TablePort { get; } = FreePort();

    public int QueuePort { get; } = FreePort();

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("bench-azurite-").FullName;

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{Port}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{TablePort}/devstoreaccount1;";

    /// <summary>The emulator's pid while it runs (node execs in place of the <c>azurite</c> script).</summary>
    public int? Pid => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>Starts Azurite, or throws <see cref="BenchSetupException"/> telling how to install it.</summary>
    public static async Task<AzuriteServer> StartAsync(bool inMemory = false)
    {
        var executable = Path.Combine(Repository.Root, "node_modules", ".bin", "azurite");
        if (!File.Exists(executable))
        {
            throw new BenchSetupException(
                $"Azurite is not installed ({executable} is missing): run `npm ci` in {Repository.Root} first.");
        }

        var server = new AzuriteServer(executable, FreePort(), inMemory);
        await server.StartAgainAsync().ConfigureAwait(false);
        return server;
    }

    /// <summary>(Re)starts the emulator on the same port and data directory, and waits until it listens.</summary>
    public async Task StartAgainAsync()
    {
        var startInfo = new ProcessStartInfo(_executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] options = InMemory ? ["--inMemoryPersistence"] : ["--location", DataDirectory];
        foreach (var arg in new[] { "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(CultureInfo.InvariantCulture), "--tableHost", "127.0.0.1", "--tablePort", TablePort.ToString(CultureInfo.InvariantCulture), "--queueHost", "127.0.0.1", "--queuePort", QueuePort.ToString(CultureInfo.InvariantCulture), "--skipApiVersionCheck", "--silent" }.Concat(options))
        {
            startInfo.ArgumentList.Add(arg);
        }

        _process = Process.Start(startInfo) ?? throw new BenchSetupException("Azurite did not start.");
        ProcessTools.Own(_process.Id);
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = Stopwatch.GetTimestamp() + (30 * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_process.HasExited)
            {
                throw new BenchSetupException($"Azurite exited with code {_process.ExitCode} on port {Port}.");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port).ConfigureAwait(false);
                using var table = new TcpClient();
                await table.ConnectAsync(IPAddress.Loopback, TablePort).ConfigureAwait(false);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50).ConfigureAwait(false);
            }
        }

        throw new BenchSetupException($"Azurite did not listen on port {Port} within 30 s.");
    }

    /// <summary>
    /// Waits until Azurite has just saved its database (the file's write time moves), so a kill right after loses
    /// (almost) nothing. Azure Storage does not forget acknowledged writes; Azurite killed at a random moment forgets
    /// up to 5 s of them, which would test the emulator's durability rather than the app.
    /// </summary>
    public async Task<bool> WaitForSaveAsync(TimeSpan timeout)
    {
        var file = Path.Combine(DataDirectory, DatabaseFile);
        var before = File.Exists(file) ? File.GetLastWriteTimeUtc(file) : DateTime.MinValue;
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (File.Exists(file) && File.GetLastWriteTimeUtc(file) != before)
            {
                return true;
            }

            await Task.Delay(2).ConfigureAwait(false);
        }

        return false;
    }

    /// <summary>Kills the emulator outright (SIGKILL): in-flight requests fail, new connections are refused.</summary>
    public async Task KillAsync()
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
        await KillAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
