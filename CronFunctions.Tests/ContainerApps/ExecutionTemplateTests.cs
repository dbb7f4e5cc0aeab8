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

    [Fact]
    public void Build_JobTemplateWithProbesMountsAndReadOnlyFields_SendsOnlyWhatTheStartApiAccepts()
    {
        var body = ExecutionTemplate.Build(FullJobTemplate(), "worker", Command, Args, "run-4");

        AssertMatchesStartApiShape(body);
        var text = body.ToJsonString();
        foreach (var dropped in new[] { "probes", "volumeMounts", "volumes", "ephemeralStorage", "imageType", "secretKeyVaultUrl", "unknownFutureField" })
        {
            Assert.DoesNotContain($"\"{dropped}\"", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Build_EveryContainerAndInitContainer_KeepsItsAcceptedFieldsUnchanged()
    {
        var template = FullJobTemplate();

        var body = ExecutionTemplate.Build(template, "worker", Command, Args, "run-5");

        // The containers that are not overridden go out exactly as the job defines them, field by accepted field.
        var web = body["containers"]![0]!;
        Assert.Equal("web", web["name"]!.GetValue<string>());
        Assert.Equal("registry.example/web:1", web["image"]!.GetValue<string>());
        Assert.Equal("""["gunicorn"]""", web["command"]!.ToJsonString());
        Assert.Equal("""["ynr.wsgi"]""", web["args"]!.ToJsonString());
        Assert.Equal("""[{"name":"A","value":"1"},{"name":"DB_PASSWORD","secretRef":"db-password"}]""", web["env"]!.ToJsonString());
        Assert.Equal("""{"cpu":0.5,"memory":"1Gi"}""", web["resources"]!.ToJsonString());

        var init = Assert.Single(body["initContainers"]!.AsArray())!;
        Assert.Equal("""{"name":"wait-for-db","image":"registry.example/wait:1","command":["/wait"],"args":["db:5432"],"resources":{"cpu":0.25,"memory":"0.5Gi"}}""", init.ToJsonString());

        // The chosen container keeps its image, env and resources; only command, args and CRON_RUN_ID change.
        var worker = body["containers"]![1]!;
        Assert.Equal("registry.example/web:1", worker["image"]!.GetValue<string>());
        Assert.Equal("""["python","manage.py"]""", worker["command"]!.ToJsonString());
        Assert.Equal("""["sopn_parsing_process_unparsed"]""", worker["args"]!.ToJsonString());
        Assert.Equal("""[{"name":"B","value":"2"},{"name":"CRON_RUN_ID","value":"run-5"}]""", worker["env"]!.ToJsonString());
        Assert.Equal("""{"cpu":1,"memory":"2Gi"}""", worker["resources"]!.ToJsonString());
    }

    [Fact]
    public void Build_NoInitContainers_SendsNone()
    {
        var body = ExecutionTemplate.Build(TwoContainers(), "worker", Command, Args, "run-6");

        Assert.False(body.ContainsKey("initContainers"));
        AssertMatchesStartApiShape(body);
    }

    [Fact]
    public void AssertMatchesStartApiShape_BodyWithAProbe_Fails()
    {
        // The shape check below is what the tests above rely on; it must reject what the API does not accept.
        var body = JsonNode.Parse("""{ "containers": [ { "name": "a", "image": "i", "probes": [] } ] }""")!.AsObject();

        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => AssertMatchesStartApiShape(body));
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

    /// <summary>
    /// The start body's schema, copied from the Microsoft.App stable spec (2025-07-01 Jobs.json and CommonDefinitions.json):
    /// <c>JobExecutionTemplate</c> → <c>JobExecutionContainer</c> → <c>EnvironmentVar</c> / <c>ContainerResources</c>
    /// (whose <c>ephemeralStorage</c> is read-only, so not sent).
    /// </summary>
    private static void AssertMatchesStartApiShape(JsonObject body)
    {
        string[] template = ["containers", "initContainers"];
        string[] container = ["image", "name", "command", "args", "env", "resources"];
        string[] environmentVariable = ["name", "value", "secretRef"];
        string[] resources = ["cpu", "memory"];

        Assert.All(body.Select(p => p.Key), key => Assert.Contains(key, template));
        foreach (var item in template.Select(name => body[name]).OfType<JsonArray>().SelectMany(array => array))
        {
            var containerObject = Assert.IsType<JsonObject>(item);
            Assert.All(containerObject.Select(p => p.Key), key => Assert.Contains(key, container));
            if (containerObject["env"] is JsonArray env)
            {
                Assert.All(env, variable => Assert.All(Assert.IsType<JsonObject>(variable).Select(p => p.Key), key => Assert.Contains(key, environmentVariable)));
            }

            if (containerObject["resources"] is JsonNode resourceNode)
            {
                Assert.All(Assert.IsType<JsonObject>(resourceNode).Select(p => p.Key), key => Assert.Contains(key, resources));
            }
        }
    }

    /// <summary>A job template as GET returns it, with everything a start body cannot carry.</summary>
    private static JsonObject FullJobTemplate() => (JsonObject)JsonNode.Parse("""
        {
          "containers": [
            {
              "name": "web", "image": "registry.example/web:1", "imageType": "ContainerImage",
              "command": ["gunicorn"], "args": ["ynr.wsgi"],
              "env": [ { "name": "A", "value": "1" }, { "name": "DB_PASSWORD", "secretRef": "db-password", "unknownFutureField": true } ],
              "resources": { "cpu": 0.5, "memory": "1Gi", "ephemeralStorage": "2Gi" },
              "probes": [ { "type": "Liveness", "httpGet": { "path": "/healthz", "port": 8000 } } ],
              "volumeMounts": [ { "volumeName": "media", "mountPath": "/app/media" } ]
            },
            {
              "name": "worker", "image": "registry.example/web:1",
              "env": [ { "name": "B", "value": "2" } ],
              "resources": { "cpu": 1, "memory": "2Gi", "ephemeralStorage": "4Gi" },
              "volumeMounts": [ { "volumeName": "media", "mountPath": "/app/media", "subPath": "x" } ],
              "unknownFutureField": { "nested": 1 }
            }
          ],
          "initContainers": [
            { "name": "wait-for-db", "image": "registry.example/wait:1", "command": ["/wait"], "args": ["db:5432"],
              "resources": { "cpu": 0.25, "memory": "0.5Gi", "ephemeralStorage": "1Gi" },
              "volumeMounts": [ { "volumeName": "media", "mountPath": "/m" } ] }
          ],
          "volumes": [ { "name": "media", "storageType": "AzureFile", "storageName": "media", "secretKeyVaultUrl": "x" } ]
        }
        """)!;

    private static JsonObject TwoContainers() => (JsonObject)JsonNode.Parse("""
        {
          "containers": [
            { "name": "web", "image": "registry.example/web:1", "command": ["gunicorn"], "env": [ { "name": "A", "value": "1" } ] },
            { "name": "worker", "image": "registry.example/web:1", "resources": { "cpu": 1, "memory": "2Gi" }, "volumeMounts": [ { "volumeName": "v", "mountPath": "/v" } ] }
          ]
        }
        """)!;
}
