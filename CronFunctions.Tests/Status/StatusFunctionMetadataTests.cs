using System.Text.Json;
using CronFunctions.Tests.Infrastructure;

namespace CronFunctions.Tests.Status;

/// <summary>
/// What the Functions host will see (the generated <c>functions.metadata</c>): the dashboard behind a function key
/// (so the portal's "Get function URL" opens it), and the health monitor on the host's timer every 5 minutes.
/// </summary>
public sealed class StatusFunctionMetadataTests
{
    [Fact]
    public void Dashboard_IsAGetBehindAFunctionKey()
    {
        var trigger = Binding("Dashboard", "httpTrigger");

        Assert.Equal("cron/dashboard", trigger.GetProperty("route").GetString());
        Assert.Equal("Function", trigger.GetProperty("authLevel").GetString());
        Assert.Equal(["get"], trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
    }

    [Fact]
    public void HealthMonitor_IsATimerEveryFiveMinutes()
    {
        var trigger = Binding("HealthMonitor", "timerTrigger");

        Assert.Equal("0 */5 * * * *", trigger.GetProperty("schedule").GetString());
        Assert.False(trigger.TryGetProperty("runOnStartup", out var onStartup) && onStartup.GetBoolean());
    }

    private static JsonElement Binding(string function, string type)
    {
        var entry = Endpoints.FunctionMetadataTests.Metadata().EnumerateArray().Single(f => f.GetProperty("name").GetString() == function);
        return entry.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString() == type).Clone();
    }
}
