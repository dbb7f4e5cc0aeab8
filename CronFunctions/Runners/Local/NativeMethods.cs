using System.Runtime.InteropServices;

namespace CronFunctions.Runners.Local;

/// <summary>The one POSIX call .NET has no API for: signalling a whole process group.</summary>
internal static partial class NativeMethods
{
    public const int SigKill = 9;

    /// <summary><c>kill(2)</c>: a negative <paramref name="pid"/> signals every process of that group.</summary>
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    public static extern int Kill(int pid, int signal);
}
