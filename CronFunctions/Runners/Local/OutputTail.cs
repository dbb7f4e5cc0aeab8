namespace CronFunctions.Runners.Local;

/// <summary>The last few lines a process wrote, kept for its run's outcome. Thread-safe.</summary>
internal sealed class OutputTail(int capacity)
{
    private const int MaxLineLength = 500;
    private readonly Queue<string> _lines = new(capacity);

    public void Add(string line)
    {
        if (line.Length > MaxLineLength)
        {
            line = string.Concat(line.AsSpan(0, MaxLineLength), "…");
        }

        lock (_lines)
        {
            if (_lines.Count == capacity)
            {
                _lines.Dequeue();
            }

            _lines.Enqueue(line);
        }
    }

    public IReadOnlyList<string> Snapshot()
    {
        lock (_lines)
        {
            return [.. _lines];
        }
    }
}
