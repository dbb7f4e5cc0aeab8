using System.Text.Json;
using System.Text.RegularExpressions;

namespace CronFunctions.Tests.Infra;

/// <summary>infra/main.bicep compiled once per test run.</summary>
public sealed class CompiledMainTemplate : IAsyncLifetime
{
    internal ArmTemplate Main { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var result = await BicepCli.BuildAsync("main.bicep");
        Assert.True(result.ExitCode == 0, $"bicep build main.bicep:\n{result.Output}");
        Main = ArmTemplate.Parse(result.StandardOutput);
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>
/// Security and wiring properties of the compiled main.bicep: what a reviewer would otherwise check by eye
/// before every deployment (the linter checks style; these check that the system is the one we mean).
/// </summary>
public sealed partial class MainTemplateTests(CompiledMainTemplate compiled) : IClassFixture<CompiledMainTemplate>
{
    private const string StorageBlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string StorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string MonitoringMetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb";
    private const string KeyVaultSecretsUser = "4633458b-17de-408a-b874-0445c86b69e6";
    private const string AcrPull = "7f951dda-4ed3-4680-a7ca-43fe172d538d";

    /// <summary>Stands for the job's role, which is a parameter (custom role or Container Apps Jobs Operator).</summary>
    private const string JobRole = "job";

    private ArmTemplate Main => compiled.Main;

    [Fact]
    public void Main_TargetsTheSubscriptionAndCreatesTheResourceGroup()
    {
        Assert.Contains("subscriptionDeploymentTemplate.json", Main.Root.GetProperty("$schema").GetString(), StringComparison.Ordinal);
        Assert.Single(Main.All("Microsoft.Resources/resourceGroups"));
        Assert.Contains("uniqueString(subscription().id, parameters('environmentName'), parameters('location'))", Main.Variable("resourceToken"), StringComparison.Ordinal);
    }

    [Fact]
    public void StorageAccount_AllowsNoSharedKeyNoPlainHttpNoOldTlsNoAnonymousBlobs()
    {
        var properties = Main.Single("Microsoft.Storage/storageAccounts").GetProperty("properties");

        Assert.False(properties.GetProperty("allowSharedKeyAccess").GetBoolean());
        Assert.True(properties.GetProperty("supportsHttpsTrafficOnly").GetBoolean());
        Assert.Equal("TLS1_2", properties.GetProperty("minimumTlsVersion").GetString());
        Assert.False(properties.GetProperty("allowBlobPublicAccess").GetBoolean());
    }

    [Fact]
    public void StorageAccount_HasTheLockContainerTheAppIsConfiguredWith()
    {
        Assert.Equal(2, Main.All("Microsoft.Storage/storageAccounts/blobServices/containers").Count);
        Assert.Equal("cron-locks", Main.Root.GetProperty("variables").GetProperty("names").GetProperty("lockContainer").GetString());

        // The storage module creates the container and the app is told its name from the same value.
        var created = Main.ModuleParameters("storage").GetProperty("lockContainerName").GetProperty("value").GetString();
        var configured = Main.ModuleParameters("api").GetProperty("lockContainerName").GetProperty("value").GetString();
        Assert.Equal(created, configured);
        Assert.Contains("'Cron__Lock__ContainerName', parameters('lockContainerName')", AppSettingsExpression(), StringComparison.Ordinal);
    }

    [Fact]
    public void FunctionApp_IsHttpsOnlyWithTls12AndNoFtpsSetting()
    {
        var properties = Main.Single("Microsoft.Web/sites").GetProperty("properties");
        var siteConfig = properties.GetProperty("siteConfig");

        Assert.True(properties.GetProperty("httpsOnly").GetBoolean());
        Assert.Equal("1.2", siteConfig.GetProperty("minTlsVersion").GetString());
        Assert.Equal("1.2", siteConfig.GetProperty("scmMinTlsVersion").GetString());
        // Flex Consumption rejects ftpsState (ARM error 51021); FTP is off through the publishing credential policies.
        Assert.False(siteConfig.TryGetProperty("ftpsState", out _));
    }

    [Fact]
    public void FunctionApp_RunsDotnetIsolated10OnFlexConsumptionWithTheUserAssignedIdentity()
    {
        var plan = Main.Single("Microsoft.Web/serverfarms");
        Assert.Equal("FC1", plan.GetProperty("sku").GetProperty("name").GetString());
        Assert.Equal("FlexConsumption", plan.GetProperty("sku").GetProperty("tier").GetString());

        var site = Main.Single("Microsoft.Web/sites");
        Assert.Equal("UserAssigned", site.GetProperty("identity").GetProperty("type").GetString());
        var config = site.GetProperty("properties").GetProperty("functionAppConfig");
        Assert.Equal("dotnet-isolated", config.GetProperty("runtime").GetProperty("name").GetString());
        Assert.Equal("10.0", config.GetProperty("runtime").GetProperty("version").GetString());

        var deployment = config.GetProperty("deployment").GetProperty("storage");
        Assert.Equal("blobContainer", deployment.GetProperty("type").GetString());
        Assert.Equal("UserAssignedIdentity", deployment.GetProperty("authentication").GetProperty("type").GetString());
        Assert.True(site.GetProperty("properties").TryGetProperty("keyVaultReferenceIdentity", out _), "Key Vault references need keyVaultReferenceIdentity with a user-assigned identity.");
    }

    [Theory]
    [InlineData("AzureWebJobsStorage__blobServiceUri")]
    [InlineData("AzureWebJobsStorage__queueServiceUri")]
    [InlineData("AzureWebJobsStorage__tableServiceUri")]
    [InlineData("AzureWebJobsStorage__credential")]
    [InlineData("AzureWebJobsStorage__clientId")]
    [InlineData("APPLICATIONINSIGHTS_CONNECTION_STRING")]
    [InlineData("APPLICATIONINSIGHTS_AUTHENTICATION_STRING")]
    [InlineData("ERIFY_CRON_TOKEN")]
    [InlineData("ERIFY_CRON_TOKEN_SECONDARY")]
    [InlineData("Cron__DefaultRunner")]
    [InlineData("Cron__DefaultMaxRuntime")]
    [InlineData("Cron__Lock__ContainerName")]
    [InlineData("Cron__ContainerApps__SubscriptionId")]
    [InlineData("Cron__ContainerApps__ResourceGroup")]
    [InlineData("Cron__ContainerApps__JobName")]
    [InlineData("Cron__ContainerApps__ContainerName")]
    [InlineData("Cron__ContainerApps__ManagedIdentityClientId")]
    public void AppSettings_SetEveryNameTheAppReads(string name) =>
        Assert.Contains($"'{name}', ", AppSettingsExpression(), StringComparison.Ordinal);

    [Fact]
    public void AppSettings_UseTheIdentityForStorageAndTheContainerAppRunner()
    {
        var settings = AppSettingsExpression();

        Assert.Contains("'AzureWebJobsStorage__credential', 'managedidentity'", settings, StringComparison.Ordinal);
        Assert.Contains("'Cron__DefaultRunner', 'ContainerApp'", settings, StringComparison.Ordinal);
        Assert.Contains("format('ClientId={0};Authorization=AAD'", settings, StringComparison.Ordinal);
        // No key-based connection string for host storage.
        Assert.DoesNotContain("'AzureWebJobsStorage', ", settings, StringComparison.Ordinal);
        Assert.DoesNotContain("AccountKey", settings, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("listKeys", settings, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void AppSettings_TokensAreKeyVaultReferencesNotValues()
    {
        var api = Main.Module("api");
        var settings = AppSettingsExpression();

        Assert.Contains("'ERIFY_CRON_TOKEN', variables('tokenReference')", settings, StringComparison.Ordinal);
        Assert.Contains("'ERIFY_CRON_TOKEN_SECONDARY', variables('secondaryTokenReference')", settings, StringComparison.Ordinal);
        Assert.StartsWith("[format('@Microsoft.KeyVault(VaultName=", api.Variable("tokenReference"), StringComparison.Ordinal);
        Assert.StartsWith("[format('@Microsoft.KeyVault(VaultName=", api.Variable("secondaryTokenReference"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("erifyCronToken")]
    [InlineData("erifyCronTokenSecondary")]
    public void TokenParameters_AreSecureStrings(string name)
    {
        Assert.Equal("securestring", Main.Parameter(name).GetProperty("type").GetString());
        Assert.Equal("securestring", Main.Module("keyvault").Parameter(name).GetProperty("type").GetString());
        if (Main.Parameter(name).TryGetProperty("defaultValue", out var defaultValue))
        {
            Assert.Equal("", defaultValue.GetString());
        }
    }

    [Fact]
    public void TokenParameters_ReachOnlyTheKeyVaultModule()
    {
        var modules = Main.Resources.Where(resource => ArmTemplate.Type(resource) == "Microsoft.Resources/deployments");

        foreach (var module in modules)
        {
            var name = module.GetProperty("name").GetString();
            var parameters = module.GetProperty("properties").GetProperty("parameters").GetRawText();
            var passesToken = parameters.Contains("parameters('erifyCronToken", StringComparison.Ordinal);
            Assert.True(passesToken == (name == "keyvault"), $"Module '{name}' {(passesToken ? "receives" : "does not receive")} a token parameter.");
        }
    }

    [Fact]
    public void RoleAssignments_AreScopedToOneResourceEachNeverTheResourceGroup()
    {
        var assignments = Main.All("Microsoft.Authorization/roleAssignments");
        Assert.NotEmpty(assignments);

        foreach (var (assignment, _) in assignments)
        {
            // In a resource-group deployment an assignment without `scope` lands on the resource group.
            Assert.True(assignment.TryGetProperty("scope", out var scope), $"Role assignment {assignment.GetProperty("name")} has no scope: it would apply to the whole resource group.");
            Assert.StartsWith("[resourceId('Microsoft.", scope.GetString(), StringComparison.Ordinal);
            Assert.DoesNotContain("resourceGroup()", scope.GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void RoleAssignments_AreNamedGuidOfScopePrincipalAndRole()
    {
        foreach (var (assignment, _) in Main.All("Microsoft.Authorization/roleAssignments"))
        {
            var scope = Unwrap(assignment.GetProperty("scope").GetString());
            var properties = assignment.GetProperty("properties");
            var principal = Unwrap(properties.GetProperty("principalId").GetString());
            var role = Unwrap(properties.GetProperty("roleDefinitionId").GetString());

            Assert.Equal($"[guid({scope}, {principal}, {role})]", assignment.GetProperty("name").GetString());
            Assert.Equal("ServicePrincipal", properties.GetProperty("principalType").GetString());
        }
    }

    [Fact]
    public void RoleAssignments_GrantOnlyTheRolesTheAppNeedsWhereItNeedsThem()
    {
        var granted = Main.All("Microsoft.Authorization/roleAssignments")
            .Select(item => (Role: RoleGuid(item.Resource, item.Template), ScopeType: ScopeType(item.Resource)))
            .OrderBy(grant => grant.ScopeType, StringComparer.Ordinal).ThenBy(grant => grant.Role, StringComparer.Ordinal)
            .ToList();

        (string Role, string ScopeType)[] expected =
        [
            (JobRole, "Microsoft.App/jobs"),
            (AcrPull, "Microsoft.ContainerRegistry/registries"),
            (MonitoringMetricsPublisher, "Microsoft.Insights/components"),
            (KeyVaultSecretsUser, "Microsoft.KeyVault/vaults/secrets"),
            (KeyVaultSecretsUser, "Microsoft.KeyVault/vaults/secrets"),
            (StorageTableDataContributor, "Microsoft.Storage/storageAccounts"),
            (StorageBlobDataOwner, "Microsoft.Storage/storageAccounts"),
        ];
        Assert.Equal(
            expected.OrderBy(grant => grant.ScopeType, StringComparer.Ordinal).ThenBy(grant => grant.Role, StringComparer.Ordinal),
            granted);
    }

    [Fact]
    public void JobRole_ByDefaultIsACustomRoleWithExactlyTheActionsTheRunnerUses()
    {
        Assert.Equal("custom", Main.Parameter("jobRole").GetProperty("defaultValue").GetString());

        var definition = Main.Single("Microsoft.Authorization/roleDefinitions");
        Assert.Equal("[equals(parameters('jobRole'), 'custom')]", definition.GetProperty("condition").GetString());
        var permissions = Assert.Single(definition.GetProperty("properties").GetProperty("permissions").EnumerateArray());
        Assert.Equal(
            [
                "Microsoft.App/jobs/execution/read", // read one execution (the lock's liveness check)
                "Microsoft.App/jobs/executions/read", // list executions (find ours after an ambiguous start)
                "Microsoft.App/jobs/read", // read the template
                "Microsoft.App/jobs/start/action", // start
                "Microsoft.App/jobs/stop/execution/action", // stop one execution past its deadline (Jobs - Stop Execution)
                "Microsoft.App/jobs/stop/execution/backport/action", // the same permission under its second listed name
            ],
            permissions.GetProperty("actions").EnumerateArray().Select(action => action.GetString()).Order(StringComparer.Ordinal));
        Assert.Empty(permissions.GetProperty("notActions").EnumerateArray());
        Assert.Empty(permissions.GetProperty("dataActions").EnumerateArray());
        Assert.Equal(["[resourceGroup().id]"], definition.GetProperty("properties").GetProperty("assignableScopes").EnumerateArray().Select(scope => scope.GetString()));

        // The job assignment uses that role unless jobRole says builtin.
        var rbac = Main.Module("rbac");
        Assert.Equal(
            "[if(equals(parameters('jobRole'), 'custom'), subscriptionResourceId('Microsoft.Authorization/roleDefinitions', variables('customJobRoleGuid')), variables('containerAppsJobsOperatorRoleId'))]",
            rbac.Variable("jobRoleDefinitionId"));
        Assert.Contains("'b9a307c4-5aa3-4b52-ba60-2b17c136cd7b'", rbac.Variable("containerAppsJobsOperatorRoleId"), StringComparison.Ordinal);
    }

    [Fact]
    public void JobRole_CannotStopEveryExecutionNorReadSecretsNorUseWildcards()
    {
        var actions = Main.Single("Microsoft.Authorization/roleDefinitions").GetProperty("properties").GetProperty("permissions")[0]
            .GetProperty("actions").EnumerateArray().Select(action => action.GetString()!).ToList();

        Assert.DoesNotContain("Microsoft.App/jobs/stop/action", actions); // stops all executions of the job at once
        Assert.DoesNotContain("Microsoft.App/jobs/listSecrets/action", actions);
        Assert.DoesNotContain("Microsoft.App/jobs/write", actions);
        Assert.All(actions, action => Assert.DoesNotContain("*", action, StringComparison.Ordinal));
    }

    [Fact]
    public void Job_IsManuallyTriggeredAndNotRetriedByDefault()
    {
        var job = Main.Single("Microsoft.App/jobs");
        var configuration = job.GetProperty("properties").GetProperty("configuration");

        Assert.Equal("Manual", configuration.GetProperty("triggerType").GetString());
        Assert.Equal(1, configuration.GetProperty("manualTriggerConfig").GetProperty("parallelism").GetInt32());
        Assert.Equal("[parameters('replicaRetryLimit')]", configuration.GetProperty("replicaRetryLimit").GetString());
        Assert.Equal("[parameters('jobReplicaRetryLimit')]", Main.ModuleParameters("containerapps-job").GetProperty("replicaRetryLimit").GetProperty("value").GetString());
        Assert.Equal(0, Main.Parameter("jobReplicaRetryLimit").GetProperty("defaultValue").GetInt32());
        Assert.Equal("[parameters('replicaTimeoutSeconds')]", configuration.GetProperty("replicaTimeout").GetString());
    }

    [Theory]
    [InlineData(7200, 0, "0.02:10:00")] // the defaults: one attempt of 2 h + 10 min
    [InlineData(7200, 2, "0.06:22:00")] // three attempts of 2 h, 10 min, two back-offs of 6 min
    [InlineData(60, 10, "0.01:21:00")] // eleven 1-minute attempts, 10 min, ten back-offs
    [InlineData(3600, 1, "0.02:16:00")]
    [InlineData(86400, 5, "6.00:40:00")] // six 1-day attempts: just under the app's 7-day limit
    public void LockDeadline_CoversEveryAttemptOfTheExecution(int replicaTimeout, int retryLimit, string expected)
    {
        var evaluator = Evaluate(("jobReplicaTimeoutSeconds", (long)replicaTimeout), ("jobReplicaRetryLimit", (long)retryLimit));

        var deadline = Assert.IsType<string>(evaluator.Variable("defaultMaxRuntime"));

        Assert.Equal(expected, deadline);
        // Never before Container Apps gives up: every attempt a full replica timeout, plus margins.
        var seconds = TimeSpan.Parse(deadline, System.Globalization.CultureInfo.InvariantCulture).TotalSeconds;
        Assert.True(seconds >= ((retryLimit + 1) * (double)replicaTimeout) + 600, $"{deadline} does not cover {retryLimit + 1} attempts of {replicaTimeout} s.");
        Assert.Equal(((retryLimit + 1) * replicaTimeout) + 600 + (retryLimit * 360), seconds);
    }

    [Fact]
    public void LockDeadline_ReachesTheAppThroughCronDefaultMaxRuntime()
    {
        Assert.Equal("[variables('defaultMaxRuntime')]", Main.ModuleParameters("api").GetProperty("defaultMaxRuntime").GetProperty("value").GetString());
        Assert.Contains("'Cron__DefaultMaxRuntime', parameters('defaultMaxRuntime')", AppSettingsExpression(), StringComparison.Ordinal);

        var api = Evaluate(("jobReplicaTimeoutSeconds", 600L), ("jobReplicaRetryLimit", 3L)).ForModule("api");
        Assert.Equal("0.01:08:00", api.Parameter("defaultMaxRuntime"));
    }

    [Theory]
    [InlineData(86400, 6)]
    [InlineData(86400, 10)]
    [InlineData(60000, 10)]
    public void LockDeadline_BeyondTheAppsSevenDayLimit_FailsTheDeployment(int replicaTimeout, int retryLimit)
    {
        var evaluator = Evaluate(("jobReplicaTimeoutSeconds", (long)replicaTimeout), ("jobReplicaRetryLimit", (long)retryLimit));

        var error = Assert.Throws<ArmFailException>(() => evaluator.Variable("defaultMaxRuntime"));
        Assert.Contains("7 days", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Job_ContainerNameDefaultsToBackendAndIsTheOneTheAppOverrides()
    {
        Assert.Equal("backend", Main.Parameter("backendContainerName").GetProperty("defaultValue").GetString());
        Assert.Equal("[parameters('backendContainerName')]", Main.ModuleParameters("containerapps-job").GetProperty("containerName").GetProperty("value").GetString());
        Assert.Equal("[parameters('backendContainerName')]", Main.ModuleParameters("api").GetProperty("jobContainerName").GetProperty("value").GetString());

        var container = Assert.Single(Main.Single("Microsoft.App/jobs").GetProperty("properties").GetProperty("template").GetProperty("containers").EnumerateArray());
        Assert.Equal("[parameters('containerName')]", container.GetProperty("name").GetString());
    }

    [Fact]
    public void ApplicationInsights_AcceptsOnlyEntraIdTelemetry()
    {
        var component = Main.Single("Microsoft.Insights/components");

        Assert.True(component.GetProperty("properties").GetProperty("DisableLocalAuth").GetBoolean());
        Assert.Contains("'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', ", AppSettingsExpression(), StringComparison.Ordinal);
    }

    [Fact]
    public void KeyVault_UsesRbacAuthorization()
    {
        var vault = Main.Single("Microsoft.KeyVault/vaults");

        Assert.True(vault.GetProperty("properties").GetProperty("enableRbacAuthorization").GetBoolean());
        Assert.False(vault.GetProperty("properties").TryGetProperty("accessPolicies", out _));
    }

    [Fact]
    public void Outputs_AreUpperSnakeAndIncludeWhatAzdAndTheWorkerNeed()
    {
        var names = Main.Outputs.Select(output => output.Name).ToList();

        Assert.All(names, name => Assert.Matches("^[A-Z][A-Z0-9_]*$", name));
        Assert.Contains("AZURE_FUNCTION_APP_NAME", names);
        Assert.Contains("AZURE_FUNCTION_URL", names);
        Assert.Contains("AZURE_CONTAINER_APPS_JOB_NAME", names);
        Assert.Contains("AZURE_RESOURCE_GROUP", names);
    }

    [Fact]
    public void Outputs_NoOutputAnywhereLooksLikeASecret()
    {
        foreach (var template in Main.SelfAndModules)
        {
            foreach (var output in template.Outputs)
            {
                var where = $"output '{output.Name}' of {template.Location}";
                // KEY_VAULT names a resource, not a key.
                var name = output.Name.Replace("KEY_VAULT", "", StringComparison.OrdinalIgnoreCase).Replace("KeyVault", "", StringComparison.Ordinal);
                Assert.False(SecretLikeName().IsMatch(name), $"{where} has a secret-like name.");

                var type = output.Value.GetProperty("type").GetString();
                Assert.False(type is "securestring" or "secureObject", $"{where} is of type {type}.");

                var value = output.Value.GetProperty("value").ToString();
                Assert.False(SecretLikeValue().IsMatch(value), $"{where} = {value} looks like a secret.");
            }
        }
    }

    [Fact]
    public void ParametersFile_SuppliesEveryRequiredParameterAndNothingUnknown()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(BicepCli.InfraDirectory, "main.parameters.json")));
        var supplied = document.RootElement.GetProperty("parameters").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetProperty("value").GetString());
        var declared = Main.Root.GetProperty("parameters").EnumerateObject().ToList();

        foreach (var parameter in declared.Where(p => !p.Value.TryGetProperty("defaultValue", out _)))
        {
            Assert.True(supplied.ContainsKey(parameter.Name), $"main.parameters.json does not supply required parameter '{parameter.Name}'.");
        }

        Assert.All(supplied.Keys, name => Assert.Contains(name, declared.Select(p => p.Name)));
        // Secrets come from the azd environment, never from the file.
        Assert.Equal("${ERIFY_CRON_TOKEN}", supplied["erifyCronToken"]);
        Assert.Equal("${ERIFY_CRON_TOKEN_SECONDARY}", supplied["erifyCronTokenSecondary"]);
    }

    [Fact]
    public void AzureYaml_DeploysCronFunctionsAsTheApiFunctionService()
    {
        var lines = File.ReadAllLines(Path.Combine(BicepCli.RepositoryRoot, "azure.yaml")).Select(line => line.Trim()).ToList();

        Assert.Contains("api:", lines);
        Assert.Contains("project: ./CronFunctions", lines);
        Assert.Contains("language: dotnet", lines);
        Assert.Contains("host: function", lines);
        Assert.True(File.Exists(Path.Combine(BicepCli.RepositoryRoot, "CronFunctions", "CronFunctions.csproj")));
    }

    /// <summary>An evaluator of the compiled main.bicep with the required parameters and <paramref name="values"/>.</summary>
    internal static ArmEvaluator Evaluate(ArmTemplate main, params (string Name, object? Value)[] values)
    {
        var parameters = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["environmentName"] = "cron-test",
            ["location"] = "uksouth",
            ["erifyCronToken"] = new string('t', 64),
        };
        foreach (var (name, value) in values)
        {
            parameters[name] = value;
        }

        return ArmEvaluator.For(main, parameters);
    }

    private ArmEvaluator Evaluate(params (string Name, object? Value)[] values) => Evaluate(Main, values);

    private string AppSettingsExpression()
    {
        var config = Assert.Single(Main.All("Microsoft.Web/sites/config"));
        Assert.EndsWith("'appsettings')]", config.Resource.GetProperty("name").GetString(), StringComparison.Ordinal);
        return config.Resource.GetProperty("properties").GetString() ?? "";
    }

    /// <summary>The built-in role GUID an assignment grants, or <see cref="JobRole"/> for the job's configurable role.</summary>
    private static string RoleGuid(JsonElement assignment, ArmTemplate template)
    {
        var role = assignment.GetProperty("properties").GetProperty("roleDefinitionId").GetString() ?? "";
        var variable = VariableReference().Match(role);
        if (variable.Success)
        {
            role = template.Variable(variable.Groups["name"].Value);
        }

        if (role.Contains("parameters('jobRole')", StringComparison.Ordinal))
        {
            return JobRole;
        }

        var guid = RoleDefinitionGuid().Match(role);
        Assert.True(guid.Success, $"Cannot read the role of {role}.");
        return guid.Groups["guid"].Value;
    }

    /// <summary>The resource type in an assignment's <c>[resourceId('TYPE', ...)]</c> scope.</summary>
    private static string ScopeType(JsonElement assignment) =>
        ResourceIdType().Match(assignment.GetProperty("scope").GetString() ?? "").Groups["type"].Value;

    private static string Unwrap(string? expression) =>
        expression is ['[', .. var inner, ']'] ? inner : $"'{expression}'";

    [GeneratedRegex(@"^\[variables\('(?<name>[^']+)'\)\]$")]
    private static partial Regex VariableReference();

    [GeneratedRegex(@"'Microsoft\.Authorization/roleDefinitions', '(?<guid>[0-9a-f-]{36})'")]
    private static partial Regex RoleDefinitionGuid();

    [GeneratedRegex(@"^\[resourceId\('(?<type>[^']+)'")]
    private static partial Regex ResourceIdType();

    [GeneratedRegex("token|secret|password|passwd|key|connection_?string|sas", RegexOptions.IgnoreCase)]
    private static partial Regex SecretLikeName();

    [GeneratedRegex(@"list[A-Za-z]*\(|connectionstring|instrumentationkey|parameters\('erifyCronToken|secret|password", RegexOptions.IgnoreCase)]
    private static partial Regex SecretLikeValue();
}
