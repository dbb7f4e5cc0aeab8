namespace CronFunctions.Tests.Infra;

/// <summary>The expression evaluator the template tests rely on computes what ARM would, and refuses what it cannot.</summary>
public sealed class ArmEvaluatorTests
{
    private static readonly ArmTemplate Template = ArmTemplate.Parse("""
        {
          "parameters": { "n": { "type": "int", "defaultValue": 7 }, "s": { "type": "string" } },
          "variables": { "twice": "[mul(parameters('n'), 2)]", "nested": { "list": ["[variables('twice')]", "plain"] } }
        }
        """);

    [Theory]
    [InlineData("[format('{0}.{1:00}:{2:00}', 1, 5, 0)]", "1.05:00")]
    [InlineData("[concat('it''s', ' ', 'ok')]", "it's ok")]
    [InlineData("[[not an expression]", "[not an expression]")]
    [InlineData("plain text", "plain text")]
    [InlineData("[toLower(split('A/B/C', '/')[1])]", "b")]
    [InlineData("[string(add(div(mod(100, 30), 3), sub(2, 1)))]", "4")]
    public void Evaluate_Expression_GivesWhatArmWould(string expression, string expected) =>
        Assert.Equal(expected, ArmEvaluator.For(Template, new Dictionary<string, object?> { ["s"] = "x" }).Evaluate(expression));

    [Fact]
    public void Evaluate_ParametersDefaultsAndVariables_AreResolved()
    {
        var evaluator = ArmEvaluator.For(Template, new Dictionary<string, object?> { ["s"] = "x" });

        Assert.Equal(14L, evaluator.Variable("twice"));
        Assert.Equal(new List<object?> { 14L, "plain" }, ((Dictionary<string, object?>)evaluator.Variable("nested")!)["list"]);
        Assert.Equal(6L, ArmEvaluator.For(Template, new Dictionary<string, object?> { ["n"] = 3L, ["s"] = "x" }).Variable("twice"));
    }

    [Fact]
    public void Evaluate_If_EvaluatesOnlyTheBranchTaken()
    {
        var evaluator = ArmEvaluator.For(Template, new Dictionary<string, object?> { ["s"] = "x" });

        Assert.Equal(1L, evaluator.Evaluate("[if(true(), 1, fail('not this one'))]"));
        Assert.Equal("not this one", Assert.Throws<ArmFailException>(() => evaluator.Evaluate("[if(false(), 1, fail('not this one'))]")).Message);
    }

    [Theory]
    [InlineData("[reference('x').outputs.y.value]")]
    [InlineData("[listKeys('x', '2020-01-01')]")]
    [InlineData("[parameters('s')]", true)]
    public void Evaluate_WhatNeedsAzureOrAMissingValue_IsRefused(string expression, bool missingParameter = false)
    {
        var evaluator = ArmEvaluator.For(Template);

        if (missingParameter)
        {
            Assert.Throws<InvalidOperationException>(() => evaluator.Evaluate(expression));
        }
        else
        {
            Assert.Throws<NotSupportedException>(() => evaluator.Evaluate(expression));
        }
    }
}
