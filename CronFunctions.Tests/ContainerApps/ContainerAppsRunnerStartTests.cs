using System.Text.Json.Nodes;
using CronFunctions.Jobs;
using CronFunctions.Runners;
using CronFunctions.Runners.ContainerApps;
using Microsoft.AspNetCore.Http;

namespace CronFunctions.Tests.ContainerApps;

public sealed class ContainerAppsRunnerStartTests : IAsyncLifetime
{
    private FakeArm _arm = null!;

    public async Task InitializeAsync() => _arm = await FakeArm.StartAsync();

    public async Task DisposeAsync() => await _arm.DisposeAsync();

    [Fact]
    public async Task StartAsync_200_ReturnsTheExecutionNamedInTheBody()
    {
        var harness = new RunnerHarness(_arm);
        var request = RunnerHarness.Request(JobCatalog.EeRecent);

        var handle = await harness.StartAsync(request);

        Assert.Single(_arm.Posts);
        Assert.Equal("containerapp", handle.Runner);
        Assert.Equal(Assert.Single(_arm.ExecutionNames), handle.Execution);
        Assert.Equal($"{FakeArm.JobPath}/executions/{handle.Execution}", handle.Id);
        Assert.Null(handle.Pid);

        var started = Assert.Single(harness.Records(3011));
        Assert.Equal(handle.Execution, started.GetStructuredStateValue("Execution"));
    }

    [Fact]
    public async Task StartAsync_SendsTheJobsTemplate_WithOnlyCommandArgsAndRunIdChanged()
    {
        var harness = new RunnerHarness(_arm);
        var request = RunnerHarness.Request(JobCatalog.MopRecent, [.. JobCatalog.MopRecent.Arguments, "--recently-updated-delta", "25"]);

        await harness.Runner.StartAsync(request, CancellationToken.None);

        Assert.Collection(
            _arm.Requests,
            get =>
            {
                Assert.Equal(("GET", FakeArm.JobPath), (get.Method, get.Path));
                Assert.Equal("Bearer " + FakeArm.Token, get.Authorization);
                Assert.Equal(ContainerAppsOptions.DefaultApiVersion, get.ApiVersion);
            },
            post =>
            {
                Assert.Equal(("POST", FakeArm.JobPath + "/start"), (post.Method, post.Path));
                Assert.Equal("Bearer " + FakeArm.Token, post.Authorization);
                Assert.Equal(ContainerAppsOptions.DefaultApiVersion, post.ApiVersion);
            });

        // The template as GET returned it, reduced to what the start API's JobExecutionTemplate accepts (no volumes,
        // probes or volume mounts), with the one container's command/args and a CRON_RUN_ID added, nothing else touched.
        var expected = FakeArm.DefaultTemplate();
        expected.Remove("volumes");
        var web = expected["containers"]![0]!.AsObject();
        web.Remove("probes");
        web.Remove("volumeMounts");
        web["command"] = new JsonArray("python", "manage.py");
        web["args"] = new JsonArray(
            "uk_create_elections_from_every_election", "--recently-updated", "--recently-updated-delta", "25");
        web["env"]!.AsArray().Add(new JsonObject { ["name"] = "CRON_RUN_ID", ["value"] = request.RunId });

        var sent = JsonNode.Parse(_arm.Posts.Single().Body);
        Assert.True(JsonNode.DeepEquals(expected, sent), $"Sent body differs:\n{sent}\nexpected:\n{expected}");
        Assert.Equal([ContainerAppsOptions.DefaultTokenScope], harness.Credential.LastScopes);
    }

    [Fact]
    public async Task StartAsync_202_FollowsLocation_HonouringRetryAfter()
    {
        var harness = new RunnerHarness(_arm);
        var operationPath = $"/subscriptions/{FakeArm.SubscriptionId}/providers/Microsoft.App/locations/uksouth/jobOperationResults/op-1";
        var polls = 0;
        string? executionName = null;
        _arm.Handler = async (context, request) =>
        {
            if (request is { Method: "POST" })
            {
                executionName = _arm.AddExecution(JsonNode.Parse(request.Body));
                context.Response.Headers.Location = $"{_arm.Endpoint.GetLeftPart(UriPartial.Authority)}{operationPath}?api-version=2025-01-01";
                context.Response.Headers.RetryAfter = "1";
                await FakeArm.WriteJsonAsync(context, 202, null);
                return true;
            }

            if (request.Path == operationPath)
            {
                // Still running on the first poll, done on the second.
                if (Interlocked.Increment(ref polls) == 1)
                {
                    await FakeArm.WriteJsonAsync(context, 202, null);
                }
                else
                {
                    await FakeArm.WriteJsonAsync(context, 200, new JsonObject { ["name"] = executionName, ["id"] = $"{FakeArm.JobPath}/executions/{executionName}" });
                }

                return true;
            }

            return false;
        };

        var handle = await harness.StartAsync(RunnerHarness.Request());

        Assert.Equal(executionName, handle.Execution);
        Assert.Single(_arm.Posts);
        var pollRequests = _arm.Requests.Where(r => r.Path == operationPath).ToList();
        Assert.Equal(2, pollRequests.Count);
        Assert.All(pollRequests, p => Assert.Equal("Bearer " + FakeArm.Token, p.Authorization));
        var post = _arm.Posts.Single();
        Assert.True(pollRequests[0].At - post.At >= TimeSpan.FromMilliseconds(900), "Retry-After: 1 was not honoured.");
    }

    [Fact]
    public async Task StartAsync_202_WithLocationOnAnotherHost_DoesNotFollowIt_AndFindsTheExecutionByRunId()
    {
        var harness = new RunnerHarness(_arm);
        string? executionName = null;
        _arm.Handler = async (context, request) =>
        {
            if (request is not { Method: "POST" })
            {
                return false;
            }

            executionName = _arm.AddExecution(JsonNode.Parse(request.Body));
            context.Response.Headers.Location = "https://attacker.example/operations/1";
            await FakeArm.WriteJsonAsync(context, 202, null);
            return true;
        };

        var handle = await harness.StartAsync(RunnerHarness.Request());

        Assert.Equal(executionName, handle.Execution);
        Assert.Single(_arm.Posts);
        Assert.Single(harness.Records(3017));
        var adopted = Assert.Single(harness.Records(3015));
        Assert.Equal("CRON_RUN_ID", adopted.GetStructuredStateValue("MatchedBy"));
    }

    [Fact]
    public async Task StartAsync_202_WhenTheOperationCannotBeRead_FindsTheExecutionByRunId()
    {
        // An identity scoped to the job may not read the subscription-level operation result.
        var harness = new RunnerHarness(_arm);
        var operationPath = $"/subscriptions/{FakeArm.SubscriptionId}/providers/Microsoft.App/locations/uksouth/containerappsjoboperationresults/op-2";
        string? executionName = null;
        _arm.Handler = async (context, request) =>
        {
            if (request is { Method: "POST" })
            {
                executionName = _arm.AddExecution(JsonNode.Parse(request.Body));
                context.Response.Headers.Location = $"{_arm.Endpoint.GetLeftPart(UriPartial.Authority)}{operationPath}?api-version=2025-01-01";
                await FakeArm.WriteJsonAsync(context, 202, null);
                return true;
            }

            if (request.Path == operationPath)
            {
                await FakeArm.WriteJsonAsync(context, 403, FakeArm.Error("AuthorizationFailed", "not allowed"));
                return true;
            }

            return false;
        };

        var handle = await harness.StartAsync(RunnerHarness.Request());

        Assert.Equal(executionName, handle.Execution);
        Assert.Single(_arm.Posts);
        Assert.Equal("CRON_RUN_ID", Assert.Single(harness.Records(3015)).GetStructuredStateValue("MatchedBy"));
    }

    public static TheoryData<string, int, int, int> ArmErrors => new()
    {
        // phase, ARM status, runner status, log event
        { "read", 401, 500, 3012 },
        { "read", 403, 500, 3012 },
        { "read", 404, 500, 3012 },
        { "read", 429, 503, 3012 },
        { "read", 500, 502, 3012 },
        { "read", 503, 503, 3012 },
        { "start", 400, 500, 3013 },
        { "start", 401, 500, 3013 },
        { "start", 403, 500, 3013 },
        { "start", 404, 500, 3013 },
        { "start", 409, 502, 3013 },
        { "start", 429, 503, 3013 },
        { "start", 500, 502, 3014 },
        { "start", 503, 503, 3014 },
    };

    [Theory]
    [MemberData(nameof(ArmErrors))]
    public async Task StartAsync_ArmError_MapsToRunnerStatus_AndLogsTheRequestIdButNotTheToken(
        string phase, int armStatus, int expectedStatus, int expectedEvent)
    {
        var harness = new RunnerHarness(_arm);
        var requestId = $"req-failing-{armStatus}";
        _arm.Handler = async (context, request) =>
        {
            var failHere = phase == "read" ? request.Method == "GET" && request.Path == FakeArm.JobPath : request.Method == "POST";
            if (!failHere)
            {
                return false;
            }

            await FakeArm.WriteJsonAsync(context, armStatus, FakeArm.Error("SomeArmCode", "The service said no."), requestId);
            return true;
        };

        // A start that ARM answered with a 5xx may have happened: that is Unknown (the lock stays held), not a failure.
        var ambiguous = phase == "start" && armStatus >= 500;
        int status;
        string message;
        try
        {
            var unknown = Assert.IsType<RunStart.Unknown>(await harness.Runner.StartAsync(RunnerHarness.Request(), CancellationToken.None));
            Assert.True(ambiguous, "Only an ambiguous start may be Unknown.");
            (status, message) = (unknown.StatusCode, unknown.Why);
        }
        catch (RunnerException error)
        {
            Assert.False(ambiguous, "An ambiguous start must be Unknown, not a failure that frees the slot.");
            (status, message) = (error.StatusCode, error.SafeMessage);
        }

        Assert.Equal(expectedStatus, status);
        Assert.DoesNotContain(FakeArm.Token, message, StringComparison.Ordinal);
        Assert.True(_arm.Posts.Count <= 1, "The start request was sent more than once.");
        if (phase == "read")
        {
            Assert.Empty(_arm.Posts);
        }

        var record = Assert.Single(harness.Records(expectedEvent));
        Assert.Equal(requestId, record.GetStructuredStateValue("RequestId"));
        Assert.Equal(armStatus.ToString(System.Globalization.CultureInfo.InvariantCulture), record.GetStructuredStateValue("ArmStatus"));
        Assert.DoesNotContain(FakeArm.Token, harness.AllLogText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_ArmUnreachableWhileReadingTheJob_Fails502WithoutStarting()
    {
        var harness = new RunnerHarness(_arm);
        _arm.Handler = (context, _) =>
        {
            context.Abort();
            return Task.FromResult(true);
        };

        var error = await Assert.ThrowsAsync<RunnerException>(() => harness.Runner.StartAsync(RunnerHarness.Request(), CancellationToken.None));

        Assert.Equal(502, error.StatusCode);
        Assert.Equal(2, _arm.Requests.Count); // the read and its one retry
        Assert.Empty(_arm.Posts);
        Assert.Single(harness.Records(3018));
    }

    [Theory]
    [InlineData(403, "start")]
    [InlineData(404, "not found")]
    public async Task StartAsync_Misconfiguration_SaysWhatIsWrong(int armStatus, string expectedText)
    {
        var harness = new RunnerHarness(_arm);
        _arm.Handler = async (context, request) =>
        {
            if (request.Method != "POST")
            {
                return false;
            }

            await FakeArm.WriteJsonAsync(context, armStatus, FakeArm.Error("AuthorizationFailed", "no"));
            return true;
        };

        var error = await Assert.ThrowsAsync<RunnerException>(() => harness.Runner.StartAsync(RunnerHarness.Request(), CancellationToken.None));

        Assert.Contains(expectedText, error.SafeMessage, StringComparison.Ordinal);
        Assert.Contains(FakeArm.JobName, error.SafeMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("connection dropped", "connection failed")]
    [InlineData("500 after starting", "ARM failed")]
    [InlineData("timeout", "timed out")]
    public async Task StartAsync_AmbiguousFailureAfterTheExecutionStarted_AdoptsIt_WithoutASecondPost(string failure, string reason)
    {
        var harness = new RunnerHarness(_arm, o => o.NetworkTimeout = TimeSpan.FromSeconds(1));

        // Others' executions: another run of the same Container Apps Job, running now, and an old one.
        _arm.AddExecution(Template("run-someone-else"), "Running");
        _arm.AddExecution(Template("run-long-ago"), "Succeeded", DateTimeOffset.UtcNow.AddHours(-3));

        string? ours = null;
        _arm.Handler = async (context, request) =>
        {
            if (request.Method != "POST")
            {
                return false;
            }

            ours = _arm.AddExecution(JsonNode.Parse(request.Body));
            switch (failure)
            {
                case "connection dropped":
                    context.Abort();
                    break;
                case "500 after starting":
                    await FakeArm.WriteJsonAsync(context, 500, FakeArm.Error("InternalServerError", "oops"), "req-500");
                    break;
                default:
                    await Task.Delay(TimeSpan.FromSeconds(3), context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                    break;
            }

            return true;
        };

        var handle = await harness.StartAsync(RunnerHarness.Request());

        Assert.Single(_arm.Posts);
        Assert.Equal(ours, handle.Execution);
        Assert.Equal(reason, Assert.Single(harness.Records(3014)).GetStructuredStateValue("Reason"));
        var adopted = Assert.Single(harness.Records(3015));
        Assert.Equal("CRON_RUN_ID", adopted.GetStructuredStateValue("MatchedBy"));
        Assert.DoesNotContain(FakeArm.Token, harness.AllLogText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_AmbiguousFailureWithNoExecution_IsUnknown_WithoutASecondPost()
    {
        var harness = new RunnerHarness(_arm);
        _arm.AddExecution(Template("run-someone-else"), "Running");
        _arm.Handler = (context, request) =>
        {
            if (request.Method != "POST")
            {
                return Task.FromResult(false);
            }

            context.Abort();
            return Task.FromResult(true);
        };

        var unknown = Assert.IsType<RunStart.Unknown>(await harness.Runner.StartAsync(RunnerHarness.Request(), CancellationToken.None));

        Assert.Equal(502, unknown.StatusCode);
        Assert.Single(_arm.Posts);
        Assert.True(_arm.Requests.Count(r => r.Path.EndsWith("/executions", StringComparison.Ordinal)) >= 2, "Executions were not looked up again.");
        Assert.Single(harness.Records(3016));
    }

    [Fact]
    public async Task StartAsync_ExecutionsWithoutVisibleEnvironment_AdoptsTheOnlyOneStartedSinceTheAttempt()
    {
        var harness = new RunnerHarness(_arm);
        _arm.AddExecution(null, "Succeeded", DateTimeOffset.UtcNow.AddHours(-1));
        string? ours = null;
        _arm.Handler = async (context, request) =>
        {
            if (request.Method != "POST")
            {
                return false;
            }

            ours = _arm.AddExecution(null);
            await FakeArm.WriteJsonAsync(context, 504, null);
            return true;
        };

        var handle = await harness.StartAsync(RunnerHarness.Request());

        Assert.Equal(ours, handle.Execution);
        Assert.Equal("start time", Assert.Single(harness.Records(3015)).GetStructuredStateValue("MatchedBy"));
    }

    [Fact]
    public async Task StartAsync_TwoContainersAndNoContainerName_FailsBeforeStarting()
    {
        var template = FakeArm.DefaultTemplate();
        template["containers"]!.AsArray().Add(new JsonObject { ["name"] = "worker", ["image"] = "registry.example/worker:1" });
        _arm.JobTemplate = template;
        var harness = new RunnerHarness(_arm);

        var error = await Assert.ThrowsAsync<RunnerException>(() => harness.Runner.StartAsync(RunnerHarness.Request(), CancellationToken.None));

        Assert.Equal(500, error.StatusCode);
        Assert.Contains("ContainerName", error.SafeMessage, StringComparison.Ordinal);
        Assert.Empty(_arm.Posts);
        Assert.Single(harness.Records(3003));
    }

    [Fact]
    public async Task StartAsync_PerJobOverride_StartsTheOverriddenJobAndContainer()
    {
        var template = FakeArm.DefaultTemplate();
        template["containers"]!.AsArray().Add(new JsonObject { ["name"] = "worker", ["image"] = "registry.example/worker:1" });
        _arm.JobTemplate = template;
        var harness = new RunnerHarness(_arm, o =>
        {
            o.JobName = "some-other-job";
            o.Jobs["SopnParse"] = new ContainerAppsJobOverride { JobName = FakeArm.JobName, ContainerName = "worker" };
        });

        await harness.StartAsync(RunnerHarness.Request(JobCatalog.SopnParse));

        var sent = JsonNode.Parse(_arm.Posts.Single().Body)!;
        Assert.Equal("""["gunicorn"]""", sent["containers"]![0]!["command"]!.ToJsonString());
        Assert.Equal("""["python","manage.py"]""", sent["containers"]![1]!["command"]!.ToJsonString());
        Assert.Equal("""["sopn_parsing_process_unparsed"]""", sent["containers"]![1]!["args"]!.ToJsonString());
    }

    [Theory]
    [InlineData("--recently-updated\n--evil")]
    [InlineData("")]
    [InlineData("a\0b")]
    public async Task StartAsync_ArgumentThatIsNotAPlainString_IsRefusedBeforeAnyCall(string argument)
    {
        var harness = new RunnerHarness(_arm);

        var error = await Assert.ThrowsAsync<RunnerException>(
            () => harness.Runner.StartAsync(RunnerHarness.Request(arguments: ["uk_create_elections_from_every_election", argument]), CancellationToken.None));

        Assert.Equal(500, error.StatusCode);
        Assert.Empty(_arm.Requests);
        Assert.Single(harness.Records(3002));
    }

    private static JsonObject Template(string runId)
    {
        var template = FakeArm.DefaultTemplate();
        template.Remove("volumes");
        template["containers"]![0]!["env"]!.AsArray().Add(new JsonObject { ["name"] = "CRON_RUN_ID", ["value"] = runId });
        return template;
    }
}
