using System.Text.Json;

namespace CronFunctions.Tests.Infra;

/// <summary>
/// The alarm for overdue and failing jobs (issue 12 item 3): a log search alert rule on the app's Application Insights
/// that counts, every five minutes and per job, the health monitor's JobOverdue (4100) and JobFailing (4101) events,
/// and an action group that emails alertEmail when one is given.
/// </summary>
public sealed class AlertRuleTemplateTests(CompiledMainTemplate compiled) : IClassFixture<CompiledMainTemplate>
{
    /// <summary>The query, as the rule must run it (also quoted in infra/README.md).</summary>
    public const string ExpectedQuery = """
        traces
        | where tostring(customDimensions.CategoryName) == "CronFunctions.Status.JobHealthMonitor"
        | where severityLevel >= 3
        | extend EventId = toint(customDimensions.EventId)
        | where EventId in (4100, 4101)
        | extend Job = tostring(customDimensions.Job), Health = iff(EventId == 4100, "overdue", "failing")
        | project timestamp, Job, Health, Since = tostring(customDimensions.Since), Reason = tostring(customDimensions.Reason), message
        """;

    private ArmTemplate Main => compiled.Main;

    private JsonElement Rule => Main.Single("Microsoft.Insights/scheduledQueryRules");

    [Fact]
    public void Rule_QueriesTheHealthMonitorsOverdueAndFailingEvents()
    {
        var criterion = Assert.Single(Rule.GetProperty("properties").GetProperty("criteria").GetProperty("allOf").EnumerateArray());
        var query = Assert.IsType<string>(MainTemplateTests.Evaluate(Main).ForModule("alerts").Evaluate(criterion.GetProperty("query")));

        Assert.Equal(Normalize(ExpectedQuery), Normalize(query));
        // What the app logs (category, level, event ids, the Job placeholder), as the worker's Application Insights
        // logger writes it: CategoryName, EventId and each placeholder become custom dimensions of a trace.
        Assert.Contains("customDimensions.CategoryName) == \"CronFunctions.Status.JobHealthMonitor\"", query, StringComparison.Ordinal);
        Assert.Contains("severityLevel >= 3", query, StringComparison.Ordinal); // SeverityLevel.Error
        Assert.Contains("EventId in (4100, 4101)", query, StringComparison.Ordinal);
        Assert.Contains("Job = tostring(customDimensions.Job)", query, StringComparison.Ordinal);
    }

    [Fact]
    public void Rule_RunsEveryFiveMinutesWithOneAlertPerJobAndResolvesByItself()
    {
        var properties = Rule.GetProperty("properties");
        var criterion = properties.GetProperty("criteria").GetProperty("allOf")[0];

        Assert.Equal("LogAlert", Rule.GetProperty("kind").GetString());
        Assert.Equal("PT5M", properties.GetProperty("evaluationFrequency").GetString());
        Assert.Equal("PT15M", properties.GetProperty("windowSize").GetString());
        Assert.True(properties.GetProperty("autoMitigate").GetBoolean());
        Assert.True(properties.GetProperty("enabled").GetBoolean());
        Assert.Equal("Count", criterion.GetProperty("timeAggregation").GetString());
        Assert.Equal("GreaterThan", criterion.GetProperty("operator").GetString());
        Assert.Equal(0, criterion.GetProperty("threshold").GetInt32());
        Assert.Equal(
            ["Job", "Health"],
            criterion.GetProperty("dimensions").EnumerateArray().Select(d => d.GetProperty("name").GetString()));
        Assert.All(criterion.GetProperty("dimensions").EnumerateArray(), d =>
        {
            Assert.Equal("Include", d.GetProperty("operator").GetString());
            Assert.Equal(["*"], d.GetProperty("values").EnumerateArray().Select(v => v.GetString()));
        });
    }

    [Fact]
    public void Rule_IsScopedToTheAppsApplicationInsightsOnlyAndHoldsNoIdentity()
    {
        var scope = Assert.Single(Rule.GetProperty("properties").GetProperty("scopes").EnumerateArray());

        Assert.Equal("[resourceId('Microsoft.Insights/components', parameters('applicationInsightsName'))]", scope.GetString());
        Assert.Equal("[variables('names').applicationInsights]", Main.ModuleParameters("alerts").GetProperty("applicationInsightsName").GetProperty("value").GetString());
        Assert.False(Rule.TryGetProperty("identity", out _));
        Assert.Empty(Main.Module("alerts").All("Microsoft.Authorization/roleAssignments"));
    }

    [Fact]
    public void AlertEmail_Given_ActionGroupEmailsItAndTheRuleUsesIt()
    {
        var alerts = MainTemplateTests.Evaluate(Main, ("alertEmail", "ops@example.org")).ForModule("alerts");
        var group = Main.Single("Microsoft.Insights/actionGroups");

        Assert.Equal(true, alerts.Evaluate(group.GetProperty("condition").GetString()!));
        Assert.Equal("global", group.GetProperty("location").GetString());
        var receiver = Assert.Single(group.GetProperty("properties").GetProperty("emailReceivers").EnumerateArray());
        Assert.Equal("ops@example.org", alerts.Evaluate(receiver.GetProperty("emailAddress")));
        Assert.DoesNotContain(group.GetProperty("properties").EnumerateObject(), p => p.Name is "webhookReceivers" or "azureFunctionReceivers" or "automationRunbookReceivers" or "logicAppReceivers");
        Assert.True(group.GetProperty("properties").GetProperty("groupShortName").GetString()!.Length <= 12);

        var actionGroups = Assert.IsType<List<object?>>(alerts.Evaluate(Rule.GetProperty("properties").GetProperty("actions").GetProperty("actionGroups")));
        var id = Assert.IsType<string>(Assert.Single(actionGroups));
        Assert.Contains("Microsoft.Insights/actionGroups", id, StringComparison.Ordinal);
    }

    [Fact]
    public void AlertEmail_Empty_RuleStillExistsButNoActionGroup()
    {
        Assert.Equal("", Main.Parameter("alertEmail").GetProperty("defaultValue").GetString());
        var alerts = MainTemplateTests.Evaluate(Main).ForModule("alerts");

        Assert.Equal(false, alerts.Evaluate(Main.Single("Microsoft.Insights/actionGroups").GetProperty("condition").GetString()!));
        Assert.False(Rule.TryGetProperty("condition", out _));
        Assert.Equal(new List<object?>(), alerts.Evaluate(Rule.GetProperty("properties").GetProperty("actions").GetProperty("actionGroups")));
    }

    [Fact]
    public void Readme_QuotesTheQueryTheRuleRuns()
    {
        var readme = File.ReadAllText(Path.Combine(BicepCli.InfraDirectory, "README.md")).ReplaceLineEndings("\n");

        Assert.Contains(Normalize(ExpectedQuery), Normalize(readme), StringComparison.Ordinal);
    }

    private static string Normalize(string query) =>
        string.Join('\n', query.ReplaceLineEndings("\n").Split('\n').Select(line => line.Trim()).Where(line => line.Length > 0));
}
