using System.Globalization;
using CronFunctions.Jobs;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace CronFunctions.Http;

/// <summary>
/// The query parameters a cron call may carry, validated strictly before anything reaches a command line:
/// <c>delta</c> (mop-recent only) is a whole number without sign, spaces or leading zeros within the job's bounds;
/// <c>force</c> is <c>true</c> or <c>false</c>. Anything else given for them is a 400.
/// </summary>
internal sealed record CronRequestParameters(IReadOnlyList<string> Arguments, bool Force)
{
    public const string ForceName = "force";

    public static CronRequestParameters Parse(IQueryCollection query, JobDefinition job, out string? problem)
    {
        problem = null;
        var arguments = new List<string>(job.Arguments);
        if (job.Parameter is { } parameter)
        {
            var value = ParseWholeNumber(query, parameter, out problem);
            if (problem is not null)
            {
                return new CronRequestParameters(arguments, false);
            }

            arguments.Add(parameter.Option);
            arguments.Add(value.ToString(CultureInfo.InvariantCulture));
        }
        else if (query.ContainsKey("delta"))
        {
            problem = $"{job.Name} takes no delta parameter.";
            return new CronRequestParameters(arguments, false);
        }

        var force = ParseBoolean(query, ForceName, out problem);
        return new CronRequestParameters(arguments, force);
    }

    private static int ParseWholeNumber(IQueryCollection query, JobParameter parameter, out string? problem)
    {
        problem = null;
        if (!query.TryGetValue(parameter.QueryName, out var values))
        {
            return parameter.DefaultValue;
        }

        var range = $"a whole number from {parameter.Minimum} to {parameter.Maximum}";
        if (!TrySingle(values, out var text))
        {
            problem = $"{parameter.QueryName} must be given once, as {range}.";
            return 0;
        }

        // ASCII digits only: no sign, no spaces, no leading zeros, no other scripts' digits, at most 9 digits (no overflow).
        if (text.Length is 0 or > 9 || text[0] == '0' || !text.All(char.IsAsciiDigit))
        {
            problem = $"{parameter.QueryName} must be {range}.";
            return 0;
        }

        var number = int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
        if (number < parameter.Minimum || number > parameter.Maximum)
        {
            problem = $"{parameter.QueryName} must be {range}.";
            return 0;
        }

        return number;
    }

    private static bool ParseBoolean(IQueryCollection query, string name, out string? problem)
    {
        problem = null;
        if (!query.TryGetValue(name, out var values))
        {
            return false;
        }

        if (TrySingle(values, out var text))
        {
            if (string.Equals(text, "true", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            if (string.Equals(text, "false", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        problem = $"{name} must be true or false, given once.";
        return false;
    }

    private static bool TrySingle(StringValues values, out string text)
    {
        text = values.Count == 1 ? values[0] ?? string.Empty : string.Empty;
        return values.Count == 1;
    }
}
