using CronFunctions.Jobs;
using CronFunctions.Tests.Infrastructure;

namespace CronFunctions.Tests.Endpoints;

/// <summary>Every hostile <c>delta</c> (and <c>force</c>) is a 400 with a JSON error and never reaches a command line.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class ParameterTests(AzuriteFixture azurite) : AppTest(azurite)
{

    public static TheoryData<string> HostileDeltas => new()
    {
        "?delta=",                          // empty
        "?delta",                           // no value
        "?delta=abc",                       // text
        "?delta=-5",                        // sign
        "?delta=%2B5",                      // + sign
        "?delta=-",                         // lone dash
        "?delta=--help",                    // an option smuggled in
        "?delta=25%20--post-to-slack",      // a second argument
        "?delta=%2025",                     // leading space
        "?delta=25%20",                     // trailing space
        "?delta=2%205",                     // inner space
        "?delta=0",                         // below range
        "?delta=8761",                      // above range
        "?delta=99999999999999999999",      // overflow
        "?delta=2147483648",                // int overflow
        "?delta=025",                       // leading zero
        "?delta=2.5",                       // fraction
        "?delta=1e3",                       // exponent
        "?delta=0x10",                      // hex
        "?delta=%D9%A2%D9%A5",              // Arabic-Indic digits
        "?delta=%EF%BC%92%EF%BC%95",        // full-width digits
        "?delta=25%3Brm%20-rf%20%2F",       // shell injection
        "?delta=%2425",                     // $25
        "?delta=25%00",                     // NUL
        "?delta=25%0A--check-current",      // newline
        "?delta=1&delta=2",                 // several values
        "?delta=25&delta=25",               // several (equal) values
        "?delta=25&force=yes",              // bad force
        "?force=1",
    };

    [Theory]
    [MemberData(nameof(HostileDeltas))]
    public async Task HostileParameter_Is400_AndStartsNothing(string query)
    {
        var response = await App.PostAsync(JobCatalog.MopRecent, query);

        Assert.Equal(400, response.Status);
        Assert.False(string.IsNullOrWhiteSpace(response.Str("error")));
        Assert.Null(response.Str("status"));
        await AssertNothingStartedAsync(JobCatalog.MopRecent);
    }

    [Fact]
    public async Task Delta_OnAJobWithoutIt_Is400()
    {
        var response = await App.PostAsync(JobCatalog.EeRecent, "?delta=25");

        Assert.Equal(400, response.Status);
        await AssertNothingStartedAsync(JobCatalog.EeRecent);
    }

    [Theory]
    [InlineData("?delta=1", "1")]
    [InlineData("?delta=8760", "8760")]
    [InlineData("?delta=168", "168")]
    [InlineData("", "25")]
    public async Task ValidDelta_IsPassedAsItsOwnArgument(string query, string expected)
    {
        var response = await App.PostAsync(JobCatalog.MopRecent, query);

        Assert.Equal(200, response.Status);
        var (_, argv) = Assert.Single(await Backend.WaitForCallsAsync(1));
        Assert.Equal(expected, argv[^1]);
        Assert.Equal("--recently-updated-delta", argv[^2]);
    }
}
