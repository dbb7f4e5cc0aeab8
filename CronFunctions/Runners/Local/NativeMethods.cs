using System.Runtime.InteropServices;

namespace CronFunctions.Runners.Local;

/// <summary>The POSIX calls .NET has no API for: signalling a whole process group, and leading a new session.</summary>
internal static class NativeMethods
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    /// <summary><c>kill(2)</c>: a negative <paramref name="pid"/> signals every process of that group.</summary>
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    public static extern int Kill(int pid, int signal);

    /// <summary><c>setsid(2)</c>: leave the caller's process group and session, so a kill aimed at them misses us.</summary>
    [DllImport("libc", EntryPoint = "setsid", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    public static extern int SetSid();
}
