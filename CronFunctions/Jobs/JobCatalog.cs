using System.Collections.Frozen;

namespace CronFunctions.Jobs;

/// <summary>The six jobs of <c>shared/spec/jobs.md</c>. The endpoints differ only by this data.</summary>
internal static class JobCatalog
{
    public static readonly JobDefinition EeRecent = new(
        "ee-recent", "EeRecent", ["uk_create_elections_from_every_election", "--recently-updated"], "*/5 * * * *");

    public static readonly JobDefinition PartiesImport = new(
        "parties-import", "PartiesImport", ["parties_import_from_ec", "--post-to-slack"], "6 2 * * *");

    public static readonly JobDefinition CheckCurrent = new(
        "check-current", "CheckCurrent", ["uk_create_elections_from_every_election", "--check-current"], "23 23 * * *");

    public static readonly JobDefinition MopRecent = new(
        "mop-recent", "MopRecent", ["uk_create_elections_from_every_election", "--recently-updated"], "33 23 * * *",
        Parameter: new JobParameter("delta", "--recently-updated-delta", DefaultValue: 25, Minimum: 1, Maximum: 8760));

    public static readonly JobDefinition ModerationImages = new(
        "moderation-images", "ModerationImages", ["moderation_queue_process_queued_images"], "* * * * *", LowPriority: true);

    public static readonly JobDefinition SopnParse = new(
        "sopn-parse", "SopnParse", ["sopn_parsing_process_unparsed"], "* * * * *");

    public static IReadOnlyList<JobDefinition> All { get; } =
        [EeRecent, PartiesImport, CheckCurrent, MopRecent, ModerationImages, SopnParse];

    private static readonly FrozenDictionary<string, JobDefinition> ByName =
        All.ToFrozenDictionary(j => j.Name, StringComparer.Ordinal);

    public static JobDefinition? Find(string name) => ByName.GetValueOrDefault(name);
}
