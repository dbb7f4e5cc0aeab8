using System.Globalization;
using CronFunctions.History;
using CronFunctions.Jobs;
using CronFunctions.Runs;
using CronFunctions.Status;
using CronFunctions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace CronFunctions.Tests.Status;

/// <summary>
/// One Chromium for the dashboard's browser tests: the system's (<c>/usr/bin/chromium</c>, or <c>CHROMIUM_PATH</c>),
/// driven by Playwright — never a browser Playwright downloads. Missing, it fails every test saying how to install it.
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public const string DefaultPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var path = Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } configured ? configured : DefaultPath;
        if (!File.Exists(path))
        {
            throw new InvalidOperationException(
                $"Chromium is not installed at {path}, and the dashboard's browser tests need it: install it with " +
                "`apt-get install -y chromium` (.ci/run does so when it is missing) or set CHROMIUM_PATH to a Chromium binary.");
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = path,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
    }
}

/// <summary>
/// The dashboard in a real browser, served over HTTP with its headers: it renders with no runs, shows a failing and an
/// overdue job, and shows hostile job output as text — nothing it contains runs or becomes markup.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class DashboardBrowserTests(AzuriteFixture azurite, ChromiumFixture chromium, ITestOutputHelper output) : IClassFixture<ChromiumFixture>, IDisposable
{
    private readonly FakeBackend _backend = new();

    public void Dispose() => _backend.Dispose();

    private static DateTimeOffset At(string utc) => DateTimeOffset.Parse(utc, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    /// <summary>A page that records console errors (a CSP violation is one) and dialogs (an injected script's alert).</summary>
    private async Task<(IPage Page, List<string> Problems)> NewPageAsync()
    {
        var page = await chromium.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning")
            {
                problems.Add($"console {message.Type}: {message.Text}");
            }
        };
        page.Dialog += (_, dialog) => problems.Add("dialog: " + dialog.Message);
        page.PageError += (_, error) => problems.Add("page error: " + error);
        return (page, problems);
    }

    [Fact]
    public async Task WithNoRuns_EveryJobIsShown_AndThePageLoadsNothingButItself()
    {
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName());
        await using var server = await DashboardServer.StartAsync(app);
        var (page, problems) = await NewPageAsync();
        var requests = new List<string>();
        page.Request += (_, request) => requests.Add(request.Url);

        var response = await page.GotoAsync(server.Url.ToString());

        Assert.Equal(200, response!.Status);
        var headers = await response.AllHeadersAsync();
        Assert.Equal(DashboardPage.ContentSecurityPolicy, headers["content-security-policy"]);
        Assert.StartsWith("text/html", headers["content-type"], StringComparison.Ordinal);
        Assert.Equal("no-referrer", headers["referrer-policy"]);
        Assert.Equal("CronFunctions · jobs", await page.TitleAsync());
        Assert.Equal(JobCatalog.All.Select(j => j.Name), await page.Locator("section.job h2").AllInnerTextsAsync());
        Assert.All(await page.Locator("[data-testid=health]").AllInnerTextsAsync(), text => Assert.Equal("OK", text));
        Assert.Equal(6, await page.Locator("[data-testid=no-runs]").CountAsync());
        Assert.Equal(0, await page.Locator("svg.strip rect").CountAsync());
        // The stylesheet is allowed by its hash (a blocked one would leave the badge unstyled and log a CSP error).
        Assert.Equal("rgb(26, 127, 55)", await page.Locator(".badge").First.EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor"));
        Assert.Empty(problems);
        Assert.Equal([server.Url.ToString()], requests.Where(u => !u.EndsWith("/favicon.ico", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AFailingAndAnOverdueJob_AreShownSo_WithTheirRuns()
    {
        var time = new FakeTimeProvider(At("2026-11-24T02:06:00Z"));
        await using var app = new TestApp(azurite.ConnectionString, _backend.Directory, TestApp.NewContainerName(), timeProvider: time);
        Assert.Equal("started", (await app.PostAsync(JobCatalog.PartiesImport)).Str("status"));
        await app.WaitForRunsAsync();

        time.SetUtcNow(At("2026-11-25T03:20:00Z")); // parties-import missed its 02:06 slot: overdue since 03:06

        // A minute job's recent runs, of known durations (on simulated time a real run takes no time).
        var history = app.Services.GetRequiredService<RunHistory>();
        foreach (var (outcome, seconds) in new[] { ("Succeeded", 2.0), ("Succeeded", 40), ("Failed", 5), ("Succeeded", 3), ("Succeeded", 300), ("Succeeded", 4) })
        {
            var start = time.GetUtcNow();
            var id = RunIds.New(start);
            await history.RecordAsync(new RunRecord { Id = id, Job = "sopn-parse", Decision = RunRecord.Started, RunId = id, Time = start, Runner = "local", Pid = 4242 }, CancellationToken.None);
            await history.RecordAsync(RunRecord.EndOf(id, "sopn-parse", start.AddSeconds(seconds), outcome) with
            {
                ExitCode = outcome == "Succeeded" ? 0 : 2,
                DurationSeconds = seconds,
                LastLines = [$"parsed {seconds} documents", outcome == "Succeeded" ? "done" : "error: a SOPN could not be read"],
            }, CancellationToken.None);
            time.Advance(TimeSpan.FromMinutes(1));
        }

        _backend.Mode = "fail";
        Assert.Equal("started", (await app.PostAsync(JobCatalog.CheckCurrent)).Str("status")); // a daily job: one failure is failing
        await app.WaitForRunsAsync();
        time.Advance(TimeSpan.FromMinutes(1));

        await using var server = await DashboardServer.StartAsync(app);
        var (page, problems) = await NewPageAsync();
        await page.GotoAsync(server.Url.ToString());

        var overdue = page.Locator("#job-parties-import");
        Assert.Equal("overdue", await overdue.GetAttributeAsync("data-health"));
        Assert.Equal("OVERDUE", await overdue.Locator("[data-testid=health]").InnerTextAsync());
        Assert.Contains("2026-11-25 03:06:00 UTC", await overdue.Locator(".reason").InnerTextAsync(), StringComparison.Ordinal);
        var failing = page.Locator("#job-check-current");
        Assert.Equal("failing", await failing.GetAttributeAsync("data-health"));
        Assert.Equal("FAILING", await failing.Locator("[data-testid=health]").InnerTextAsync());
        Assert.Equal("ok", await page.Locator("#job-sopn-parse").GetAttributeAsync("data-health"));
        Assert.Contains("1 failing", await page.Locator("#summary").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("1 overdue", await page.Locator("#summary").InnerTextAsync(), StringComparison.Ordinal);

        var bars = page.Locator("#job-sopn-parse svg.strip rect");
        Assert.Equal(6, await bars.CountAsync());
        Assert.Equal(["succeeded", "succeeded", "failed", "succeeded", "succeeded", "succeeded"], await bars.EvaluateAllAsync<string[]>("rs => rs.map(r => r.getAttribute('class'))"));
        var heights = await bars.EvaluateAllAsync<int[]>("rs => rs.map(r => Number(r.getAttribute('height')))");
        Assert.True(heights[4] > heights[1] && heights[1] > heights[0], "a longer run's bar is taller");
        Assert.Equal(6, await page.Locator("#job-sopn-parse table[data-testid=runs] tbody tr:not(.lines)").CountAsync());

        var lastLines = failing.Locator("details").First;
        Assert.False(await lastLines.Locator("pre").IsVisibleAsync());
        await lastLines.Locator("summary").ClickAsync();
        Assert.Contains("something broke", await lastLines.Locator("pre").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Empty(problems);

        var screenshot = Path.Combine(Path.GetTempPath(), "cronfunctions-dashboard.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        output.WriteLine($"Dashboard screenshot: {screenshot}");
        Console.WriteLine($"Dashboard screenshot: {screenshot}");
        Assert.True(new FileInfo(screenshot).Length > 10_000);
    }

    [Fact]
    public async Task HostileJobOutput_IsShownAsText_AndNothingInItRuns()
    {
        // A real job whose output is markup: the local runner keeps its last lines, the history stores them.
        using var backend = new HostileBackend();
        await using var app = new TestApp(azurite.ConnectionString, backend.Directory, TestApp.NewContainerName());
        Assert.Equal("started", (await app.PostAsync(JobCatalog.SopnParse)).Str("status"));
        await app.WaitForRunsAsync();

        // Fields no HTTP caller can fill with markup (the caller's headers are filtered) are escaped all the same.
        var id = RunIds.New(DateTimeOffset.UtcNow);
        await app.Services.GetRequiredService<RunHistory>().RecordAsync(new RunRecord
        {
            Id = id,
            Job = "check-current",
            Decision = RunRecord.Failed,
            Reason = "<b id=injected-reason>bold</b>",
            RunId = id,
            Time = DateTimeOffset.UtcNow,
            Error = "<script>window.__pwned = 'error'</script>",
            ScheduledTime = "\"><img src=x onerror=\"window.__pwned='slot'\">",
        }, CancellationToken.None);

        await using var server = await DashboardServer.StartAsync(app);
        var (page, problems) = await NewPageAsync();
        await page.GotoAsync(server.Url.ToString());
        foreach (var summary in await page.Locator("details summary").AllAsync())
        {
            await summary.ClickAsync();
        }

        Assert.Null(await page.EvaluateAsync<string?>("() => window.__pwned ?? null"));
        Assert.Equal(0, await page.Locator("main script, main img, #injected, #injected-reason").CountAsync());
        var shown = await page.Locator("#job-sopn-parse pre").InnerTextAsync();
        foreach (var line in HostileBackend.Lines)
        {
            Assert.Contains(line, shown, StringComparison.Ordinal);
        }

        var checkCurrent = await page.Locator("#job-check-current").InnerTextAsync();
        Assert.Contains("<script>window.__pwned = 'error'</script>", checkCurrent, StringComparison.Ordinal);
        Assert.Contains("<b id=injected-reason>bold</b>", checkCurrent, StringComparison.Ordinal);
        Assert.Contains("onerror=", checkCurrent, StringComparison.Ordinal);
        Assert.DoesNotContain(problems, p => p.StartsWith("dialog", StringComparison.Ordinal));
        Assert.Empty(problems);
    }

    /// <summary>A backend whose <c>manage.py</c> prints markup meant to run in the dashboard, then fails.</summary>
    private sealed class HostileBackend : IDisposable
    {
        public static readonly string[] Lines =
        [
            "<script>window.__pwned = 'script'; alert('script')</script>",
            "<img src=x onerror=\"window.__pwned = 'img'; alert('img')\">",
            "</pre></details></td></tr></table><h1 id=injected>injected</h1>",
            "\" onmouseover=\"window.__pwned = 'attribute'",
            "&lt;already escaped&gt; & <!-- a comment -->",
        ];

        public HostileBackend()
        {
            Directory = System.IO.Directory.CreateTempSubdirectory("hostile-backend-").FullName;
            var script = "#!/bin/sh\n" + string.Concat(Lines.Select(l => $"printf '%s\\n' '{l.Replace("'", "'\\''", StringComparison.Ordinal)}'\n")) + "exit 1\n";
            File.WriteAllText(Path.Combine(Directory, "manage.py"), script);
        }

        public string Directory { get; }

        public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
    }
}
