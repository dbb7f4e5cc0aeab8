namespace CronFunctions.Security;

/// <summary>
/// The accepted bearer tokens. <see cref="Token"/> comes from <c>ERIFY_CRON_TOKEN</c> (the name the original backend
/// used); <see cref="SecondaryToken"/> from <c>ERIFY_CRON_TOKEN_SECONDARY</c>, accepted too so a token can be rotated
/// without a window where callers are refused. No token configured means every call is refused.
/// </summary>
internal sealed class TokenOptions
{
    public const string TokenSetting = "ERIFY_CRON_TOKEN";
    public const string SecondaryTokenSetting = "ERIFY_CRON_TOKEN_SECONDARY";

    public string? Token { get; set; }

    public string? SecondaryToken { get; set; }
}
