// Every role the function app's identity holds, each on the narrowest scope that works, none on the
// resource group. Assignment names are guid(scope id, principal id, role definition id), so a redeploy
// finds the same assignment instead of failing with a conflict.

@description('Object id of the function app\'s user-assigned identity.')
param principalId string

@description('Name of the storage account that backs the Functions host, the deployment package and the locks.')
param storageAccountName string

@description('Name of the Application Insights component the app sends telemetry to with Entra ID auth.')
param applicationInsightsName string

@description('Name of the Key Vault that holds the token secrets.')
param keyVaultName string

@description('Name of the ERIFY_CRON_TOKEN secret.')
param tokenSecretName string

@description('Name of the ERIFY_CRON_TOKEN_SECONDARY secret.')
param secondaryTokenSecretName string

@description('Whether the secondary token secret exists and the app may read it.')
param grantSecondaryToken bool

@description('Name of the Container Apps Job the app starts.')
param jobName string

@allowed([
  'custom'
  'builtin'
])
@description('Role on the job: "custom" defines a role with exactly read job, start job, list and read executions, stop one execution; "builtin" uses Container Apps Jobs Operator, which also allows stopping every execution, listSecrets, exec and log stream.')
param jobRole string

@description('Display name of the custom job role; unique in the tenant.')
param customJobRoleName string

// Built-in role definition ids (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
var storageBlobDataOwnerRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
var storageTableDataContributorRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')
var monitoringMetricsPublisherRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '3913510d-42f4-4e42-8a64-420c390055eb')
var keyVaultSecretsUserRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
var containerAppsJobsOperatorRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b9a307c4-5aa3-4b52-ba60-2b17c136cd7b')

var customJobRoleGuid = guid(resourceGroup().id, 'cron-functions-job-starter')
var jobRoleDefinitionId = jobRole == 'custom'
  ? subscriptionResourceId('Microsoft.Authorization/roleDefinitions', customJobRoleGuid)
  : containerAppsJobsOperatorRoleId

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: keyVaultName

  resource tokenSecret 'secrets' existing = {
    name: tokenSecretName
  }

  resource secondaryTokenSecret 'secrets' existing = {
    name: secondaryTokenSecretName
  }
}

resource job 'Microsoft.App/jobs@2025-07-01' existing = {
  name: jobName
}

// Storage Blob Data Owner on the account. The Functions host documents Blob Data Owner as the role for an
// identity-based AzureWebJobsStorage (host keys, host locks and leases); Flex Consumption reads the
// deployment package with the same identity; the cron locks are blob leases in the lock container.
// Blob Data Contributor would cover our leases but is not what the host is documented to need.
resource storageBlobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageBlobDataOwnerRoleId)
  scope: storage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: storageBlobDataOwnerRoleId
  }
}

// Storage Table Data Contributor on the account. AzureWebJobsStorage__tableServiceUri is set, and with a
// table endpoint the host writes its diagnostic events (shown in the portal's "Diagnose and solve
// problems") to tables in this account; without the role it logs a warning at every start and turns that
// off. No queue role: the app has only HTTP triggers, no queue trigger, binding or Durable Functions, so
// the host never touches queues.
resource storageTableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageTableDataContributorRoleId)
  scope: storage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: storageTableDataContributorRoleId
  }
}

// Monitoring Metrics Publisher on the component: Entra ID auth for telemetry (local auth is disabled).
resource monitoringMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, principalId, monitoringMetricsPublisherRoleId)
  scope: applicationInsights
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: monitoringMetricsPublisherRoleId
  }
}

// Key Vault Secrets User on each token secret (not the vault): the Key Vault references resolve these two.
resource tokenSecretUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault::tokenSecret.id, principalId, keyVaultSecretsUserRoleId)
  scope: vault::tokenSecret
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: keyVaultSecretsUserRoleId
  }
}

// Only while a secondary token is set. An incremental deployment never deletes what a template stops declaring, so
// after a rotation the assignment from the previous deployment stays until it is removed by hand; infra/README.md
// ("Rotate the token", step 4) has the commands.
resource secondaryTokenSecretUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantSecondaryToken) {
  name: guid(vault::secondaryTokenSecret.id, principalId, keyVaultSecretsUserRoleId)
  scope: vault::secondaryTokenSecret
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: keyVaultSecretsUserRoleId
  }
}

// The Container Apps Job runner reads the job (its template, to override only the command), starts an
// execution, lists executions (to find its own after an ambiguous start), reads one execution (the
// lock's liveness check: GET jobs/{job}/executions/{name} is the separate action jobs/execution/read;
// without it a finished run would hold its lock until the deadline) and stops one execution that outlives its
// deadline (POST jobs/{job}/executions/{name}/stop, "Jobs - Stop Execution", in the stable API versions 2025-01-01
// and 2025-07-01). Microsoft.App's operation list names that action jobs/stop/execution/action, "Stop a Container
// Apps Job's specific execution", and lists a second one with the same description, jobs/stop/execution/backport/
// action; both are granted, as they allow exactly the same thing. Not granted: jobs/stop/action ("Stop multiple
// Container Apps Job executions", every execution of the job at once).
// The built-in Container Apps Jobs Operator has all of these through wildcards (jobs/*/read, jobs/*/action) but also
// stopping every execution, listSecrets (the job's secrets in clear text) and the exec/logstream data actions, so
// by default we define a role with exactly the actions above.
// Defining it needs Microsoft.Authorization/roleDefinitions/write (Owner or User Access Administrator);
// jobRole 'builtin' avoids that at the price of the wider role.
resource customJobRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (jobRole == 'custom') {
  name: customJobRoleGuid
  properties: {
    roleName: customJobRoleName
    description: 'Read a Container Apps Job, start an execution of it, list its executions, read one and stop one. Nothing else.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.App/jobs/read'
          'Microsoft.App/jobs/start/action'
          'Microsoft.App/jobs/executions/read'
          'Microsoft.App/jobs/execution/read'
          'Microsoft.App/jobs/stop/execution/action'
          'Microsoft.App/jobs/stop/execution/backport/action'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [
      resourceGroup().id
    ]
  }
}

// On the job itself, not the resource group: the app can start this job and no other.
resource jobStarter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(job.id, principalId, jobRoleDefinitionId)
  scope: job
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: jobRoleDefinitionId
  }
  dependsOn: [
    customJobRole
  ]
}
