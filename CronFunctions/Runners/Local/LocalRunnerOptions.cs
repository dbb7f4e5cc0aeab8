using System.ComponentModel.DataAnnotations;

namespace CronFunctions.Runners.Local;

/// <summary>The <c>Cron:Local</c> settings: how to run <c>python manage.py ...</c> next to the app.</summary>
internal sealed class LocalRunnerOptions
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
}
