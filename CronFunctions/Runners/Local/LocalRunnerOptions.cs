using System.ComponentModel.DataAnnotations;

namespace CronFunctions.Runners.Local;

/// <summary>The <c>Cron:Local</c> settings: how to run <c>python manage.py ...</c> next to the app.</summary>
internal sealed class LocalRunnerOptions : IValidatableObject
{
    public const string Section = "Cron:Local";

    /// <summary>The Python interpreter (a name on PATH or a full path), e.g. the backend's virtualenv python.</summary>
    [Required]
    public string PythonExecutable { get; set; } = "python";

    /// <summary>The backend's directory: the working directory of the job, where <see cref="ManageScript"/> is.</summary>
    public string BackendDirectory { get; set; } = ".";

    /// <summary>The Django management script, relative to <see cref="BackendDirectory"/>.</summary>
    [Required]
    public string ManageScript { get; set; } = "manage.py";

    /// <summary>How many of the last output lines are kept for the run's outcome.</summary>
    [Range(1, 1000)]
    public int TailLines { get; set; } = 20;

    /// <summary>Output lines longer than this many bytes are cut (and marked): a job's output never grows the app's memory.</summary>
    [Range(256, 1024 * 1024)]
    public int MaxLineBytes { get; set; } = 8 * 1024;

    /// <summary>
    /// How long a job may take to exit after SIGTERM before it is killed: at its maximum runtime, and when its app
    /// died (the lifeline's own stop). At most 10 s, so a run never outlives a dead app by more than that.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The same when the app is shut down (scale-in, deployment): the Functions host gives its worker about 5 s
    /// before it kills it, and the run's end must be written and its lock freed within that.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Names (or <c>PREFIX_*</c> patterns) of the app's environment variables the job may see, beyond the basics.</summary>
    public List<string> PassEnvironment { get; set; } = [];

    /// <summary>Variables set for the job (<c>Cron__Local__Environment__NAME=value</c>).</summary>
    public Dictionary<string, string> Environment { get; set; } = new(StringComparer.Ordinal);

    /// <summary>More names (or patterns) the job must never see, on top of the built-in deny list.</summary>
    public List<string> DenyEnvironment { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var denied = JobEnvironment.Denied.Concat(DenyEnvironment).ToList();
        foreach (var name in Environment.Keys.Where(name => JobEnvironment.Matches(denied, name)))
        {
            yield return new ValidationResult($"Cron:Local:Environment:{name} names a variable a job must never get.", [nameof(Environment)]);
        }

        foreach (var pattern in PassEnvironment.Where(p => p.Trim() is "" or "*"))
        {
            yield return new ValidationResult($"Cron:Local:PassEnvironment '{pattern}' would pass everything; name the variables.", [nameof(PassEnvironment)]);
        }
    }
}
