using CronFunctions.Runs;
using Microsoft.Extensions.Options;

namespace CronFunctions.History;

/// <summary>
/// Records that could not be written when they happened, oldest first, bounded by
/// <see cref="RunHistoryOptions.MaxPending"/>: past it the oldest is dropped. Every record that is given up on is
/// counted here, and the background writer reports the count as an error once per interval (never a silent drop).
/// </summary>
internal sealed class PendingRecords(IOptions<RunHistoryOptions> options)
{
    private readonly LinkedList<RunRecord> _records = new();
    private readonly Lock _gate = new();
    private long _dropped;

    public int MaxPending { get; } = options.Value.MaxPending;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _records.Count;
            }
        }
    }

    public void Enqueue(RunRecord record)
    {
        lock (_gate)
        {
            if (_records.Count >= MaxPending)
            {
                _records.RemoveFirst();
                _dropped++;
            }

            _records.AddLast(record);
        }
    }

    /// <summary>The oldest pending record, left in place until <see cref="Remove"/> (so a failed retry loses nothing).</summary>
    public LinkedListNode<RunRecord>? Oldest()
    {
        lock (_gate)
        {
            return _records.First;
        }
    }

    /// <summary>Removes a record once written (unless the cap already dropped it).</summary>
    public void Remove(LinkedListNode<RunRecord> node)
    {
        lock (_gate)
        {
            if (node.List == _records)
            {
                _records.Remove(node);
            }
        }
    }

    /// <summary>Counts records given up on elsewhere (refused by storage, unwritten at shutdown).</summary>
    public void CountDropped(long count)
    {
        lock (_gate)
        {
            _dropped += count;
        }
    }

    /// <summary>How many records were dropped since the last call.</summary>
    public long TakeDropped()
    {
        lock (_gate)
        {
            var dropped = _dropped;
            _dropped = 0;
            return dropped;
        }
    }
}
