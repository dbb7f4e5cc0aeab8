using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CronFunctions.Tests.Infra;

/// <summary>
/// Evaluates ARM template language expressions (<c>[add(parameters('x'), 1)]</c>) of a compiled template for given
/// parameter values, so tests can check what a deployment would compute (a deadline, a condition) instead of only the
/// expression's text. It knows the functions our templates use that need no Azure state; a function that would ask
/// Azure (<c>reference</c>, <c>listKeys</c>, ...) is refused with <see cref="NotSupportedException"/>, and
/// <c>fail(message)</c> throws <see cref="ArmFailException"/> as the deployment would fail.
/// </summary>
/// <remarks>
/// Values are <see cref="long"/>, <see cref="string"/>, <see cref="bool"/>, <c>null</c>, <see cref="List{T}"/> of values
/// and <see cref="Dictionary{TKey,TValue}"/> (case-insensitive keys, as in ARM). <c>if</c>, <c>and</c> and <c>or</c> only
/// evaluate what they need, as ARM does.
/// </remarks>
internal sealed class ArmEvaluator
{
    /// <summary>The subscription every evaluation pretends to run in.</summary>
    public const string SubscriptionId = "00000000-0000-0000-0000-000000000001";

    private readonly ArmTemplate _template;
    private readonly Func<string, object?> _parameter;
    private readonly Dictionary<string, object?> _variables = new(StringComparer.OrdinalIgnoreCase);

    private ArmEvaluator(ArmTemplate template, Func<string, object?> parameter)
    {
        _template = template;
        _parameter = parameter;
    }

    /// <summary>The index <c>copyIndex()</c> returns, for resources in a copy loop.</summary>
    public int CopyIndex { get; set; }

    /// <summary>An evaluator for <paramref name="template"/> with <paramref name="parameters"/>; others take their default.</summary>
    public static ArmEvaluator For(ArmTemplate template, IReadOnlyDictionary<string, object?>? parameters = null)
    {
        ArmEvaluator? evaluator = null;
        evaluator = new ArmEvaluator(template, name =>
            parameters is not null && parameters.TryGetValue(name, out var value) ? value : evaluator!.DefaultValue(name));
        return evaluator;
    }

    /// <summary>
    /// An evaluator for the module deployment <paramref name="deploymentName"/> of this template: its parameters are the
    /// values this template passes, evaluated here when the module reads them.
    /// </summary>
    public ArmEvaluator ForModule(string deploymentName)
    {
        var module = _template.Module(deploymentName);
        var passed = _template.ModuleParameters(deploymentName);
        ArmEvaluator? evaluator = null;
        evaluator = new ArmEvaluator(module, name =>
        {
            if (!passed.TryGetProperty(name, out var entry))
            {
                return evaluator!.DefaultValue(name);
            }

            // Bicep writes either { "value": ... } or, for a conditional value, one expression yielding that object.
            var resolved = Evaluate(entry);
            return resolved is Dictionary<string, object?> wrapper && wrapper.TryGetValue("value", out var value)
                ? value
                : throw new InvalidOperationException($"Parameter '{name}' of module '{deploymentName}' has no value.");
        });
        return evaluator;
    }

    public object? Parameter(string name) => _parameter(name);

    public object? Variable(string name)
    {
        if (!_variables.TryGetValue(name, out var value))
        {
            var variables = _template.Root.GetProperty("variables");
            var element = variables.EnumerateObject().FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
            if (element.Value.ValueKind == JsonValueKind.Undefined)
            {
                throw new InvalidOperationException($"No variable '{name}' in {_template.Location}.");
            }

            value = Evaluate(element.Value);
            _variables[name] = value;
        }

        return value;
    }

    /// <summary>A JSON value of the template: strings in brackets are expressions, objects and arrays are walked.</summary>
    public object? Evaluate(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => Evaluate(element.GetString()!),
        JsonValueKind.Number => element.GetInt64(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null => null,
        JsonValueKind.Array => element.EnumerateArray().Select(Evaluate).ToList(),
        JsonValueKind.Object => element.EnumerateObject().ToDictionary(p => p.Name, p => Evaluate(p.Value), StringComparer.OrdinalIgnoreCase),
        _ => throw new NotSupportedException($"JSON value kind {element.ValueKind}."),
    };

    /// <summary>A template string: an expression in brackets, <c>[[</c> for a literal bracket, else the literal itself.</summary>
    public object? Evaluate(string text)
    {
        if (text.StartsWith("[[", StringComparison.Ordinal))
        {
            return text[1..];
        }

        if (!(text.StartsWith('[') && text.EndsWith(']')))
        {
            return text;
        }

        var parser = new Parser(text[1..^1]);
        var node = parser.ParseExpression();
        parser.ExpectEnd();
        return node.Evaluate(this);
    }

    private object? DefaultValue(string name)
    {
        var parameter = _template.Parameter(name);
        return parameter.TryGetProperty("defaultValue", out var defaultValue)
            ? Evaluate(defaultValue)
            : throw new InvalidOperationException($"Parameter '{name}' of {_template.Location} has no value and no default.");
    }

    internal object? Call(string function, IReadOnlyList<Node> args)
    {
        object? Arg(int i) => args[i].Evaluate(this);
        string Text(int i) => Arg(i) as string ?? throw new InvalidOperationException($"{function}: argument {i} is not a string.");
        long Number(int i) => Arg(i) is long n ? n : throw new InvalidOperationException($"{function}: argument {i} is not an integer.");
        bool Flag(int i) => Arg(i) is bool b ? b : throw new InvalidOperationException($"{function}: argument {i} is not a bool.");

        switch (function.ToLowerInvariant())
        {
            case "parameters": return Parameter(Text(0));
            case "variables": return Variable(Text(0));
            case "copyindex": return (long)CopyIndex + (args.Count > 0 ? Number(0) : 0);
            case "if": return Flag(0) ? Arg(1) : Arg(2);
            case "and": return Enumerable.Range(0, args.Count).All(Flag);
            case "or": return Enumerable.Range(0, args.Count).Any(Flag);
            case "not": return !Flag(0);
            case "true": return true;
            case "false": return false;
            case "null": return null;
            case "equals": return ValuesEqual(Arg(0), Arg(1));
            case "greater": return Number(0) > Number(1);
            case "greaterorequals": return Number(0) >= Number(1);
            case "less": return Number(0) < Number(1);
            case "lessorequals": return Number(0) <= Number(1);
            case "add": return Number(0) + Number(1);
            case "sub": return Number(0) - Number(1);
            case "mul": return Number(0) * Number(1);
            case "div": return Number(0) / Number(1);
            case "mod": return Number(0) % Number(1);
            case "empty":
                return Arg(0) switch
                {
                    null => true,
                    string s => s.Length == 0,
                    List<object?> list => list.Count == 0,
                    Dictionary<string, object?> map => map.Count == 0,
                    var other => throw new InvalidOperationException($"empty: unexpected {other.GetType().Name}."),
                };
            case "length":
                return Arg(0) switch
                {
                    string s => (long)s.Length,
                    List<object?> list => (long)list.Count,
                    Dictionary<string, object?> map => (long)map.Count,
                    var other => throw new InvalidOperationException($"length: unexpected {other?.GetType().Name}."),
                };
            case "split": return Text(0).Split(Text(1)).Select(part => (object?)part).ToList();
            case "tolower": return Text(0).ToLowerInvariant();
            case "startswith": return Text(0).StartsWith(Text(1), StringComparison.OrdinalIgnoreCase);
            case "endswith": return Text(0).EndsWith(Text(1), StringComparison.OrdinalIgnoreCase);
            case "replace": return Text(0).Replace(Text(1), Text(2), StringComparison.Ordinal);
            case "contains":
                return Arg(0) switch
                {
                    string s => s.Contains(Text(1), StringComparison.OrdinalIgnoreCase),
                    List<object?> list => list.Any(item => ValuesEqual(item, Arg(1))),
                    Dictionary<string, object?> map => map.ContainsKey(Text(1)),
                    var other => throw new InvalidOperationException($"contains: unexpected {other?.GetType().Name}."),
                };
            case "concat":
                return Arg(0) is List<object?>
                    ? args.SelectMany((_, i) => (List<object?>)Arg(i)!).ToList()
                    : string.Concat(args.Select((_, i) => Convert.ToString(Arg(i), CultureInfo.InvariantCulture)));
            case "string": return Arg(0) is bool b ? (b ? "True" : "False") : Convert.ToString(Arg(0), CultureInfo.InvariantCulture);
            case "createarray": return args.Select((_, i) => Arg(i)).ToList();
            case "createobject":
                var created = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
                for (var i = 0; i < args.Count; i += 2)
                {
                    created[Text(i)] = Arg(i + 1);
                }

                return created;
            case "format":
                var format = Text(0);
                var values = args.Skip(1).Select(a => a.Evaluate(this)).ToArray();
                return string.Format(CultureInfo.InvariantCulture, format, values);
            case "fail": throw new ArmFailException(Text(0));
            case "subscription":
                return new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase)
                {
                    ["id"] = $"/subscriptions/{SubscriptionId}",
                    ["subscriptionId"] = SubscriptionId,
                    ["tenantId"] = "00000000-0000-0000-0000-000000000002",
                };
            case "environment":
                return new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase)
                {
                    ["name"] = "AzureCloud",
                    ["suffixes"] = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase)
                    {
                        ["storage"] = "core.windows.net",
                        ["keyvaultDns"] = ".vault.azure.net",
                    },
                };
            case "uniquestring":
                // Not ARM's hash: a stable 13-character stand-in, enough for names built from it.
                var hash = System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("|", args.Select((_, i) => Text(i)))));
                return string.Concat(hash.Take(13).Select(b => (char)('a' + (b % 26))));
            case "resourceid":
            case "subscriptionresourceid":
            case "extensionresourceid":
                // A readable stand-in: enough to see which resource an expression points at.
                return $"{function}({string.Join(", ", args.Select((_, i) => Convert.ToString(Arg(i), CultureInfo.InvariantCulture)))})";
            default:
                throw new NotSupportedException($"ARM function '{function}' is not evaluated by the tests (it may need Azure state).");
        }
    }

    private static bool ValuesEqual(object? left, object? right) => (left, right) switch
    {
        (string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase),
        _ => Equals(left, right),
    };

    internal abstract record Node
    {
        public abstract object? Evaluate(ArmEvaluator evaluator);
    }

    private sealed record Literal(object? Value) : Node
    {
        public override object? Evaluate(ArmEvaluator evaluator) => Value;
    }

    private sealed record FunctionCall(string Function, IReadOnlyList<Node> Arguments) : Node
    {
        public override object? Evaluate(ArmEvaluator evaluator) => evaluator.Call(Function, Arguments);
    }

    private sealed record Property(Node Target, string Name) : Node
    {
        public override object? Evaluate(ArmEvaluator evaluator) =>
            Target.Evaluate(evaluator) is Dictionary<string, object?> map && map.TryGetValue(Name, out var value)
                ? value
                : throw new InvalidOperationException($"No property '{Name}'.");
    }

    private sealed record Index(Node Target, Node Key) : Node
    {
        public override object? Evaluate(ArmEvaluator evaluator) => (Target.Evaluate(evaluator), Key.Evaluate(evaluator)) switch
        {
            (List<object?> list, long i) => i >= 0 && i < list.Count ? list[(int)i] : throw new InvalidOperationException($"Index {i} is out of range ({list.Count})."),
            (Dictionary<string, object?> map, string key) => map.TryGetValue(key, out var value) ? value : throw new InvalidOperationException($"No property '{key}'."),
            var (target, key) => throw new InvalidOperationException($"Cannot index {target?.GetType().Name} with {key}."),
        };
    }

    /// <summary>Recursive descent over ARM's expression grammar: calls, 'strings', integers, .property and [index].</summary>
    private sealed class Parser(string text)
    {
        private int _position;

        public Node ParseExpression()
        {
            SkipSpaces();
            Node node;
            if (Peek() == '\'')
            {
                node = new Literal(ReadString());
            }
            else if (Peek() == '-' || char.IsAsciiDigit(Peek()))
            {
                var start = _position++;
                while (char.IsAsciiDigit(Peek()))
                {
                    _position++;
                }

                node = new Literal(long.Parse(text[start.._position], CultureInfo.InvariantCulture));
            }
            else
            {
                var name = ReadIdentifier();
                Expect('(');
                var arguments = new List<Node>();
                SkipSpaces();
                if (Peek() != ')')
                {
                    do
                    {
                        arguments.Add(ParseExpression());
                        SkipSpaces();
                    }
                    while (TryRead(','));
                }

                Expect(')');
                node = new FunctionCall(name, arguments);
            }

            while (true)
            {
                if (TryRead('.'))
                {
                    node = new Property(node, ReadIdentifier());
                }
                else if (TryRead('['))
                {
                    node = new Index(node, ParseExpression());
                    SkipSpaces();
                    Expect(']');
                }
                else
                {
                    return node;
                }
            }
        }

        public void ExpectEnd()
        {
            SkipSpaces();
            if (_position != text.Length)
            {
                throw new FormatException($"Unexpected '{text[_position..]}' in [{text}].");
            }
        }

        private char Peek() => _position < text.Length ? text[_position] : '\0';

        private void SkipSpaces()
        {
            while (Peek() == ' ')
            {
                _position++;
            }
        }

        private bool TryRead(char expected)
        {
            SkipSpaces();
            if (Peek() != expected)
            {
                return false;
            }

            _position++;
            return true;
        }

        private void Expect(char expected)
        {
            if (!TryRead(expected))
            {
                throw new FormatException($"Expected '{expected}' at {_position} in [{text}].");
            }
        }

        private string ReadIdentifier()
        {
            SkipSpaces();
            var start = _position;
            while (char.IsAsciiLetterOrDigit(Peek()) || Peek() == '_')
            {
                _position++;
            }

            return _position > start ? text[start.._position] : throw new FormatException($"Expected a name at {start} in [{text}].");
        }

        private string ReadString()
        {
            Expect('\'');
            var value = new StringBuilder();
            while (true)
            {
                if (_position >= text.Length)
                {
                    throw new FormatException($"Unterminated string in [{text}].");
                }

                var c = text[_position++];
                if (c != '\'')
                {
                    value.Append(c);
                }
                else if (Peek() == '\'')
                {
                    value.Append('\'');
                    _position++;
                }
                else
                {
                    return value.ToString();
                }
            }
        }
    }
}

/// <summary>The template called <c>fail(message)</c>: the deployment would stop with this message.</summary>
internal sealed class ArmFailException(string message) : Exception(message);
