// CronFunctions: everything `azd up` deploys. A Cloudflare Worker (infra/cloudflare) calls the function
// app's cron endpoints with a bearer token; the app takes a blob-lease lock and starts an execution of a
// Container Apps Job that runs the Django backend's `python manage.py <command>`.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment: names the resource group and seeds the unique token in resource names.')
param environmentName string

@minLength(1)
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

@description('Registry server of a private backendImage (e.g. myregistry.azurecr.io); the job pulls with its own identity, which needs AcrPull there. Empty for a public image.')
param backendRegistryServer string = ''

@minLength(1)
@maxLength(63)
@description('Name of the container in the job template; the function app overrides its command for each run.')
param backendContainerName string = 'backend'

@minValue(60)
@maxValue(86400)
@description('Replica timeout of the Container Apps Job in seconds: the longest a single run may take before Container Apps stops it. The app\'s Cron__DefaultMaxRuntime (lock deadline) is set to this plus 10 minutes.')
param jobReplicaTimeoutSeconds int = 7200

@minValue(0)
@maxValue(10)
@description('Replica retry limit of the job. 0: a failed run is not started again by Container Apps; the next scheduled call runs the command again.')
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
@description('Role the function app gets on the job. custom (default): a role with exactly jobs/read, jobs/start/action, jobs/executions/read and jobs/execution/read, which needs Owner or User Access Administrator to deploy. builtin: Container Apps Jobs Operator, which also grants stop, listSecrets, exec and log stream.')
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
}
var hasSecondaryToken = !empty(erifyCronTokenSecondary)

// The lock gives a run until its deadline (start + Cron:DefaultMaxRuntime), then lets the next call take it
// over whether the run is alive or not. So Container Apps must have stopped the execution by then: the
// deadline is the replica timeout plus a margin for scheduling and image pull (TimeSpan d.hh:mm:ss).
var maxRuntimeSeconds = jobReplicaTimeoutSeconds + 600
var defaultMaxRuntime = format(
  '{0}.{1:00}:{2:00}:{3:00}',
  maxRuntimeSeconds / 86400,
  (maxRuntimeSeconds % 86400) / 3600,
  (maxRuntimeSeconds % 3600) / 60,
  maxRuntimeSeconds % 60
)

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
  }
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
    registryServer: backendRegistryServer
    containerName: backendContainerName
    replicaTimeoutSeconds: jobReplicaTimeoutSeconds
    replicaRetryLimit: jobReplicaRetryLimit
    cpu: jobCpu
    memory: jobMemory
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

@description('Object id of the job\'s identity; grant it AcrPull when backendImage is private.')
output AZURE_CONTAINER_APPS_JOB_PRINCIPAL_ID string = containerApps.outputs.jobIdentityPrincipalId

@description('Name of the Key Vault that holds the token secrets.')
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name

@description('Name of the storage account (host storage, deployment package, cron locks).')
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name

@description('Client id of the function app\'s user-assigned identity.')
output AZURE_FUNCTION_IDENTITY_CLIENT_ID string = identity.outputs.clientId
