using System.Text.Json;

namespace CronFunctions.Tests.Infra;

/// <summary>
/// The deployment's options and their decisions, evaluated on the compiled main.bicep for both settings where there
/// is a switch: the private registry (AcrPull in Bicep), private networking, log shipping without the workspace key,
/// the Key Vault's name and purge protection, and the secondary token's role assignment.
/// </summary>
public sealed class DeploymentOptionsTemplateTests(CompiledMainTemplate compiled) : IClassFixture<CompiledMainTemplate>
{
    private const string AcrPull = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
    private const string RegistryId = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-shared/providers/Microsoft.ContainerRegistry/registries/myregistry";

    private ArmTemplate Main => compiled.Main;

    [Fact]
    public void Registry_Given_GrantsTheJobIdentityAcrPullOnThatRegistryInItsOwnResourceGroup()
    {
        var evaluator = MainTemplateTests.Evaluate(Main, ("backendRegistryResourceId", RegistryId));
        var deployment = Deployment("registry-access");

        Assert.Equal(true, evaluator.Evaluate(deployment.GetProperty("condition").GetString()!));
        Assert.Equal("11111111-2222-3333-4444-555555555555", evaluator.Evaluate(deployment.GetProperty("subscriptionId").GetString()!));
        Assert.Equal("rg-shared", evaluator.Evaluate(deployment.GetProperty("resourceGroup").GetString()!));
        var module = evaluator.ForModule("registry-access");
        Assert.Equal("myregistry", module.Parameter("registryName"));

        // Inside: one assignment, AcrPull, scoped to the registry, to the job's identity (not the app's).
        var assignment = Assert.Single(Main.Module("registry-access").All("Microsoft.Authorization/roleAssignments")).Resource;
        Assert.Equal("[resourceId('Microsoft.ContainerRegistry/registries', parameters('registryName'))]", assignment.GetProperty("scope").GetString());
        Assert.Contains(AcrPull, Main.Module("registry-access").Variable("acrPullRoleId"), StringComparison.Ordinal);
        Assert.Contains(
            "'Microsoft.Resources/deployments', 'job-identity'), '2025-04-01').outputs.principalId.value",
            deployment.GetProperty("properties").GetProperty("parameters").GetProperty("principalId").GetProperty("value").GetString(),
            StringComparison.Ordinal);

        // The job pulls from the registry's login server with its identity, after the grant (it reads the module's output).
        var registryServer = Main.ModuleParameters("containerapps-job").GetProperty("registryServer").GetString()!;
        Assert.Contains("'registry-access'", registryServer, StringComparison.Ordinal);
        Assert.Contains("outputs.loginServer.value", registryServer, StringComparison.Ordinal);
        var registries = Main.Single("Microsoft.App/jobs").GetProperty("properties").GetProperty("configuration").GetProperty("registries").GetString()!;
        Assert.Contains("'identity', resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('jobIdentityName'))", registries, StringComparison.Ordinal);
    }

    [Fact]
    public void Registry_NotGiven_NoGrantNoRegistryOnTheJob()
    {
        var evaluator = MainTemplateTests.Evaluate(Main);

        Assert.Equal(false, evaluator.Evaluate(Deployment("registry-access").GetProperty("condition").GetString()!));
        var job = evaluator.ForModule("containerapps-job");
        Assert.Equal("", job.Parameter("registryServer"));
        Assert.Equal(
            new List<object?>(),
            job.Evaluate(Main.Single("Microsoft.App/jobs").GetProperty("properties").GetProperty("configuration").GetProperty("registries")));
    }

    [Theory]
    [InlineData("myregistry.azurecr.io")]
    [InlineData("/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/x")]
    [InlineData("/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries")]
    public void Registry_NotAContainerRegistryId_FailsTheDeployment(string value)
    {
        var evaluator = MainTemplateTests.Evaluate(Main, ("backendRegistryResourceId", value));

        var error = Assert.Throws<ArmFailException>(() => evaluator.Variable("registry"));
        Assert.Contains("Microsoft.ContainerRegistry/registries", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Registry_TheReadmesManualAcrPullStepIsGone()
    {
        var readme = File.ReadAllText(Path.Combine(BicepCli.InfraDirectory, "README.md"));

        Assert.DoesNotContain("az role assignment create --role AcrPull", readme, StringComparison.Ordinal);
        Assert.Contains("BACKEND_REGISTRY_RESOURCE_ID", readme, StringComparison.Ordinal);
    }

    [Fact]
    public void PrivateNetworking_Off_ByDefault_StorageAndVaultAcceptPublicTraffic()
    {
        Assert.False(Main.Parameter("privateNetworking").GetProperty("defaultValue").GetBoolean());
        var evaluator = MainTemplateTests.Evaluate(Main);

        Assert.Equal(false, evaluator.Evaluate(Deployment("network").GetProperty("condition").GetString()!));
        Assert.Equal("Enabled", PublicNetworkAccess(evaluator, "storage", "Microsoft.Storage/storageAccounts"));
        Assert.Equal("Enabled", PublicNetworkAccess(evaluator, "keyvault", "Microsoft.KeyVault/vaults"));
        Assert.Equal("", evaluator.ForModule("api").Parameter("virtualNetworkSubnetId"));
    }

    [Fact]
    public void PrivateNetworking_On_StorageAndVaultOnlyThroughPrivateEndpointsTheAppReaches()
    {
        var evaluator = MainTemplateTests.Evaluate(Main, ("privateNetworking", true));

        Assert.Equal(true, evaluator.Evaluate(Deployment("network").GetProperty("condition").GetString()!));
        foreach (var (module, type) in new[] { ("storage", "Microsoft.Storage/storageAccounts"), ("keyvault", "Microsoft.KeyVault/vaults") })
        {
            Assert.Equal("Disabled", PublicNetworkAccess(evaluator, module, type));
            var acls = Assert.IsType<Dictionary<string, object?>>(evaluator.ForModule(module).Evaluate(Main.Module(module).Resources
                .Single(r => ArmTemplate.Type(r) == type).GetProperty("properties").GetProperty("networkAcls")));
            Assert.Equal("Deny", acls["defaultAction"]);
            Assert.Equal("None", acls["bypass"]);
        }

        // The app joins the network's delegated subnet.
        Assert.Contains("outputs.appSubnetId.value", Main.ModuleParameters("api").GetProperty("virtualNetworkSubnetId").GetString(), StringComparison.Ordinal);
        Assert.Equal("[if(empty(parameters('virtualNetworkSubnetId')), null(), parameters('virtualNetworkSubnetId'))]",
            Main.Single("Microsoft.Web/sites").GetProperty("properties").GetProperty("virtualNetworkSubnetId").GetString());
        var subnets = Main.Single("Microsoft.Network/virtualNetworks").GetProperty("properties").GetProperty("subnets");
        var app = subnets.EnumerateArray().Single(subnet => subnet.GetProperty("name").GetString() == "[variables('appSubnetName')]");
        Assert.Equal("Microsoft.App/environments", app.GetProperty("properties").GetProperty("delegations")[0].GetProperty("properties").GetProperty("serviceName").GetString());
    }

    [Fact]
    public void PrivateNetworking_On_EndpointsAndDnsZonesForBlobQueueTableAndVault()
    {
        var network = MainTemplateTests.Evaluate(Main, ("privateNetworking", true)).ForModule("network");
        var endpoint = Main.Module("network").Resources.Single(r => ArmTemplate.Type(r) == "Microsoft.Network/privateEndpoints");
        var zone = Main.Module("network").Resources.Single(r => ArmTemplate.Type(r) == "Microsoft.Network/privateDnsZones");
        var count = (long)network.Evaluate(endpoint.GetProperty("copy").GetProperty("count"))!;

        var seen = new List<(string Group, string Zone, string Target)>();
        for (var i = 0; i < count; i++)
        {
            network.CopyIndex = i;
            var connection = (Dictionary<string, object?>)((List<object?>)network.Evaluate(endpoint.GetProperty("properties").GetProperty("privateLinkServiceConnections"))!)[0]!;
            var properties = (Dictionary<string, object?>)connection["properties"]!;
            seen.Add((
                (string)((List<object?>)properties["groupIds"]!)[0]!,
                (string)network.Evaluate(zone.GetProperty("name"))!,
                (string)properties["privateLinkServiceId"]!));
        }

        Assert.Equal(
            [
                ("blob", "privatelink.blob.core.windows.net", "Microsoft.Storage/storageAccounts"),
                ("queue", "privatelink.queue.core.windows.net", "Microsoft.Storage/storageAccounts"),
                ("table", "privatelink.table.core.windows.net", "Microsoft.Storage/storageAccounts"),
                ("vault", "privatelink.vaultcore.azure.net", "Microsoft.KeyVault/vaults"),
            ],
            seen.Select(s => (s.Group, s.Zone, s.Target.Split('\'', ',', ' ', '(').First(part => part.StartsWith("Microsoft.", StringComparison.Ordinal)))));
        Assert.Single(Main.Module("network").All("Microsoft.Network/privateEndpoints/privateDnsZoneGroups"));
        Assert.Single(Main.Module("network").All("Microsoft.Network/privateDnsZones/virtualNetworkLinks"));
    }

    [Fact]
    public void ContainerLogs_GoThroughAzureMonitorWithoutTheWorkspaceKey()
    {
        var environment = Main.Single("Microsoft.App/managedEnvironments").GetProperty("properties");
        Assert.Equal("azure-monitor", environment.GetProperty("appLogsConfiguration").GetProperty("destination").GetString());
        Assert.False(environment.GetProperty("appLogsConfiguration").TryGetProperty("logAnalyticsConfiguration", out _));
        // No key is read anywhere in the deployment.
        Assert.DoesNotContain("listKeys(", Main.Root.GetRawText(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("\"sharedKey\"", Main.Root.GetRawText(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("primarySharedKey", Main.Root.GetRawText(), StringComparison.OrdinalIgnoreCase);

        var setting = Assert.Single(Main.All("Microsoft.Insights/diagnosticSettings")).Resource;
        Assert.Equal("[resourceId('Microsoft.App/managedEnvironments', parameters('environmentName'))]", setting.GetProperty("scope").GetString());
        var properties = setting.GetProperty("properties");
        Assert.Contains("'Microsoft.OperationalInsights/workspaces', parameters('logAnalyticsName')", properties.GetProperty("workspaceId").GetString(), StringComparison.Ordinal);
        Assert.Equal("Dedicated", properties.GetProperty("logAnalyticsDestinationType").GetString());
        Assert.Equal(
            ["ContainerAppConsoleLogs", "ContainerAppSystemLogs"],
            properties.GetProperty("logs").EnumerateArray().Where(log => log.GetProperty("enabled").GetBoolean()).Select(log => log.GetProperty("category").GetString()));
    }

    [Fact]
    public void KeyVault_NameFollowsTheEnvironmentAndIsAnOutputPurgeProtectionOff()
    {
        // Decision (infra/README.md): a deterministic name the operator can purge by (AZURE_KEY_VAULT_NAME), 7 days of
        // soft delete, and no purge protection, which would block `azd down --purge` + `azd up` for the whole retention.
        Assert.Equal("[format('{0}{1}', variables('abbrs').keyVaultVaults, variables('resourceToken'))]", Main.Root.GetProperty("variables").GetProperty("names").GetProperty("keyVault").GetString());
        Assert.Contains(Main.Outputs, output => output.Name == "AZURE_KEY_VAULT_NAME");
        var properties = Main.Single("Microsoft.KeyVault/vaults").GetProperty("properties");
        Assert.False(properties.TryGetProperty("enablePurgeProtection", out _));
        Assert.True(properties.GetProperty("enableSoftDelete").GetBoolean());
        Assert.Equal(7, properties.GetProperty("softDeleteRetentionInDays").GetInt32());
    }

    [Theory]
    [InlineData("", false)]
    [InlineData("a-second-token-that-is-long-enough-0123456789", true)]
    public void SecondaryToken_SecretAndRoleAssignmentExistOnlyWhileOneIsSet(string secondary, bool expected)
    {
        var evaluator = MainTemplateTests.Evaluate(Main, ("erifyCronTokenSecondary", secondary));

        var secret = Main.Module("keyvault").Resources.Single(r => ArmTemplate.Type(r) == "Microsoft.KeyVault/vaults/secrets" && r.TryGetProperty("condition", out _));
        Assert.Equal(expected, evaluator.ForModule("keyvault").Evaluate(secret.GetProperty("condition").GetString()!));

        var conditional = Main.Module("rbac").All("Microsoft.Authorization/roleAssignments").Select(a => a.Resource).Where(a => a.TryGetProperty("condition", out _)).ToList();
        var assignment = Assert.Single(conditional);
        Assert.Contains("secondaryTokenSecretName", assignment.GetProperty("scope").GetString(), StringComparison.Ordinal);
        Assert.Equal(expected, evaluator.ForModule("rbac").Evaluate(assignment.GetProperty("condition").GetString()!));
        Assert.Equal(expected, evaluator.ForModule("api").Parameter("hasSecondaryToken"));
    }

    private JsonElement Deployment(string name) =>
        Main.Resources.Single(r => ArmTemplate.Type(r) == "Microsoft.Resources/deployments" && r.GetProperty("name").GetString() == name);

    private object? PublicNetworkAccess(ArmEvaluator main, string module, string type) =>
        main.ForModule(module).Evaluate(Main.Module(module).Resources.Single(r => ArmTemplate.Type(r) == type).GetProperty("properties").GetProperty("publicNetworkAccess"));
}
