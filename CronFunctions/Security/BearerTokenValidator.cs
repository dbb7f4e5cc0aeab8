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
/// hashed to SHA-256 first so the comparison takes the same time whatever the lengths. Fails closed: a setting that
/// is empty, shorter than <see cref="TokenOptions.MinimumLength"/> or an unresolved Key Vault reference counts as no
/// token, and with no usable token every request is refused and an error is logged. No token is ever logged.
/// </summary>
internal sealed class BearerTokenValidator
{
    private const string Scheme = "Bearer";
    private static readonly TimeSpan NotConfiguredLogInterval = TimeSpan.FromMinutes(5);

    private readonly byte[][] _acceptedHashes;
    private readonly ILogger<BearerTokenValidator> _logger;
    private readonly TimeProvider _timeProvider;
    private long _lastNotConfiguredLog;

    public BearerTokenValidator(IOptions<TokenOptions> options, TimeProvider timeProvider, ILogger<BearerTokenValidator> logger)
    {
        _logger = logger;
        _timeProvider = timeProvider;
        var settings = new[] { (TokenOptions.TokenSetting, options.Value.Token), (TokenOptions.SecondaryTokenSetting, options.Value.SecondaryToken) };
        var problems = new List<(string Setting, TokenProblem Problem)>();
        var accepted = new List<byte[]>();
        foreach (var (setting, value) in settings)
        {
            var problem = TokenRules.Judge(value);
            if (problem == TokenProblem.None)
            {
                accepted.Add(Hash(value.AsSpan().Trim()));
            }
            else if (problem != TokenProblem.Missing || setting == TokenOptions.TokenSetting)
            {
                // An absent rotation token is normal; anything else configured but unusable is an operator's error.
                problems.Add((setting, problem));
                Log.TokenSettingUnusable(logger, setting, TokenRules.Describe(problem));
            }
        }

        _acceptedHashes = [.. accepted];
        Problems = problems;
        if (!IsConfigured)
        {
            Log.TokenNotConfigured(logger, TokenOptions.TokenSetting);
            _lastNotConfiguredLog = timeProvider.GetTimestamp();
        }
    }

    /// <summary>Whether at least one usable token is configured (else every call is refused).</summary>
    public bool IsConfigured => _acceptedHashes.Length > 0;

    /// <summary>Configured token settings that are not used, and why (for health; never the values).</summary>
    public IReadOnlyList<(string Setting, TokenProblem Problem)> Problems { get; }

    public TokenCheck Check(HttpRequest request)
    {
        if (!IsConfigured)
        {
            LogNotConfiguredNowAndThen();
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

    /// <summary>The fail-closed error again, at most every few minutes: loud enough to notice, never a flood.</summary>
    private void LogNotConfiguredNowAndThen()
    {
        var last = Interlocked.Read(ref _lastNotConfiguredLog);
        if (_timeProvider.GetElapsedTime(last) >= NotConfiguredLogInterval
            && Interlocked.CompareExchange(ref _lastNotConfiguredLog, _timeProvider.GetTimestamp(), last) == last)
        {
            Log.TokenNotConfigured(_logger, TokenOptions.TokenSetting);
        }
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
