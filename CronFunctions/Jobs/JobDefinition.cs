namespace CronFunctions.Jobs;

/// <summary>
/// One cron job of the spec: its route name, the function that exposes it, the <c>manage.py</c> arguments it runs,
/// its default schedule (UTC cron) and whether it runs at low CPU/IO priority.
/// </summary>
internal sealed record JobDefinition(
    string Name,
    string FunctionName,
    IReadOnlyList<string> Arguments,
    string Schedule,
    bool LowPriority = false,
    JobParameter? Parameter = null)
{
    public string Route => "cron/" + Name;
}

/// <summary>
/// A whole-number query parameter that becomes one command-line option (mop-recent's <c>delta</c>).
/// </summary>
internal sealed record JobParameter(string QueryName, string Option, int DefaultValue, int Minimum, int Maximum);
