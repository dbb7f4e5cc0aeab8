using CronFunctions.Jobs;
using CronFunctions.Tests.Infrastructure;

namespace CronFunctions.Tests.Endpoints;

/// <summary>Each endpoint starts exactly its spec command line, as a real process, and answers with its real pid.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class EndpointTests(AzuriteFixture azurite) : AppTest(azurite)
{

    public static TheoryData<string, string[]> SpecCommandLines => new()
    {
        { "ee-recent", ["uk_create_elections_from_every_election", "--recently-updated"] },
        { "parties-import", ["parties_import_from_ec", "--post-to-slack"] },
        { "check-current", ["uk_create_elections_from_every_election", "--check-current"] },
        { "mop-recent", ["uk_create_elections_from_every_election", "--recently-updated", "--recently-updated-delta", "25"] },
        { "moderation-images", ["moderation_queue_process_queued_images"] },
        { "sopn-parse", ["sopn_parsing_process_unparsed"] },
    };

    [Theory]
    [MemberData(nameof(SpecCommandLines))]
    public async Task Post_StartsExactlyTheSpecCommandLine_AndAnswersItsPid(string jobName, string[] expectedArgs)
    {
        var job = JobCatalog.Find(jobName)!;

        var response = await App.PostAsync(job);

        Assert.Equal(200, response.Status);
        Assert.Equal("started", response.Str("status"));
        Assert.Matches("^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$", response.Str("runId"));
        var calls = await Backend.WaitForCallsAsync(1);
        var (pid, argv) = Assert.Single(calls);
        Assert.Equal(pid, response.Int("pid"));
        Assert.Equal(expectedArgs, argv);
    }

    [Fact]
    public async Task MopRecent_WithDelta_PassesTheValidatedNumber()
    {
        var response = await App.PostAsync(JobCatalog.MopRecent, "?delta=8760");

        Assert.Equal(200, response.Status);
        var (_, argv) = Assert.Single(await Backend.WaitForCallsAsync(1));
        Assert.Equal(["uk_create_elections_from_every_election", "--recently-updated", "--recently-updated-delta", "8760"], argv);
    }

    [Fact]
    public async Task ModerationImages_RunsAtLowCpuPriority()
    {
        Backend.Mode = "sleep 5";

        var response = await App.PostAsync(JobCatalog.ModerationImages);

        var pid = response.Int("pid")!.Value;
        await Backend.WaitForCallsAsync(1);
        // /proc/<pid>/stat field 19 is the nice value.
        var stat = await File.ReadAllTextAsync($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        Assert.Equal("10", fields[16]);
        Process(pid).Kill();
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    [InlineData("PATCH")]
    [InlineData("HEAD")]
    [InlineData("OPTIONS")]
    public async Task NonPost_Is405WithAllowPost_AndStartsNothing(string method)
    {
        var response = await App.CallAsync(JobCatalog.EeRecent, method);

        Assert.Equal(405, response.Status);
        Assert.Equal("POST", response.Headers.Allow.ToString());
        Assert.NotNull(response.Str("error"));
        await AssertNothingStartedAsync(JobCatalog.EeRecent);
    }

    private static System.Diagnostics.Process Process(int pid) => System.Diagnostics.Process.GetProcessById(pid);
}
