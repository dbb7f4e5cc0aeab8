// The alarm for jobs that stop running or keep failing, independent of anyone calling the app. The app's
// timer-triggered health monitor logs, from category CronFunctions.Status.JobHealthMonitor at Error level, event 4100
// (JobOverdue) or 4101 (JobFailing) for each unhealthy job every five minutes. Those logs reach Application Insights
// through the isolated worker's Application Insights logger, which writes CategoryName, EventId, EventName and each
// message placeholder (Job, Since, Reason) as custom dimensions of a trace. This log search alert rule counts them per
// job and state; an action group emails the operator when an address is given.
//
// Least privilege: the rule has no managed identity and nothing here holds a role. Azure Monitor runs a log search
// alert rule without an identity against the resource in its scope (only this Application Insights component), and an
// action group that only sends email needs no permission at all.

@description('Name of the log search alert rule.')
param name string

@description('Name of the action group that emails the operator (created only when alertEmail is set).')
param actionGroupName string

@description('Azure region of the alert rule: the region of the Application Insights component it queries.')
param location string

@description('Tags applied to the rule and the action group.')
param tags resourceInput<'Microsoft.Insights/scheduledQueryRules@2023-12-01'>.tags

@description('Name of the Application Insights component that receives the app\'s logs.')
param applicationInsightsName string

@description('Email address that receives the alerts. Empty: the rule still fires (visible under Azure Monitor > Alerts) but notifies nobody.')
param alertEmail string = ''

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

var notify = !empty(alertEmail)

// The events of CronFunctions.Status.JobHealthMonitor (see the file comment). Health comes from the event id, which is
// stable, rather than from the message text.
var query = '''
traces
| where tostring(customDimensions.CategoryName) == "CronFunctions.Status.JobHealthMonitor"
| where severityLevel >= 3
| extend EventId = toint(customDimensions.EventId)
| where EventId in (4100, 4101)
| extend Job = tostring(customDimensions.Job), Health = iff(EventId == 4100, "overdue", "failing")
| project timestamp, Job, Health, Since = tostring(customDimensions.Since), Reason = tostring(customDimensions.Reason), message
'''

// Email only: no webhook, runbook or function receiver, so the group needs no identity or secret.
resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (notify) {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'cron-alerts'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

resource rule 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: name
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'CronFunctions: a job is overdue or failing'
    description: 'Fires per job while CronFunctions\' health monitor reports it overdue (event 4100) or failing (event 4101); resolves by itself once the job is healthy again.'
    severity: 1
    enabled: true
    scopes: [
      applicationInsights.id
    ]
    // The monitor reports every five minutes; a 15-minute window rides over one late or lost report, and autoMitigate
    // resolves the alert after a full window without reports. One alert per job and state, not one per report.
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: query
          timeAggregation: 'Count'
          dimensions: [
            {
              name: 'Job'
              operator: 'Include'
              values: [
                '*'
              ]
            }
            {
              name: 'Health'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: notify ? [actionGroup.id] : []
    }
  }
}

@description('Name of the alert rule.')
output ruleName string = rule.name
