using CronFunctions.Http;
using CronFunctions.Jobs;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;

namespace CronFunctions.Functions;

/// <summary>
/// The six cron endpoints: one function each, so each shows and runs on its own in the portal. No method list: the
/// host routes every method here and the pipeline answers a non-POST with 405 and <c>Allow: POST</c> (a list would
/// get the host's 404 instead). Anonymous: the bearer token is the gate.
/// </summary>
/// <remarks>
/// Public and static on purpose: for a function in a non-public class the worker SDK builds (and compiles) a new
/// executor on every call, which more than halves the throughput of a refused call. The pipeline comes from the
/// request's services.
/// </remarks>
public static class CronEndpoints
{
    [Function(nameof(EeRecent))]
    public static Task<IActionResult> EeRecent(
        [HttpTrigger(AuthorizationLevel.Anonymous, Route = "cron/ee-recent")] HttpRequest request, CancellationToken cancellationToken) =>
        Run(request, JobCatalog.EeRecent, cancellationToken);

    [Function(nameof(PartiesImport))]
    public static Task<IActionResult> PartiesImport(
        [HttpTrigger(AuthorizationLevel.Anonymous, Route = "cron/parties-import")] HttpRequest request, CancellationToken cancellationToken) =>
        Run(request, JobCatalog.PartiesImport, cancellationToken);

    [Function(nameof(CheckCurrent))]
    public static Task<IActionResult> CheckCurrent(
        [HttpTrigger(AuthorizationLevel.Anonymous, Route = "cron/check-current")] HttpRequest request, CancellationToken cancellationToken) =>
        Run(request, JobCatalog.CheckCurrent, cancellationToken);

    [Function(nameof(MopRecent))]
    public static Task<IActionResult> MopRecent(
        [HttpTrigger(AuthorizationLevel.Anonymous, Route = "cron/mop-recent")] HttpRequest request, CancellationToken cancellationToken) =>
        Run(request, JobCatalog.MopRecent, cancellationToken);

    [Function(nameof(ModerationImages))]
    public static Task<IActionResult> ModerationImages(
        [HttpTrigger(AuthorizationLevel.Anonymous, Route = "cron/moderation-images")] HttpRequest request, CancellationToken cancellationToken) =>
        Run(request, JobCatalog.ModerationImages, cancellationToken);

    [Function(nameof(SopnParse))]
    public static Task<IActionResult> SopnParse(
        [HttpTrigger(AuthorizationLevel.Anonymous, Route = "cron/sopn-parse")] HttpRequest request, CancellationToken cancellationToken) =>
        Run(request, JobCatalog.SopnParse, cancellationToken);

    private static Task<IActionResult> Run(HttpRequest request, JobDefinition job, CancellationToken cancellationToken) =>
        request.HttpContext.RequestServices.GetRequiredService<CronPipeline>().RunAsync(request, job, cancellationToken);
}
