namespace CronFunctions.Security;

/// <summary>
/// The accepted bearer tokens. <see cref="Token"/> comes from <c>ERIFY_CRON_TOKEN</c> (the name the original backend
/// used); <see cref="SecondaryToken"/> from <c>ERIFY_CRON_TOKEN_SECONDARY</c>, accepted too so a token can be rotated
/// without a window where callers are refused. No usable token configured means every call is refused.
/// </summary>
internal sealed class TokenOptions
{
    public const string TokenSetting = "ERIFY_CRON_TOKEN";
    public const string SecondaryTokenSetting = "ERIFY_CRON_TOKEN_SECONDARY";

    /// <summary>The shortest token accepted: 32 characters (e.g. 24 random bytes in hex is 48).</summary>
    public const int MinimumLength = 32;

    public string? Token { get; set; }

    public string? SecondaryToken { get; set; }
}

/// <summary>Why a configured token setting is not used.</summary>
internal enum TokenProblem
{
    None,

    /// <summary>Not set, or only white space.</summary>
    Missing,

    /// <summary>
    /// An App Service reference the platform could not resolve (<c>@Microsoft.KeyVault(...)</c>,
    /// <c>@Microsoft.AppConfiguration(...)</c>): the platform then hands the app the reference text itself, which
    /// names the vault and is no secret at all.
    /// </summary>
    UnresolvedReference,

    /// <summary>Shorter than <see cref="TokenOptions.MinimumLength"/> characters: guessable.</summary>
    TooShort,
}

/// <summary>Judges a configured token value. Never returns or logs the value itself.</summary>
internal static class TokenRules
{
    public static TokenProblem Judge(string? value)
    {
        var token = value.AsSpan().Trim();
        if (token.IsEmpty)
        {
            return TokenProblem.Missing;
        }

        if (token.StartsWith("@Microsoft.KeyVault(", StringComparison.OrdinalIgnoreCase)
            || token.StartsWith("@Microsoft.AppConfiguration(", StringComparison.OrdinalIgnoreCase))
        {
            return TokenProblem.UnresolvedReference;
        }

        return token.Length < TokenOptions.MinimumLength ? TokenProblem.TooShort : TokenProblem.None;
    }

    public static string Describe(TokenProblem problem) => problem switch
    {
        TokenProblem.Missing => "it is not set",
        TokenProblem.UnresolvedReference => "it is an unresolved Key Vault/App Configuration reference (the platform could not read the secret)",
        TokenProblem.TooShort => $"it is shorter than {TokenOptions.MinimumLength} characters",
        _ => "it is usable",
    };
}
