using System.Globalization;
using System.Security.Cryptography;

namespace CronFunctions.Jobs;

/// <summary>Run ids that sort by start time and name it: <c>20261125T143512Z-3f9a1c2b</c>.</summary>
internal static class RunIds
{
    public static string New(DateTimeOffset started) =>
        string.Create(CultureInfo.InvariantCulture, $"{started.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}-{RandomNumberGenerator.GetHexString(8, lowercase: true)}");
}
