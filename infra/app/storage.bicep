// Storage account for the Functions host (AzureWebJobsStorage), the Flex Consumption deployment package
// and the cron locks (one blob lease per job in the lock container). Entra ID only: no shared keys,
// no SAS, no anonymous blob access, HTTPS and TLS 1.2 only. With privateNetworking the account takes no traffic
// from public networks at all: the app reaches it through private endpoints (network.bicep).

@description('Name of the storage account (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the storage account.')
param location string

@description('Tags applied to the storage account.')
param tags resourceInput<'Microsoft.Storage/storageAccounts@2025-06-01'>.tags

@description('Blob container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Blob container that holds one lease blob per cron job.')
param lockContainerName string

@description('Whether public network access is off (the app then reaches the account through private endpoints).')
param privateNetworking bool = false

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    dnsEndpointType: 'Standard'
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    supportsHttpsTrafficOnly: true
    networkAcls: privateNetworking
      ? {
          bypass: 'None'
          defaultAction: 'Deny'
        }
      : {
          bypass: 'AzureServices'
          defaultAction: 'Allow'
        }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource lockContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobService
  name: lockContainerName
  properties: {
    publicAccess: 'None'
  }
}

@description('Name of the storage account.')
output name string = storage.name

@description('Name of the deployment package container.')
output deploymentContainerName string = deploymentContainer.name

@description('Name of the cron lock container.')
output lockContainerName string = lockContainer.name
