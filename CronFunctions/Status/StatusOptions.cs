using Microsoft.Extensions.Options;

namespace CronFunctions.Status;

/// <summary>
/// The health settings per job, read from the same <c>Cron:Jobs:&lt;FunctionName&gt;</c> entries as its runner and
/// schedule: <c>Cron__Jobs__PartiesImport__OverdueGrace=00:30:00</c>, <c>Cron__Jobs__SopnParse__FailingAfter=5</c>.
/// Unset values take the defaults of <see cref="JobHealth"/>.
/// </summary>
internal sealed class StatusOptions
{
    public const string Section = "Cron";

    public Dictionary<string, JobHealthSettings> Jobs { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public JobHealthSettings? For(string functionName) => Jobs.GetValueOrDefault(functionName);
}

internal sealed class JobHealthSettings
{
    /// <summary>A job is <c>failing</c> when this many of its last finished runs failed in a row (1–20).</summary>
    public int? FailingAfter { get; set; }

    /// <summary>How long past a missed slot before a job is <c>overdue</c> (1 minute – 7 days).</summary>
    public TimeSpan? OverdueGrace { get; set; }
}

/// <summary>Names the exact setting that is out of range, at start-up.</summary>
internal sealed class StatusOptionsValidator : IValidateOptions<StatusOptions>
{
    public ValidateOptionsResult Validate(string? name, StatusOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var (job, settings) in options.Jobs)
        {
            if (settings.FailingAfter is < 1 or > JobHealth.MaxFailingAfter)
            {
                return ValidateOptionsResult.Fail($"Cron:Jobs:{job}:FailingAfter must be from 1 to {JobHealth.MaxFailingAfter}.");
            }

            if (settings.OverdueGrace is { } grace && (grace < TimeSpan.FromMinutes(1) || grace > TimeSpan.FromDays(7)))
            {
                return ValidateOptionsResult.Fail($"Cron:Jobs:{job}:OverdueGrace must be from 00:01:00 to 7.00:00:00.");
            }
        }

        return ValidateOptionsResult.Success;
    }
}
