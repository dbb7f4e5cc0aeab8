// The one user-assigned identity the function app runs as. It reaches host storage (and the cron locks),
// Application Insights, the token secrets in Key Vault and the Container Apps Job; rbac.bicep grants each.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region of the identity.')
param location string

@description('Tags applied to the identity.')
param tags resourceInput<'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30'>.tags

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

@description('Resource id of the identity.')
output id string = identity.id

@description('Name of the identity.')
output name string = identity.name

@description('Client (application) id of the identity: what app settings and Azure.Identity use to pick it.')
output clientId string = identity.properties.clientId

@description('Object id of the identity\'s service principal: what role assignments grant to.')
output principalId string = identity.properties.principalId
