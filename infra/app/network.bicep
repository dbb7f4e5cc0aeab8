// Optional private networking (main.bicep's privateNetworking, off by default): a virtual network the function app
// joins (Flex Consumption virtual network integration), and private endpoints that put the storage account (blob,
// queue, table) and the Key Vault inside it, with the private DNS zones that make their usual host names resolve to
// the private addresses from the app. storage.bicep and keyvault.bicep then turn public network access off.
// The Container Apps environment stays outside: the job reaches neither the storage account nor the vault.

@description('Name of the virtual network.')
param name string

@description('Azure region of the virtual network and the private endpoints.')
param location string

@description('Tags applied to every resource here.')
param tags resourceInput<'Microsoft.Network/virtualNetworks@2024-05-01'>.tags

@description('Prefix of the private endpoint names; each endpoint adds -<group> (blob, queue, table, vault).')
param privateEndpointPrefix string

@description('Name of the storage account to reach privately.')
param storageAccountName string

@description('Name of the Key Vault to reach privately.')
param keyVaultName string

@description('Address space of the virtual network.')
param addressPrefix string = '10.0.0.0/16'

@description('Subnet the function app integrates with (delegated to Microsoft.App/environments, as Flex Consumption requires).')
param appSubnetPrefix string = '10.0.2.0/24'

@description('Subnet that holds the private endpoints.')
param privateEndpointSubnetPrefix string = '10.0.1.0/24'

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: keyVaultName
}

var appSubnetName = 'app'
var privateEndpointSubnetName = 'private-endpoints'

// One private endpoint per service the app calls. Zone names follow the cloud's own suffixes:
// privatelink.blob.core.windows.net, privatelink.vaultcore.azure.net in the public cloud.
var endpoints = [
  {
    group: 'blob'
    zone: 'privatelink.blob.${environment().suffixes.storage}'
  }
  {
    group: 'queue'
    zone: 'privatelink.queue.${environment().suffixes.storage}'
  }
  {
    group: 'table'
    zone: 'privatelink.table.${environment().suffixes.storage}'
  }
  {
    group: 'vault'
    zone: replace(environment().suffixes.keyvaultDns, '.vault.', 'privatelink.vaultcore.')
  }
]

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: appSubnetName
        properties: {
          addressPrefix: appSubnetPrefix
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: privateEndpointSubnetName
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }

  resource appSubnet 'subnets' existing = {
    name: appSubnetName
  }

  resource privateEndpointSubnet 'subnets' existing = {
    name: privateEndpointSubnetName
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for endpoint in endpoints: {
    name: endpoint.zone
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (endpoint, i) in endpoints: {
    parent: zones[i]
    name: name
    location: 'global'
    tags: tags
    properties: {
      virtualNetwork: {
        id: vnet.id
      }
      registrationEnabled: false
    }
  }
]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [
  for endpoint in endpoints: {
    name: '${privateEndpointPrefix}-${endpoint.group}'
    location: location
    tags: tags
    properties: {
      subnet: {
        id: vnet::privateEndpointSubnet.id
      }
      privateLinkServiceConnections: [
        {
          name: endpoint.group
          properties: {
            privateLinkServiceId: endpoint.group == 'vault' ? vault.id : storage.id
            groupIds: [
              endpoint.group
            ]
          }
        }
      ]
    }
  }
]

resource zoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [
  for (endpoint, i) in endpoints: {
    parent: privateEndpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: endpoint.group
          properties: {
            privateDnsZoneId: zones[i].id
          }
        }
      ]
    }
  }
]

@description('Resource id of the subnet the function app integrates with.')
output appSubnetId string = vnet::appSubnet.id
