using System.Text;

namespace CronFunctions.Runners.Local;

/// <summary>
/// Splits a stream of process output into lines of at most <see cref="MaxLineBytes"/> bytes: a longer line is cut,
/// marked with how much was dropped, and the rest of it is read and thrown away, so memory never grows with a job's
/// output (a 100 MB line costs one buffer). Invalid UTF-8 becomes U+FFFD.
/// </summary>
internal sealed class BoundedLineReader(Stream stream, int maxLineBytes)
{
    private static readonly Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    public int MaxLineBytes { get; } = maxLineBytes;

    /// <summary>Calls <paramref name="onLine"/> for every line until the stream ends (a last line without newline included).</summary>
    public async Task ReadAllAsync(Action<string> onLine, CancellationToken cancellationToken = default)
    {
        var buffer = new byte[Math.Max(4096, Math.Min(MaxLineBytes, 64 * 1024))];
        var line = new byte[MaxLineBytes];
        var length = 0;
        long dropped = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            var span = buffer.AsSpan(0, read);
            while (!span.IsEmpty)
            {
                var newline = span.IndexOf((byte)'\n');
                var piece = newline < 0 ? span : span[..newline];
                var room = MaxLineBytes - length;
                if (piece.Length <= room)
                {
                    piece.CopyTo(line.AsSpan(length));
                    length += piece.Length;
                }
                else
                {
                    piece[..room].CopyTo(line.AsSpan(length));
                    length = MaxLineBytes;
                    dropped += piece.Length - room;
                }

                if (newline < 0)
                {
                    break;
                }

                onLine(Decode(line, length, dropped));
                length = 0;
                dropped = 0;
                span = span[(newline + 1)..];
            }
        }

        if (length > 0 || dropped > 0)
        {
            onLine(Decode(line, length, dropped));
        }
    }

    private static string Decode(byte[] line, int length, long dropped)
    {
        if (length > 0 && line[length - 1] == (byte)'\r')
        {
            length--;
        }

        var text = Utf8.GetString(line, 0, length);
        return dropped == 0 ? text : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{text}… [line cut: {dropped} more bytes]");
    }
}
