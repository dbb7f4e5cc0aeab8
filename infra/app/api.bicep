// CronFunctions on the Flex Consumption plan (FC1), running as the user-assigned identity: host storage,
// deployment package, telemetry, Key Vault references and the Container Apps Job all use that identity.
// No connection string, key or token is written into the app's settings.

@description('Name of the function app (also the first label of its host name).')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region of the plan and the app; must offer Flex Consumption.')
param location string

@description('Tags applied to the plan and the app; the app also gets azd-service-name.')
param tags resourceInput<'Microsoft.Web/sites@2025-03-01'>.tags

@description('Service name in azure.yaml; azd finds the app to deploy to by this tag.')
param serviceName string = 'api'

@description('Name of the user-assigned identity the app runs as.')
param identityName string

@description('Name of the storage account for AzureWebJobsStorage, the package and the locks.')
param storageAccountName string

@description('Blob container that Flex Consumption deploys the package to.')
param deploymentContainerName string

@description('Blob container with the cron lock blobs (Cron__Lock__ContainerName).')
param lockContainerName string

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('Name of the Key Vault that holds the token secrets.')
param keyVaultName string

@description('Name of the ERIFY_CRON_TOKEN secret.')
param tokenSecretName string

@description('Name of the ERIFY_CRON_TOKEN_SECONDARY secret.')
param secondaryTokenSecretName string

@description('Whether the secondary token secret exists; without it ERIFY_CRON_TOKEN_SECONDARY is not set.')
param hasSecondaryToken bool

@description('Name of the Container Apps Job that runs the backend commands.')
param jobName string

@description('Name of the container in the job template whose command the app overrides.')
param jobContainerName string

@description('Cron__DefaultMaxRuntime (TimeSpan): a run\'s lock deadline; not shorter than the job\'s replica timeout.')
param defaultMaxRuntime string

@minValue(1)
@maxValue(1000)
@description('Flex Consumption: most instances the app scales out to.')
param maximumInstanceCount int

@allowed([
  512
  2048
  4096
])
@description('Flex Consumption: memory of each instance, in MB.')
param instanceMemoryMB int

@description('Resource id of the subnet the app integrates with (private networking). Empty: no virtual network.')
param virtualNetworkSubnetId string = ''

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: identityName
}

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

// Key Vault references by vault and secret name, without a version: the app picks up a new version of a
// secret (token rotation) at its next restart, or within 24 hours.
var tokenReference = '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${tokenSecretName})'
var secondaryTokenReference = '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${secondaryTokenSecretName})'

var appSettings = union(
  {
    // Host storage through the identity (Flex Consumption has no shared-key connection string here).
    AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
    AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
    AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identity.properties.clientId

    // Telemetry with Entra ID auth (the component has local auth disabled).
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'

    // The bearer token, resolved from Key Vault by the platform with the identity below.
    ERIFY_CRON_TOKEN: tokenReference

    // CronFunctions options (configuration uses __ as the section separator).
    Cron__DefaultRunner: 'ContainerApp'
    Cron__DefaultMaxRuntime: defaultMaxRuntime
    Cron__Lock__ContainerName: lockContainerName
    Cron__ContainerApps__SubscriptionId: subscription().subscriptionId
    Cron__ContainerApps__ResourceGroup: resourceGroup().name
    Cron__ContainerApps__JobName: jobName
    Cron__ContainerApps__ContainerName: jobContainerName
    Cron__ContainerApps__ManagedIdentityClientId: identity.properties.clientId
  },
  hasSecondaryToken
    ? {
        ERIFY_CRON_TOKEN_SECONDARY: secondaryTokenReference
      }
    : {}
)

resource app 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identity.id
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    // Only properties Flex Consumption accepts. Its deprecation list ("Flex Consumption plan deprecations" in the
    // Functions app settings reference) rules out ftpsState, alwaysOn, linuxFxVersion, netFrameworkVersion,
    // use32BitWorkerProcess, functionAppScaleLimit, preWarmedInstanceCount and vnet*Enabled among others, and ARM
    // rejects them (error 51021). FTP(S) is off anyway: Flex has no FTP endpoint and both publishing credential
    // policies below are off. CronFunctions.Tests/Infra holds that list and checks the compiled template against it.
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }

  resource settings 'config' = {
    name: 'appsettings'
    properties: appSettings
  }

  // No basic-auth publishing at all: azd deploys with Entra ID (OneDeploy to the SCM site with a token), so neither
  // FTP nor the SCM site needs a user name and password. The resource type takes a location (bicep-types-az#1571).
  resource ftpCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    #disable-next-line BCP187 // ARM requires it ("The parameter location has an invalid value" without it); the type lacks it.
    location: location
    properties: {
      allow: false
    }
  }

  resource scmCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    #disable-next-line BCP187 // As above.
    location: location
    properties: {
      allow: false
    }
  }
}

@description('Name of the function app.')
output name string = app.name

@description('Default host name of the function app.')
output defaultHostName string = app.properties.defaultHostName
