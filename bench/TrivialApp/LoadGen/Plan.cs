using System.Text.Json.Serialization;

namespace LoadGen;

/// <summary>What to measure: every case at every concurrency, for a fixed duration after a warm-up, in rounds.</summary>
internal sealed record Plan(
    IReadOnlyList<Case> Cases,
    IReadOnlyList<int> Concurrency,
    int Rounds,
    double WarmupSeconds,
    double DurationSeconds);

/// <summary>One kind of call, the answer it must get, and the processes whose CPU time it is charged.</summary>
internal sealed record Case(
    string Name,
    string Method,
    Uri Url,
    int ExpectStatus,
    string? ExpectBody,
    IReadOnlyDictionary<string, string>? Headers,
    string? Body,
    IReadOnlyDictionary<string, int>? Processes);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Plan))]
internal sealed partial class PlanJsonContext : JsonSerializerContext;
