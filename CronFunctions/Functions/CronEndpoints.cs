using CronFunctions.Http;
using CronFunctions.Jobs;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace CronFunctions.Functions;

/// <summary>
/// The six cron endpoints: one function each, so each shows and runs on its own in the portal. Like every function
/// here, their triggers name no methods, so the host passes every method on and a non-POST gets the pipeline's 405
/// with <c>Allow: POST</c> rather than the host's 404. Anonymous: the bearer token is the gate.
/// </summary>
internal sealed class CronEndpoints
{
    private readonly CronPipeline _pipeline;

    public CronEndpoints(CronPipeline pipeline) => _pipeline = pipeline;

    [Function(nameof(EeRecent))]
    public Task<IActionResult> EeRecent(
        [HttpTrigger(AuthorizationLevel.Anonymous, Route = "cron/ee-recent")] HttpRequest request,
        CancellationToken cancellationToken) => _pipeline.RunAsync(request, JobCatalog.EeRecent, cancellationToken);

    [Function(nameof(PartiesImport))]
    public Task<IActionResult> PartiesImport(
        [HttpTrigger(AuthorizationLevel.Anonymous, Route = "cron/parties-import")] HttpRequest request,
        CancellationToken cancellationToken) => _pipeline.RunAsync(request, JobCatalog.PartiesImport, cancellationToken);

    [Function(nameof(CheckCurrent))]
    public Task<IActionResult> CheckCurrent(
        [HttpTrigger(AuthorizationLevel.Anonymous, Route = "cron/check-current")] HttpRequest request,
        CancellationToken cancellationToken) => _pipeline.RunAsync(request, JobCatalog.CheckCurrent, cancellationToken);

    [Function(nameof(MopRecent))]
    public Task<IActionResult> MopRecent(
        [HttpTrigger(AuthorizationLevel.Anonymous, Route = "cron/mop-recent")] HttpRequest request,
        CancellationToken cancellationToken) => _pipeline.RunAsync(request, JobCatalog.MopRecent, cancellationToken);

    [Function(nameof(ModerationImages))]
    public Task<IActionResult> ModerationImages(
        [HttpTrigger(AuthorizationLevel.Anonymous, Route = "cron/moderation-images")] HttpRequest request,
        CancellationToken cancellationToken) => _pipeline.RunAsync(request, JobCatalog.ModerationImages, cancellationToken);

    [Function(nameof(SopnParse))]
    public Task<IActionResult> SopnParse(
        [HttpTrigger(AuthorizationLevel.Anonymous, Route = "cron/sopn-parse")] HttpRequest request,
        CancellationToken cancellationToken) => _pipeline.RunAsync(request, JobCatalog.SopnParse, cancellationToken);
}
