using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace CronFunctions.Tests.Infrastructure;

/// <summary>
/// A real Azurite emulator (blob, queue and table services) on free loopback ports, started from the repo's <c>node_modules</c>
/// (<c>npm ci</c> at the repo root installs it; the test script does that). Each instance is its own process,
/// so a test can stop it and start it again on the same port to play an outage.
/// </summary>
public sealed class AzuriteInstance : IAsyncDisposable
{
    // The emulator's well-known development account (public; not a secret).
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("azurite-").FullName;
    private Process? _process;

    private AzuriteInstance(int port, int tablePort, int queuePort) => (Port, TablePort, QueuePort) = (port, tablePort, queuePort);

    public int Port { get; }

    /// <summary>The table service's port (the run history).</summary>
    public int TablePort { get; }

    public int QueuePort { get; }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{Port}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{TablePort}/devstoreaccount1;";

    public static async Task<AzuriteInstance> StartAsync()
    {
        var instance = new AzuriteInstance(FreePort(), FreePort(), FreePort());
        await instance.StartAgainAsync();
        return instance;
    }

    public async Task StartAgainAsync()
    {
        var azurite = Path.Combine(RepositoryRoot, "node_modules", ".bin", "azurite");
        if (!File.Exists(azurite))
        {
            throw new InvalidOperationException($"Azurite is not installed at {azurite}: run `npm ci` in {RepositoryRoot} (the test script does).");
        }

        var startInfo = new ProcessStartInfo(azurite)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--tableHost", "127.0.0.1", "--tablePort", TablePort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--queueHost", "127.0.0.1", "--queuePort", QueuePort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--location", _dataDirectory, "--skipApiVersionCheck", "--silent" })
        {
            startInfo.ArgumentList.Add(arg);
        }

        _process = Process.Start(startInfo)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Azurite exited with code {_process.ExitCode} on port {Port}.");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                using var table = new TcpClient();
                await table.ConnectAsync(IPAddress.Loopback, TablePort);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException($"Azurite did not listen on port {Port} within 30 s.");
    }

    /// <summary>
    /// Waits until Azurite has saved its database after <paramref name="after"/> (it keeps blob metadata, leases
    /// included, in a LokiJS file saved every 5 s while dirty), so a stop right after loses nothing acknowledged.
    /// </summary>
    public async Task WaitForSaveAsync(DateTime after)
    {
        var file = Path.Combine(_dataDirectory, "__azurite_db_blob__.json");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!(File.Exists(file) && File.GetLastWriteTimeUtc(file) > after))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Azurite did not save {file} within 20 s.");
            }

            await Task.Delay(50);
        }
    }

    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public static string RepositoryRoot { get; } =
        typeof(AzuriteInstance).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "RepositoryRoot").Value!;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>One Azurite for the whole test run; test classes use their own containers in it.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public AzuriteInstance Instance { get; private set; } = null!;

    public string ConnectionString => Instance.ConnectionString;

    public async Task InitializeAsync() => Instance = await AzuriteInstance.StartAsync();

    public async Task DisposeAsync() => await Instance.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
