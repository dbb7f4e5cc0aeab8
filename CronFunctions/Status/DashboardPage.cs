using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using CronFunctions.History;
using CronFunctions.Runs;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace CronFunctions.Status;

/// <summary>
/// The dashboard: one self-contained HTML page (inline CSS and SVG, no script, no external asset, so it works offline)
/// rendered on the server from a <see cref="StatusReport"/>. Every piece of text that comes from a job's output, a
/// caller or storage is HTML-encoded; the Content-Security-Policy allows nothing but this page's own stylesheet
/// (by hash), so even markup that slipped through could neither run nor load anything.
/// </summary>
internal static class DashboardPage
{
    public const int StripRuns = 50;
    public const int TableRuns = 15;

    private const string Css = """
        :root{color-scheme:light dark;--ok:#1a7f37;--bad:#cf222e;--late:#9a6700;--run:#0969da;--muted:#6e7781;--line:#d0d7de;--card:#fff;--bg:#f6f8fa;--fg:#1f2328}
        @media (prefers-color-scheme:dark){:root{--card:#161b22;--bg:#0d1117;--fg:#e6edf3;--line:#30363d;--muted:#8b949e}}
        *{box-sizing:border-box}
        body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
        header{padding:16px 24px;border-bottom:1px solid var(--line);display:flex;flex-wrap:wrap;gap:8px 24px;align-items:baseline}
        header h1{margin:0;font-size:20px}
        .meta{color:var(--muted);margin:0}
        .summary span{margin-right:12px}
        main{padding:16px 24px;display:grid;gap:16px;grid-template-columns:repeat(auto-fill,minmax(560px,1fr))}
        .job{background:var(--card);border:1px solid var(--line);border-left:6px solid var(--ok);border-radius:8px;padding:14px 16px;min-width:0}
        .job.failing{border-left-color:var(--bad)}
        .job.overdue{border-left-color:var(--late)}
        .head{display:flex;gap:10px;align-items:center;flex-wrap:wrap}
        .head h2{margin:0;font-size:17px;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
        .badge{font-size:12px;font-weight:700;letter-spacing:.04em;padding:2px 8px;border-radius:999px;color:#fff;background:var(--ok)}
        .badge.failing{background:var(--bad)}
        .badge.overdue{background:var(--late)}
        .badge.running{background:var(--run)}
        .reason{margin:8px 0 0;color:var(--fg)}
        dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:10px 0}
        dt{color:var(--muted)}
        dd{margin:0;min-width:0;overflow-wrap:anywhere}
        code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
        .ago{color:var(--muted)}
        .strip{display:block;width:100%;height:48px;margin:6px 0 2px;background:var(--bg);border-radius:4px}
        .strip .succeeded{fill:var(--ok)}
        .strip .failed{fill:var(--bad)}
        .strip .notstarted{fill:var(--late)}
        .strip .running{fill:var(--run)}
        .strip .unknown{fill:var(--muted)}
        .legend{color:var(--muted);font-size:12px;margin:0 0 8px}
        .runs{overflow-x:auto}
        table{width:100%;border-collapse:collapse;font-size:13px;table-layout:fixed}
        th,td{text-align:left;padding:4px 6px;border-top:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
        col.id{width:30%}col.started{width:26%}col.outcome{width:24%}col.duration{width:12%}col.exit{width:8%}
        tr.lines td{border-top:0;padding-top:0}
        th{color:var(--muted);font-weight:600}
        td.num{text-align:right;white-space:nowrap}
        .outcome-succeeded{color:var(--ok);font-weight:600}
        .outcome-failed,.outcome-notstarted{color:var(--bad);font-weight:600}
        .outcome-running{color:var(--run);font-weight:600}
        pre{margin:6px 0 0;padding:8px;max-height:320px;overflow:auto;background:var(--bg);border:1px solid var(--line);border-radius:4px;white-space:pre-wrap;overflow-wrap:anywhere}
        summary{cursor:pointer;color:var(--run)}
        .empty{color:var(--muted);font-style:italic}
        """;

    /// <summary>Nothing but the page's own stylesheet: no script, no image, no frame, no form, no base URL.</summary>
    public static readonly string ContentSecurityPolicy =
        $"default-src 'none'; style-src 'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(Css)))}'; " +
        "img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly HtmlEncoder Html = HtmlEncoder.Default;

    public static string Render(StatusReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var now = report.Time;
        var page = new StringBuilder(64 * 1024);
        page.Append("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<meta http-equiv=\"refresh\" content=\"60\">")
            .Append("<meta name=\"referrer\" content=\"no-referrer\">")
            .Append("<title>CronFunctions · jobs</title><style>").Append(Css).Append("</style></head><body>");

        var overdue = report.Jobs.Count(j => j.State == HealthState.Overdue);
        var failing = report.Jobs.Count(j => j.State == HealthState.Failing);
        page.Append("<header><h1>CronFunctions</h1><p class=\"meta summary\" id=\"summary\">")
            .Append("<span>").Append(report.Jobs.Count - overdue - failing).Append(" ok</span>")
            .Append("<span>").Append(failing).Append(" failing</span>")
            .Append("<span>").Append(overdue).Append(" overdue</span></p>")
            .Append("<p class=\"meta\">As of ").Append(Time(now, now, withAgo: false)).Append(" · refreshes every minute</p></header><main>");

        foreach (var job in report.Jobs)
        {
            AppendJob(page, job, now);
        }

        page.Append("</main></body></html>\n");
        return page.ToString();
    }

    private static void AppendJob(StringBuilder page, JobStatus job, DateTimeOffset now)
    {
        var health = job.Health;
        page.Append("<section class=\"job ").Append(Enc(health)).Append("\" id=\"job-").Append(Enc(job.Job))
            .Append("\" data-health=\"").Append(Enc(health)).Append("\">");
        page.Append("<div class=\"head\"><h2>").Append(Enc(job.Job)).Append("</h2>")
            .Append("<span class=\"badge ").Append(Enc(health)).Append("\" data-testid=\"health\">").Append(Enc(health.ToUpperInvariant())).Append("</span>");
        if (job.Running)
        {
            page.Append("<span class=\"badge running\">RUNNING</span>");
        }

        page.Append("</div>");
        if (job.HealthReason is not null)
        {
            page.Append("<p class=\"reason\">Since ").Append(Time(job.HealthSince, now)).Append(": ").Append(Enc(job.HealthReason)).Append("</p>");
        }

        page.Append("<dl>");
        Fact(page, "Schedule", $"<code>{Enc(job.Schedule)}</code> UTC · runner {Enc(job.Runner)}");
        Fact(page, "Last run", job.LastRun is { } last
            ? $"{Time(JobHealth.StartOf(last), now)} · <span class=\"outcome-{OutcomeClass(last)}\">{Enc(OutcomeText(last))}</span>{Duration(last.DurationSeconds, " · ")}"
            : "<span class=\"empty\">none yet</span>");
        Fact(page, "Last success", job.LastSuccess is { } success
            ? $"{Time(success.Ended ?? success.Started, now)}{Duration(success.DurationSeconds, " · ")}"
            : "<span class=\"empty\">none recorded</span>");
        Fact(page, "Next due", job.Running
            ? $"running as <code>{Enc(job.RunningRunId)}</code>"
            : job.NextDue is { } next && next > now ? Time(next, now) : "due now (the next call starts it)");
        Fact(page, "Last checked", job.LastChecked is { } checkedAt
            ? $"{Time(checkedAt, now)} · {Enc(job.LastCheckDecision)}"
            : "<span class=\"empty\">not since this history began</span>");
        Fact(page, "Alarm", $"overdue after {Enc(job.OverdueGrace)} past a missed slot; failing after {job.FailingAfter} failed run{(job.FailingAfter == 1 ? string.Empty : "s")}");
        page.Append("</dl>");

        AppendStrip(page, job);
        AppendTable(page, job, now);
        page.Append("</section>");
    }

    /// <summary>The last runs as bars, oldest left: colour by outcome, height by duration (log scale).</summary>
    private static void AppendStrip(StringBuilder page, JobStatus job)
    {
        var runs = job.RecentRuns.Where(JobHealth.IsRun).Take(StripRuns).Reverse().ToList();
        const int Width = 10;
        const int Height = 48;
        page.Append("<svg class=\"strip\" data-testid=\"strip\" viewBox=\"0 0 ").Append(StripRuns * Width).Append(' ').Append(Height)
            .Append("\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"").Append(runs.Count).Append(" most recent runs\">");
        var longest = runs.Select(r => r.DurationSeconds ?? 0).DefaultIfEmpty(0).Max();
        for (var i = 0; i < runs.Count; i++)
        {
            var run = runs[i];
            var scale = longest <= 0 ? 0 : Math.Log(1 + (run.DurationSeconds ?? 0)) / Math.Log(1 + longest);
            var barHeight = (int)Math.Round(8 + (scale * (Height - 10)));
            var x = ((StripRuns - runs.Count + i) * Width) + 1;
            page.Append("<rect class=\"").Append(OutcomeClass(run)).Append("\" x=\"").Append(x).Append("\" y=\"").Append(Height - barHeight)
                .Append("\" width=\"").Append(Width - 2).Append("\" height=\"").Append(barHeight).Append("\"><title>")
                .Append(Enc($"{run.Id} · {OutcomeText(run)}{(run.DurationSeconds is { } d ? $" · {FormatDuration(d)}" : string.Empty)}"))
                .Append("</title></rect>");
        }

        page.Append("</svg><p class=\"legend\">")
            .Append(runs.Count == 0 ? "No runs recorded yet." : $"Last {runs.Count} runs, oldest left; height: duration; green succeeded, red failed, amber not started, blue running.")
            .Append("</p>");
    }

    private static void AppendTable(StringBuilder page, JobStatus job, DateTimeOffset now)
    {
        var rows = job.RecentRuns.Take(TableRuns).ToList();
        if (rows.Count == 0)
        {
            page.Append("<p class=\"empty\" data-testid=\"no-runs\">No runs recorded for this job yet.</p>");
            return;
        }

        page.Append("<div class=\"runs\"><table data-testid=\"runs\">")
            .Append("<colgroup><col class=\"id\"><col class=\"started\"><col class=\"outcome\"><col class=\"duration\"><col class=\"exit\"></colgroup><thead><tr><th>Run</th><th>Started</th><th>Outcome</th><th class=\"num\">Took</th><th class=\"num\">Exit</th></tr></thead><tbody>");
        foreach (var run in rows)
        {
            page.Append("<tr><td><code>").Append(Enc(run.Id)).Append("</code>");
            if (run.ScheduledTime is not null)
            {
                page.Append("<br><span class=\"ago\">slot ").Append(Enc(run.ScheduledTime)).Append("</span>");
            }

            page.Append("</td><td>").Append(Time(JobHealth.StartOf(run), now)).Append("</td>")
                .Append("<td class=\"outcome-").Append(OutcomeClass(run)).Append("\">").Append(Enc(OutcomeText(run))).Append("</td>")
                .Append("<td class=\"num\">").Append(run.DurationSeconds is { } d ? Enc(FormatDuration(d)) : "–").Append("</td>")
                .Append("<td class=\"num\">").Append(run.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "–").Append("</td></tr>");
            var detail = new List<string>();
            if (run.Error is not null)
            {
                detail.Add(run.Error);
            }

            detail.AddRange(run.LastLines ?? []);
            if (detail.Count > 0)
            {
                // On demand, under the run, full width: the output is often the reason someone opened the page.
                page.Append("<tr class=\"lines\"><td colspan=\"5\"><details><summary>last lines (").Append(detail.Count).Append(")</summary><pre>")
                    .Append(Enc(string.Join('\n', detail))).Append("</pre></details></td></tr>");
            }
        }

        page.Append("</tbody></table></div>");
    }

    private static void Fact(StringBuilder page, string name, string html) =>
        page.Append("<dt>").Append(Enc(name)).Append("</dt><dd>").Append(html).Append("</dd>");

    /// <summary>succeeded, failed, notstarted, running or unknown: the CSS class of a run's outcome.</summary>
    private static string OutcomeClass(RunRecord run) => run switch
    {
        { Decision: RunRecord.Failed } => "notstarted",
        { Decision: RunRecord.Refused } => "unknown",
        { Outcome: null } => "running",
        _ when RunRows.IsSuccess(run.Outcome) => "succeeded",
        _ => "failed",
    };

    private static string OutcomeText(RunRecord run) => run switch
    {
        { Decision: RunRecord.Failed } => $"not started: {run.Reason ?? "error"}",
        { Decision: RunRecord.Refused } => $"refused: {run.Reason ?? "refused"}",
        { Outcome: null } => "running (or end not recorded)",
        _ => run.Outcome ?? "unknown",
    };

    private static string Duration(double? seconds, string prefix) =>
        seconds is { } s ? prefix + Enc(FormatDuration(s)) : string.Empty;

    private static string FormatDuration(double seconds) =>
        seconds < 60 ? string.Create(CultureInfo.InvariantCulture, $"{seconds:0.#} s")
        : seconds < 3600 ? string.Create(CultureInfo.InvariantCulture, $"{Math.Floor(seconds / 60)} min {seconds % 60:0} s")
        : string.Create(CultureInfo.InvariantCulture, $"{Math.Floor(seconds / 3600)} h {Math.Floor(seconds % 3600 / 60)} min");

    private static string Time(DateTimeOffset? time, DateTimeOffset now, bool withAgo = true)
    {
        if (time is not { } t)
        {
            return "–";
        }

        var utc = t.UtcDateTime;
        var text = $"<time datetime=\"{utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}\">{utc.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC</time>";
        return withAgo ? $"{text} <span class=\"ago\">({Ago(t, now)})</span>" : text;
    }

    private static string Ago(DateTimeOffset time, DateTimeOffset now)
    {
        var span = now - time;
        var future = span < TimeSpan.Zero;
        span = span.Duration();
        var amount = span.TotalSeconds < 90 ? $"{(int)span.TotalSeconds} s"
            : span.TotalMinutes < 90 ? $"{(int)span.TotalMinutes} min"
            : span.TotalHours < 36 ? $"{(int)span.TotalHours} h"
            : $"{(int)span.TotalDays} days";
        return future ? "in " + amount : amount + " ago";
    }

    private static string Enc(string? text) => text is null ? string.Empty : Html.Encode(text);
}

/// <summary>The dashboard's answer: the page, its strict Content-Security-Policy and no caching or referrer.</summary>
internal sealed class DashboardResult(int statusCode, string html) : IActionResult
{
    public int StatusCode => statusCode;

    public async Task ExecuteResultAsync(ActionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = context.HttpContext.Response;
        response.StatusCode = statusCode;
        response.ContentType = "text/html; charset=utf-8";
        response.Headers.ContentSecurityPolicy = DashboardPage.ContentSecurityPolicy;
        response.Headers.CacheControl = "no-store";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer"; // the page's URL carries the function key
        response.Headers.XFrameOptions = "DENY";
        await response.WriteAsync(html, Encoding.UTF8, context.HttpContext.RequestAborted).ConfigureAwait(false);
    }
}
