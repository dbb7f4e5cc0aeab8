using System.Text.Json;

namespace CronFunctions.Tests.Infra;

/// <summary>
/// What Flex Consumption refuses or ignores must not be in the compiled template: ARM rejects deprecated site
/// properties with error 51021 ("The following site configuration property (Site.SiteConfig.FtpsState) for Flex
/// Consumption sites is invalid"), and deprecated app settings are at best ignored. Also: every resource of a type
/// that needs a location has one, and the region is one that offers Flex Consumption.
/// </summary>
public sealed class FlexConsumptionTemplateTests(CompiledMainTemplate compiled) : IClassFixture<CompiledMainTemplate>
{
    /// <summary>
    /// Site properties not to set on a Flex Consumption app. Source: "Flex Consumption plan deprecations" in the Azure
    /// Functions app settings reference (learn.microsoft.com/azure/azure-functions/functions-app-settings, revision of
    /// 2025-12-22), plus FunctionsRuntimeScaleMonitoringEnabled, which ARM names in its 51021 rejection
    /// (Azure/azure-cli#31414, microsoft/azure-pipelines-tasks#21032).
    /// </summary>
    public static readonly string[] DeprecatedSiteProperties =
    [
        "alwaysOn",
        "containerSize",
        "dnsConfiguration",
        "ftpsState",
        "isReserved",
        "isXenon",
        "javaVersion",
        "linuxFxVersion",
        "netFrameworkVersion",
        "powerShellVersion",
        "functionAppScaleLimit",
        "preWarmedInstanceCount",
        "use32BitWorkerProcess",
        "vnetBackupRestoreEnabled",
        "vnetContentShareEnabled",
        "vnetImagePullEnabled",
        "vnetRouteAllEnabled",
        "windowsFxVersion",
        "functionsRuntimeScaleMonitoringEnabled",
    ];

    /// <summary>App settings not to set on a Flex Consumption app; same source (the table's upper-case rows).</summary>
    public static readonly string[] DeprecatedAppSettings =
    [
        "ENABLE_ORYX_BUILD",
        "FUNCTIONS_EXTENSION_VERSION",
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_WORKER_RUNTIME_VERSION",
        "FUNCTIONS_MAX_HTTP_CONCURRENCY",
        "FUNCTIONS_WORKER_PROCESS_COUNT",
        "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED",
        "SCM_DO_BUILD_DURING_DEPLOYMENT",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
        "WEBSITE_CONTENTOVERVNET",
        "WEBSITE_CONTENTSHARE",
        "WEBSITE_DNS_SERVER",
        "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
        "WEBSITE_NODE_DEFAULT_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_SKIP_CONTENTSHARE_VALIDATION",
        "WEBSITE_VNET_ROUTE_ALL",
    ];

    /// <summary>Resource types that ARM requires a location for (tracked resources, and the publishing policies, which
    /// are proxies that ARM nevertheless rejects without one: Azure/bicep-types-az#1571).</summary>
    private static readonly string[] TypesThatNeedALocation =
    [
        "Microsoft.Resources/resourceGroups",
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "Microsoft.OperationalInsights/workspaces",
        "Microsoft.Insights/components",
        "Microsoft.Insights/actionGroups",
        "Microsoft.Insights/scheduledQueryRules",
        "Microsoft.Storage/storageAccounts",
        "Microsoft.KeyVault/vaults",
        "Microsoft.App/managedEnvironments",
        "Microsoft.App/jobs",
        "Microsoft.Web/serverfarms",
        "Microsoft.Web/sites",
        "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
        "Microsoft.Network/virtualNetworks",
        "Microsoft.Network/privateEndpoints",
        "Microsoft.Network/privateDnsZones",
        "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
    ];

    /// <summary>Child, extension and deployment resources, which take no location of their own.</summary>
    private static readonly string[] TypesWithoutALocation =
    [
        "Microsoft.Resources/deployments",
        "Microsoft.Authorization/roleAssignments",
        "Microsoft.Authorization/roleDefinitions",
        "Microsoft.Insights/diagnosticSettings",
        "Microsoft.Storage/storageAccounts/blobServices",
        "Microsoft.Storage/storageAccounts/blobServices/containers",
        "Microsoft.KeyVault/vaults/secrets",
        "Microsoft.Web/sites/config",
        "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
    ];

    private ArmTemplate Main => compiled.Main;

    [Fact]
    public void Site_SetsNoPropertyFlexConsumptionDeprecates()
    {
        var found = Main.All("Microsoft.Web/sites")
            .Concat(Main.All("Microsoft.Web/sites/config"))
            .SelectMany(item => DeprecatedPropertiesIn(item.Resource))
            .ToList();

        Assert.True(found.Count == 0, $"Flex Consumption rejects or ignores: {string.Join(", ", found)}.");
    }

    [Fact]
    public void Site_DeprecatedPropertyCheck_FindsFtpsStateWhereverItIsNested()
    {
        // The check above must be able to fail: a site shaped like the one this template used to deploy.
        using var site = JsonDocument.Parse("""
            { "type": "Microsoft.Web/sites", "properties": { "httpsOnly": true, "siteConfig": { "minTlsVersion": "1.2", "FtpsState": "Disabled" } } }
            """);

        Assert.Equal(["FtpsState"], DeprecatedPropertiesIn(site.RootElement));
    }

    [Theory]
    [MemberData(nameof(AppSettingNames))]
    public void AppSettings_DoNotSetASettingFlexConsumptionDeprecates(string setting)
    {
        var settings = Assert.Single(Main.All("Microsoft.Web/sites/config")).Resource.GetProperty("properties").GetRawText();

        Assert.DoesNotContain($"'{setting}'", settings, StringComparison.OrdinalIgnoreCase);
        // Nor anywhere else in the deployment, e.g. as a property of the site.
        Assert.DoesNotContain(setting, Main.Root.GetRawText(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void AppSettings_CheckSeesSettingsWrittenTheWayBicepCompilesThem()
    {
        // The app settings are one createObject(...) expression; a deprecated one would appear as 'NAME', like these.
        var settings = Assert.Single(Main.All("Microsoft.Web/sites/config")).Resource.GetProperty("properties").GetRawText();

        Assert.Contains("'AzureWebJobsStorage__credential'", settings, StringComparison.Ordinal);
        Assert.Contains("'Cron__DefaultMaxRuntime'", settings, StringComparison.Ordinal);
    }

    [Fact]
    public void FunctionApp_RuntimeIsDeclaredInFunctionAppConfigNotInSettings()
    {
        var config = Main.Single("Microsoft.Web/sites").GetProperty("properties").GetProperty("functionAppConfig");

        Assert.Equal("dotnet-isolated", config.GetProperty("runtime").GetProperty("name").GetString());
        Assert.True(config.GetProperty("scaleAndConcurrency").TryGetProperty("maximumInstanceCount", out _));
        Assert.Equal("blobContainer", config.GetProperty("deployment").GetProperty("storage").GetProperty("type").GetString());
    }

    [Fact]
    public void PublishingCredentials_FtpAndScmBothOffWithALocation()
    {
        var policies = Main.All("Microsoft.Web/sites/basicPublishingCredentialsPolicies")
            .Select(item => item.Resource)
            .ToDictionary(policy => Last(policy.GetProperty("name").GetString()!), StringComparer.Ordinal);

        Assert.Equal(["ftp", "scm"], policies.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, policy) in policies)
        {
            Assert.False(policy.GetProperty("properties").GetProperty("allow").GetBoolean(), $"Basic auth for {name} is allowed.");
            Assert.Equal("[parameters('location')]", policy.GetProperty("location").GetString());
        }
    }

    [Fact]
    public void Resources_EveryTypeThatNeedsALocationHasOne()
    {
        var all = Main.SelfAndModules.SelectMany(template => template.Resources).ToList();
        Assert.Contains(all, resource => ArmTemplate.Type(resource) == "Microsoft.Web/sites/basicPublishingCredentialsPolicies");

        foreach (var resource in all)
        {
            var type = ArmTemplate.Type(resource);
            var needsOne = TypesThatNeedALocation.Contains(type, StringComparer.OrdinalIgnoreCase);
            // Every type is classified, so a new one forces the question.
            Assert.True(needsOne || TypesWithoutALocation.Contains(type, StringComparer.OrdinalIgnoreCase), $"Resource type {type} is not classified here; does it need a location?");
            if (needsOne)
            {
                Assert.True(
                    resource.TryGetProperty("location", out var location) && !string.IsNullOrEmpty(location.GetString()),
                    $"{type} {resource.GetProperty("name")} has no location.");
            }
        }
    }

    [Fact]
    public void Location_IsLimitedToRegionsThatOfferFlexConsumption()
    {
        // The list of Microsoft's Flex Consumption quickstart (Azure-Samples/functions-quickstart-dotnet-azd,
        // infra/main.bicep, February 2026).
        string[] flexRegions =
        [
            "australiaeast", "australiasoutheast", "brazilsouth", "canadacentral", "centralindia", "centralus", "eastasia",
            "eastus", "eastus2", "eastus2euap", "francecentral", "germanywestcentral", "italynorth", "japaneast",
            "koreacentral", "northcentralus", "northeurope", "norwayeast", "southafricanorth", "southcentralus",
            "southeastasia", "southindia", "spaincentral", "swedencentral", "uaenorth", "uksouth", "ukwest",
            "westcentralus", "westeurope", "westus", "westus2", "westus3",
        ];

        var allowed = Main.Parameter("location").GetProperty("allowedValues").EnumerateArray().Select(v => v.GetString()!);

        Assert.Equal(flexRegions, allowed);
    }

    public static TheoryData<string> AppSettingNames()
    {
        var data = new TheoryData<string>();
        foreach (var setting in DeprecatedAppSettings)
        {
            data.Add(setting);
        }

        return data;
    }

    /// <summary>Names of deprecated properties anywhere under <paramref name="resource"/>, as written.</summary>
    private static List<string> DeprecatedPropertiesIn(JsonElement resource)
    {
        var found = new List<string>();
        Walk(resource);
        return found;

        void Walk(JsonElement element)
        {
            if (element.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in element.EnumerateObject())
                {
                    if (DeprecatedSiteProperties.Contains(property.Name, StringComparer.OrdinalIgnoreCase))
                    {
                        found.Add(property.Name);
                    }

                    Walk(property.Value);
                }
            }
            else if (element.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in element.EnumerateArray())
                {
                    Walk(item);
                }
            }
            else if (element.ValueKind == JsonValueKind.String && element.GetString() is { } text)
            {
                // Expressions such as createObject('ftpsState', ...) build properties too.
                found.AddRange(DeprecatedSiteProperties.Where(name => text.Contains($"'{name}'", StringComparison.OrdinalIgnoreCase)));
            }
        }
    }

    /// <summary>The last segment of a child resource name, e.g. <c>[format('{0}/{1}', parameters('name'), 'ftp')]</c> → ftp.</summary>
    private static string Last(string name)
    {
        var trimmed = name.TrimEnd(']', ')');
        var quote = trimmed.LastIndexOf('\'', trimmed.Length - 2);
        return trimmed.EndsWith('\'') ? trimmed[(quote + 1)..^1] : name.Split('/')[^1];
    }
}
