// CronFunctions: everything `azd up` deploys. A Cloudflare Worker (infra/cloudflare) calls the function
// app's cron endpoints with a bearer token; the app takes a blob-lease lock and starts an execution of a
// Container Apps Job that runs the Django backend's `python manage.py <command>`.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment: names the resource group and seeds the unique token in resource names.')
param environmentName string

// Regions that offer the Flex Consumption plan, as listed by Microsoft's Flex Consumption quickstart
// (Azure-Samples/functions-quickstart-dotnet-azd, infra/main.bicep). `az functionapp list-flexconsumption-locations`
// gives the current list; add a region here once it appears there.
@minLength(1)
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'eastus2euap'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@description('Azure region for every resource; it must offer the Flex Consumption plan.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Name of the resource group to create or reuse. Empty: rg-<environmentName>.')
param resourceGroupName string = ''

@secure()
@minLength(32)
@description('ERIFY_CRON_TOKEN: the bearer token the Cloudflare Worker sends. Stored only as a Key Vault secret.')
param erifyCronToken string

@secure()
@description('ERIFY_CRON_TOKEN_SECONDARY: a second accepted token, set only while rotating. Empty: none.')
param erifyCronTokenSecondary string = ''

@description('Container image of the Django backend that the Container Apps Job runs. The default is a public placeholder so a first `azd up` succeeds before the backend image exists.')
param backendImage string = 'mcr.microsoft.com/k8se/quickstart-jobs:latest'

@description('Resource id of the Azure Container Registry that holds a private backendImage (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ContainerRegistry/registries/<name>). The job pulls from it with its own identity, and the template grants that identity AcrPull on this registry (the deployer needs permission to assign roles there). Empty for a public image.')
param backendRegistryResourceId string = ''

@minLength(1)
@maxLength(63)
@description('Name of the container in the job template; the function app overrides its command for each run.')
param backendContainerName string = 'backend'

@minValue(60)
@maxValue(86400)
@description('Replica timeout of the Container Apps Job in seconds: the longest one attempt of a run may take before Container Apps stops it. The app\'s Cron__DefaultMaxRuntime (lock deadline) covers every attempt: (jobReplicaRetryLimit + 1) x this, plus margins.')
param jobReplicaTimeoutSeconds int = 7200

@minValue(0)
@maxValue(10)
@description('Replica retry limit of the job. 0: a failed run is not started again by Container Apps; the next scheduled call runs the command again. Each retry lengthens the lock deadline by a replica timeout.')
param jobReplicaRetryLimit int = 0

@allowed([
  '0.25'
  '0.5'
  '0.75'
  '1'
  '1.25'
  '1.5'
  '1.75'
  '2'
  '2.5'
  '3'
  '3.5'
  '4'
])
@description('vCPU of the job container. On the Consumption profile memory must be 2 GiB per vCPU (see jobMemory).')
param jobCpu string = '0.5'

@description('Memory of the job container, e.g. 1Gi for 0.5 vCPU, 2Gi for 1 vCPU.')
param jobMemory string = '1Gi'

@allowed([
  'custom'
  'builtin'
])
@description('Role the function app gets on the job. custom (default): a role with exactly jobs/read, jobs/start/action, jobs/executions/read, jobs/execution/read and stopping one execution, which needs Owner or User Access Administrator to deploy. builtin: Container Apps Jobs Operator, which also grants stopping every execution, listSecrets, exec and log stream.')
param jobRole string = 'custom'

@minValue(1)
@maxValue(1000)
@description('Flex Consumption: most instances the function app scales out to.')
param functionMaximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
@description('Flex Consumption: memory of each function app instance, in MB.')
param functionInstanceMemoryMB int = 2048

@description('Email address that receives the "job overdue or failing" alerts. Empty: the alert rule still fires and shows under Azure Monitor > Alerts, but nobody is notified.')
param alertEmail string = ''

@description('Private networking for the storage account and the Key Vault: a virtual network the function app joins, private endpoints for both, and public network access off on both. Off by default (see infra/README.md for what it changes for operators).')
param privateNetworking bool = false

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}

// Every name is fixed here, before anything is deployed, and handed to the modules as a plain value (not
// read back from another module's outputs), so what-if can predict each resource. Order comes from
// dependsOn instead.
var names = {
  identity: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
  logAnalytics: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
  applicationInsights: '${abbrs.insightsComponents}${resourceToken}'
  storage: '${abbrs.storageStorageAccounts}${resourceToken}'
  keyVault: '${abbrs.keyVaultVaults}${resourceToken}'
  containerAppsEnvironment: '${abbrs.appManagedEnvironments}${resourceToken}'
  job: '${abbrs.appContainerAppsJobs}backend-${resourceToken}'
  jobIdentity: '${abbrs.managedIdentityUserAssignedIdentities}job-${resourceToken}'
  plan: '${abbrs.webServerFarms}${resourceToken}'
  functionApp: '${abbrs.webSitesFunctions}api-${resourceToken}'
  deploymentContainer: 'app-package-${resourceToken}'
  lockContainer: 'cron-locks'
  tokenSecret: 'erify-cron-token'
  secondaryTokenSecret: 'erify-cron-token-secondary'
  virtualNetwork: '${abbrs.networkVirtualNetworks}${resourceToken}'
  privateEndpointPrefix: '${abbrs.networkPrivateEndpoints}${resourceToken}'
  alertRule: '${abbrs.insightsScheduledQueryRules}job-health-${resourceToken}'
  actionGroup: '${abbrs.insightsActionGroups}cron-${resourceToken}'
}
var hasSecondaryToken = !empty(erifyCronTokenSecondary)

// The lock gives a run until its deadline (start + Cron:DefaultMaxRuntime); past it the run is stopped and the job
// freed. So the deadline must not come before Container Apps itself gives up on the execution: every attempt (the
// first and jobReplicaRetryLimit retries) may run a full replica timeout, the first attempt may wait for scheduling
// and an image pull (600 s), and each retry for a back-off before it starts again and its own pull (360 s: the cap of
// the Kubernetes Job back-off, which we assume Container Apps jobs follow; Microsoft documents no retry delay).
// TimeSpan format d.hh:mm:ss.
var maxRuntimeSeconds = (jobReplicaRetryLimit + 1) * jobReplicaTimeoutSeconds + 600 + jobReplicaRetryLimit * 360

// The app accepts a maximum runtime of at most 7 days (Cron:DefaultMaxRuntime); refuse a combination beyond it at
// deployment rather than let the app fail at start.
var appMaxRuntimeSeconds = 7 * 86400
var checkedMaxRuntimeSeconds = maxRuntimeSeconds > appMaxRuntimeSeconds
  ? fail('(jobReplicaRetryLimit + 1) x jobReplicaTimeoutSeconds plus margins exceeds 7 days, the longest maximum runtime CronFunctions accepts. Lower jobReplicaRetryLimit or jobReplicaTimeoutSeconds.')
  : maxRuntimeSeconds
var defaultMaxRuntime = format(
  '{0}.{1:00}:{2:00}:{3:00}',
  checkedMaxRuntimeSeconds / 86400,
  (checkedMaxRuntimeSeconds % 86400) / 3600,
  (checkedMaxRuntimeSeconds % 3600) / 60,
  checkedMaxRuntimeSeconds % 60
)

// A private registry is given by its resource id: /subscriptions/<id>/resourceGroups/<group>/providers/
// Microsoft.ContainerRegistry/registries/<name>. Anything else is refused at deployment, so a typo cannot leave the
// job without AcrPull.
var hasRegistry = !empty(backendRegistryResourceId)
var registryIdParts = split(backendRegistryResourceId, '/')
// No indexing here: ARM evaluates every variable, and an index past the end of a short id would fail the deployment
// even without a registry. The parts are read below only in the branch where the id is valid.
var registryIdIsValid = length(registryIdParts) == 9 && startsWith(toLower(backendRegistryResourceId), '/subscriptions/') && contains(toLower(backendRegistryResourceId), '/resourcegroups/') && contains(toLower(backendRegistryResourceId), '/providers/microsoft.containerregistry/registries/')
var registry = !hasRegistry
  ? {
      subscriptionId: subscription().subscriptionId
      resourceGroup: ''
      name: ''
    }
  : registryIdIsValid
      ? {
          subscriptionId: registryIdParts[2]
          resourceGroup: registryIdParts[4]
          name: registryIdParts[8]
        }
      : fail('backendRegistryResourceId must be the resource id of an Azure Container Registry: /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ContainerRegistry/registries/<name>.')

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

// The job's own identity, apart from the job so that AcrPull on a private registry exists before the job first pulls.
module jobIdentity 'app/identity.bicep' = {
  name: 'job-identity'
  scope: rg
  params: {
    name: names.jobIdentity
    location: location
    tags: tags
  }
}

module registryAccess 'app/registry-access.bicep' = if (hasRegistry) {
  name: 'registry-access'
  scope: resourceGroup(registry.subscriptionId, hasRegistry ? registry.resourceGroup : rg.name)
  params: {
    registryName: registry.name
    // A runtime value, like the app identity's in rbac: the assignment's name must follow the principal.
    #disable-next-line what-if-short-circuiting
    principalId: jobIdentity.outputs.principalId
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.applicationInsights
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: names.storage
    location: location
    tags: tags
    deploymentContainerName: names.deploymentContainer
    lockContainerName: names.lockContainer
    privateNetworking: privateNetworking
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: names.keyVault
    location: location
    tags: tags
    tokenSecretName: names.tokenSecret
    secondaryTokenSecretName: names.secondaryTokenSecret
    erifyCronToken: erifyCronToken
    erifyCronTokenSecondary: erifyCronTokenSecondary
    privateNetworking: privateNetworking
  }
}

module network 'app/network.bicep' = if (privateNetworking) {
  name: 'network'
  scope: rg
  params: {
    name: names.virtualNetwork
    location: location
    tags: tags
    privateEndpointPrefix: names.privateEndpointPrefix
    storageAccountName: names.storage
    keyVaultName: names.keyVault
  }
  dependsOn: [
    storage
    keyVault
  ]
}

module containerApps 'app/containerapps-job.bicep' = {
  name: 'containerapps-job'
  scope: rg
  params: {
    environmentName: names.containerAppsEnvironment
    jobName: names.job
    jobIdentityName: names.jobIdentity
    location: location
    tags: tags
    logAnalyticsName: names.logAnalytics
    image: backendImage
    registryServer: hasRegistry ? registryAccess!.outputs.loginServer : ''
    containerName: backendContainerName
    replicaTimeoutSeconds: jobReplicaTimeoutSeconds
    replicaRetryLimit: jobReplicaRetryLimit
    cpu: jobCpu
    memory: jobMemory
  }
  dependsOn: [
    monitoring
    // The job runs as this identity, which must exist first. The linter sees the dependency through registryAccess,
    // but that module is skipped for a public image.
    #disable-next-line no-unnecessary-dependson
    jobIdentity
  ]
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    name: names.alertRule
    actionGroupName: names.actionGroup
    location: location
    tags: tags
    applicationInsightsName: names.applicationInsights
    alertEmail: alertEmail
  }
  dependsOn: [
    monitoring
  ]
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    // The one runtime value here: a role assignment's name must change with the principal (a recreated
    // identity has a new principal id and could not take over the old assignment), and the principal id
    // exists only once the identity does.
    #disable-next-line what-if-short-circuiting
    principalId: identity.outputs.principalId
    storageAccountName: names.storage
    applicationInsightsName: names.applicationInsights
    keyVaultName: names.keyVault
    tokenSecretName: names.tokenSecret
    secondaryTokenSecretName: names.secondaryTokenSecret
    grantSecondaryToken: hasSecondaryToken
    jobName: names.job
    jobRole: jobRole
    customJobRoleName: 'CronFunctions job starter (${resourceToken})'
  }
  dependsOn: [
    storage
    monitoring
    keyVault
    containerApps
  ]
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: tags
    identityName: names.identity
    storageAccountName: names.storage
    deploymentContainerName: names.deploymentContainer
    lockContainerName: names.lockContainer
    applicationInsightsName: names.applicationInsights
    keyVaultName: names.keyVault
    tokenSecretName: names.tokenSecret
    secondaryTokenSecretName: names.secondaryTokenSecret
    hasSecondaryToken: hasSecondaryToken
    jobName: names.job
    jobContainerName: backendContainerName
    defaultMaxRuntime: defaultMaxRuntime
    maximumInstanceCount: functionMaximumInstanceCount
    instanceMemoryMB: functionInstanceMemoryMB
    virtualNetworkSubnetId: privateNetworking ? network!.outputs.appSubnetId : ''
  }
  // Roles first: at its first start the app reads host storage and resolves its Key Vault references.
  dependsOn: [
    identity
    rbac
  ]
}

@description('Region of the deployment.')
output AZURE_LOCATION string = location

@description('Tenant of the deployment.')
output AZURE_TENANT_ID string = tenant().tenantId

@description('Resource group that holds everything.')
output AZURE_RESOURCE_GROUP string = rg.name

@description('Name of the function app (CronFunctions).')
output AZURE_FUNCTION_APP_NAME string = api.outputs.name

@description('Base URL of the cron endpoints: the Cloudflare Worker\'s BACKEND_BASE.')
output AZURE_FUNCTION_URL string = 'https://${api.outputs.defaultHostName}/api'

@description('Name of the Container Apps Job that runs the backend commands.')
output AZURE_CONTAINER_APPS_JOB_NAME string = containerApps.outputs.jobName

@description('Name of the Container Apps environment.')
output AZURE_CONTAINER_APPS_ENVIRONMENT_NAME string = containerApps.outputs.environmentName

@description('Object id of the job\'s identity (it holds AcrPull on backendRegistryResourceId; grant it whatever else the backend needs).')
output AZURE_CONTAINER_APPS_JOB_PRINCIPAL_ID string = jobIdentity.outputs.principalId

@description('Name of the Key Vault that holds the token secrets.')
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name

@description('Name of the storage account (host storage, deployment package, cron locks).')
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name

@description('Client id of the function app\'s user-assigned identity.')
output AZURE_FUNCTION_IDENTITY_CLIENT_ID string = identity.outputs.clientId
