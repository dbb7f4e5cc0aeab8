using System.Security.Cryptography;
using System.Text;
using CronFunctions.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace CronFunctions.Security;

internal enum TokenCheck
{
    Accepted,
    Missing,
    Malformed,
    Invalid,
    NotConfigured,
}

/// <summary>
/// Checks <c>Authorization: Bearer &lt;token&gt;</c> against the configured tokens in constant time. Both sides are
/// hashed to SHA-256 first so the comparison takes the same time whatever the lengths. Fails closed: with no
/// token configured every request is refused and an error is logged. The presented token is never logged.
/// </summary>
internal sealed class BearerTokenValidator
{
    private const string Scheme = "Bearer";

    private readonly byte[][] _acceptedHashes;
    private readonly ILogger<BearerTokenValidator> _logger;

    public BearerTokenValidator(IOptions<TokenOptions> options, ILogger<BearerTokenValidator> logger)
    {
        _logger = logger;
        _acceptedHashes = new[] { options.Value.Token, options.Value.SecondaryToken }
            .Where(t => !string.IsNullOrWhiteSpace(t))
            .Select(t => Hash(t!.Trim()))
            .ToArray();
    }

    public bool IsConfigured => _acceptedHashes.Length > 0;

    public TokenCheck Check(HttpRequest request)
    {
        if (!IsConfigured)
        {
            Log.TokenNotConfigured(_logger, TokenOptions.TokenSetting);
            return TokenCheck.NotConfigured;
        }

        var headers = request.Headers[HeaderNames.Authorization];
        if (headers.Count == 0)
        {
            return TokenCheck.Missing;
        }

        // Several Authorization headers are ambiguous: refuse rather than pick one.
        if (headers.Count > 1)
        {
            return TokenCheck.Malformed;
        }

        var value = headers[0].AsSpan().Trim();
        if (value.Length <= Scheme.Length
            || !value[..Scheme.Length].Equals(Scheme, StringComparison.OrdinalIgnoreCase)
            || value[Scheme.Length] != ' ')
        {
            return TokenCheck.Malformed;
        }

        var presented = value[(Scheme.Length + 1)..].Trim();
        if (presented.IsEmpty)
        {
            return TokenCheck.Malformed;
        }

        var presentedHash = Hash(presented);
        var match = false;
        foreach (var accepted in _acceptedHashes)
        {
            // No early exit: every configured token is compared, so timing does not tell which one matched.
            match |= CryptographicOperations.FixedTimeEquals(presentedHash, accepted);
        }

        return match ? TokenCheck.Accepted : TokenCheck.Invalid;
    }

    private static byte[] Hash(ReadOnlySpan<char> token)
    {
        var bytes = Encoding.UTF8.GetBytes(token.ToArray());
        try
        {
            return SHA256.HashData(bytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }
}
