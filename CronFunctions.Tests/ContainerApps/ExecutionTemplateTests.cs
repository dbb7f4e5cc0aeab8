using System.Text.Json.Nodes;
using CronFunctions.Runners.ContainerApps;

namespace CronFunctions.Tests.ContainerApps;

public sealed class ExecutionTemplateTests
{
    private static readonly string[] Command = ["python", "manage.py"];
    private static readonly string[] Args = ["sopn_parsing_process_unparsed"];

    [Fact]
    public void Build_NamedContainer_IsTheOnlyOneChanged()
    {
        var template = TwoContainers();

        var body = ExecutionTemplate.Build(template, "worker", Command, Args, "run-1");

        Assert.True(JsonNode.DeepEquals(template["containers"]![0], body["containers"]![0]));
        Assert.Equal("""["python","manage.py"]""", body["containers"]![1]!["command"]!.ToJsonString());
        Assert.Equal("""["sopn_parsing_process_unparsed"]""", body["containers"]![1]!["args"]!.ToJsonString());
        Assert.True(ExecutionTemplate.CarriesRunId(body, "run-1"));
    }

    [Fact]
    public void Build_DoesNotChangeTheJobTemplateItWasGiven()
    {
        var template = TwoContainers();
        var before = template.DeepClone();

        ExecutionTemplate.Build(template, "worker", Command, Args, "run-1");

        Assert.True(JsonNode.DeepEquals(before, template));
    }

    [Theory]
    [InlineData(null, "ContainerName")]
    [InlineData("missing", "no container named 'missing'")]
    public void Build_ContainerThatCannotBeChosen_Throws(string? containerName, string expected)
    {
        var error = Assert.Throws<ExecutionTemplateException>(
            () => ExecutionTemplate.Build(TwoContainers(), containerName, Command, Args, "run-1"));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_NoContainers_Throws() =>
        Assert.Throws<ExecutionTemplateException>(() => ExecutionTemplate.Build(new JsonObject(), null, Command, Args, "run-1"));

    [Fact]
    public void Build_ExistingRunIdVariable_IsReplacedNotDuplicated()
    {
        var template = JsonNode.Parse("""
            { "containers": [ { "name": "app", "image": "i", "env": [ { "name": "CRON_RUN_ID", "secretRef": "placeholder" }, { "name": "A", "value": "1" } ] } ] }
            """);

        var body = ExecutionTemplate.Build(template, null, Command, Args, "run-2");

        Assert.Equal(
            """[{"name":"A","value":"1"},{"name":"CRON_RUN_ID","value":"run-2"}]""",
            body["containers"]![0]!["env"]!.ToJsonString());
    }

    [Fact]
    public void Build_EmptyCommandPrefix_KeepsTheTemplatesCommand()
    {
        var template = JsonNode.Parse("""{ "containers": [ { "name": "app", "image": "i", "command": ["/entrypoint.sh"] } ] }""");

        var body = ExecutionTemplate.Build(template, null, [], Args, "run-3");

        Assert.Equal("""["/entrypoint.sh"]""", body["containers"]![0]!["command"]!.ToJsonString());
        Assert.Equal("""["sopn_parsing_process_unparsed"]""", body["containers"]![0]!["args"]!.ToJsonString());
    }

    [Theory]
    [InlineData("""{ "name": "cron-job-abc12", "id": "/x/executions/other" }""", "cron-job-abc12")]
    [InlineData("""{ "id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.App/jobs/j/executions/cron-job-xyz" }""", "cron-job-xyz")]
    [InlineData("""{ "id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.App/jobs/{containerAppsJobName}/executions/{jobExecutionName}" }""", null)]
    [InlineData("""{ "name": "../../other" }""", null)]
    [InlineData("{}", null)]
    public void ExecutionName_TakesAWellFormedNameOnly(string body, string? expected) =>
        Assert.Equal(expected, ExecutionMatcher.ExecutionName(JsonNode.Parse(body)));

    [Fact]
    public void FindOwn_SeveralRunningWithoutEnvironment_AdoptsNone()
    {
        var now = DateTimeOffset.UtcNow;
        JsonObject[] executions = [Execution("a", "Running", now), Execution("b", "Running", now)];

        Assert.Null(ExecutionMatcher.FindOwn(executions, "run-1", now));
    }

    [Fact]
    public void FindOwn_OnlyExecutionStartedBeforeTheAttempt_AdoptsNone()
    {
        var now = DateTimeOffset.UtcNow;
        JsonObject[] executions = [Execution("a", "Running", now - TimeSpan.FromMinutes(10))];

        Assert.Null(ExecutionMatcher.FindOwn(executions, "run-1", now));
    }

    private static JsonObject Execution(string name, string status, DateTimeOffset started) => new()
    {
        ["name"] = name,
        ["properties"] = new JsonObject { ["status"] = status, ["startTime"] = started.ToString("o") },
    };

    private static JsonObject TwoContainers() => (JsonObject)JsonNode.Parse("""
        {
          "containers": [
            { "name": "web", "image": "registry.example/web:1", "command": ["gunicorn"], "env": [ { "name": "A", "value": "1" } ] },
            { "name": "worker", "image": "registry.example/web:1", "resources": { "cpu": 1, "memory": "2Gi" }, "volumeMounts": [ { "volumeName": "v", "mountPath": "/v" } ] }
          ]
        }
        """)!;
}
