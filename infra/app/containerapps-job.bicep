// Container Apps environment + the manually triggered job that runs the Django backend's
// `python manage.py <command>`. The function app starts one execution per cron run with the command
// overridden (Container Apps Job runner); nothing here schedules anything by itself.
// The job runs as its own user-assigned identity (identity.bicep, created before this module so that AcrPull on a
// private registry can be granted to it before the job first pulls its image).

@description('Name of the Container Apps managed environment.')
param environmentName string

@description('Name of the Container Apps Job (2-32 lowercase letters, digits and dashes).')
@minLength(2)
@maxLength(32)
param jobName string

@description('Name of the existing user-assigned identity the job runs as (image pulls, and the backend\'s own Azure access).')
param jobIdentityName string

@description('Azure region of the environment and the job.')
param location string

@description('Tags applied to every resource here.')
param tags resourceInput<'Microsoft.App/managedEnvironments@2025-07-01'>.tags

@description('Name of the Log Analytics workspace that receives the container logs (through a diagnostic setting).')
param logAnalyticsName string

@description('Container image of the backend, e.g. myregistry.azurecr.io/backend:1.2.3.')
param image string

@description('Login server of the private registry of the image (e.g. myregistry.azurecr.io); the job\'s identity must hold AcrPull there. Empty for a public image.')
param registryServer string = ''

@description('Name of the container in the job template; the function app overrides this container\'s command.')
param containerName string

@minValue(60)
@maxValue(86400)
@description('Maximum run time of one execution (replica timeout), in seconds.')
param replicaTimeoutSeconds int

@minValue(0)
@maxValue(10)
@description('How many times Container Apps retries a failed replica.')
param replicaRetryLimit int

@description('vCPU of the container, as a decimal string (e.g. "0.5").')
param cpu string

@description('Memory of the container (e.g. "1Gi"); on the Consumption profile, 2 GiB per vCPU.')
param memory string

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2025-02-01' existing = {
  name: logAnalyticsName
}

resource jobIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: jobIdentityName
}

resource environment 'Microsoft.App/managedEnvironments@2025-07-01' = {
  name: environmentName
  location: location
  tags: tags
  properties: {
    // Logs leave through Azure Monitor (the diagnostic setting below), not through the workspace's shared key: with
    // 'log-analytics' the environment needs the key (listKeys at deployment, kept by the platform), which also grants
    // writing any data to the workspace.
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
    zoneRedundant: false
  }
}

// Console and system logs of the job's executions, in the resource-specific tables ContainerAppConsoleLogs and
// ContainerAppSystemLogs of the workspace.
resource logsToWorkspace 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'container-logs'
  scope: environment
  properties: {
    workspaceId: logAnalytics.id
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        category: 'ContainerAppConsoleLogs'
        enabled: true
      }
      {
        category: 'ContainerAppSystemLogs'
        enabled: true
      }
    ]
  }
}

resource job 'Microsoft.App/jobs@2025-07-01' = {
  name: jobName
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${jobIdentity.id}': {}
    }
  }
  properties: {
    environmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      triggerType: 'Manual'
      manualTriggerConfig: {
        parallelism: 1
        replicaCompletionCount: 1
      }
      replicaTimeout: replicaTimeoutSeconds
      replicaRetryLimit: replicaRetryLimit
      registries: empty(registryServer)
        ? []
        : [
            {
              server: registryServer
              identity: jobIdentity.id
            }
          ]
    }
    template: {
      containers: [
        {
          name: containerName
          image: image
          resources: {
            cpu: json(cpu)
            memory: memory
          }
        }
      ]
    }
  }
}

@description('Name of the Container Apps Job.')
output jobName string = job.name

@description('Name of the Container Apps managed environment.')
output environmentName string = environment.name
