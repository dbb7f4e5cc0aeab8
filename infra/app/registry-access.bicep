// AcrPull for the Container Apps Job's identity on the private registry that holds the backend image, scoped to that
// registry (which may live in another resource group or subscription: main.bicep deploys this module there). The job
// pulls its image with that identity; without the role the job cannot be created or started.

@description('Name of the Azure Container Registry in this resource group.')
param registryName string

@description('Object id of the job\'s user-assigned identity.')
param principalId string

// AcrPull (learn.microsoft.com/azure/role-based-access-control/built-in-roles/containers#acrpull). A registry whose
// role assignment mode is "RBAC Registry + ABAC Repository Permissions" ignores AcrPull; such a registry needs
// Container Registry Repository Reader instead, which this template does not grant.
var acrPullRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '7f951dda-4ed3-4680-a7ca-43fe172d538d')

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
}

resource acrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, principalId, acrPullRoleId)
  scope: registry
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: acrPullRoleId
  }
}

@description('Login server of the registry (e.g. myregistry.azurecr.io): the server the job pulls from.')
output loginServer string = registry.properties.loginServer
