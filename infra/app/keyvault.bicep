// Key Vault holding the cron bearer token(s). Access is Azure RBAC only (no access policies); rbac.bicep
// gives the function app's identity Key Vault Secrets User on each secret, not on the vault. The app
// settings point at the secrets by Key Vault reference, so no token is ever stored in app settings,
// deployment outputs or logs.
//
// Soft delete is on (Azure enforces it) with the shortest retention, 7 days, and purge protection is off on purpose:
// the vault's name is derived from the environment (kv-<token>), so after `azd down` without --purge the soft-deleted
// vault keeps that name and the next `azd up` of the same environment fails until it is purged
// (`az keyvault purge --name <AZURE_KEY_VAULT_NAME>`, see infra/README.md). Purge protection would make that
// impossible for the whole retention period, and it cannot be turned off again. What it protects here is small: the
// vault holds only the bearer token(s), which the azd environment also keeps and `azd provision` writes again.

@description('Name of the Key Vault (3-24 letters, digits and dashes).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the Key Vault.')
param location string

@description('Tags applied to the Key Vault.')
param tags resourceInput<'Microsoft.KeyVault/vaults@2025-05-01'>.tags

@description('Name of the secret that holds ERIFY_CRON_TOKEN.')
param tokenSecretName string

@description('Name of the secret that holds ERIFY_CRON_TOKEN_SECONDARY.')
param secondaryTokenSecretName string

@secure()
@description('Value of ERIFY_CRON_TOKEN, the bearer token the Cloudflare Worker sends.')
param erifyCronToken string

@secure()
@description('Value of ERIFY_CRON_TOKEN_SECONDARY, a second accepted token while rotating. Empty: the secret is not written.')
param erifyCronTokenSecondary string = ''

@description('Whether public network access is off (the app then reaches the vault through a private endpoint).')
param privateNetworking bool = false

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    // Writing the secrets below is a control-plane (ARM) operation, which network rules do not block.
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
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

resource tokenSecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = {
  parent: vault
  name: tokenSecretName
  properties: {
    value: erifyCronToken
    contentType: 'text/plain'
  }
}

resource secondaryTokenSecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(erifyCronTokenSecondary)) {
  parent: vault
  name: secondaryTokenSecretName
  properties: {
    value: erifyCronTokenSecondary
    contentType: 'text/plain'
  }
}

@description('Name of the Key Vault.')
output name string = vault.name

