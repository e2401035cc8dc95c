using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Tests.Models;

/// <summary>The words the layers below Status name enum values with are the words the contract's converters write.</summary>
public sealed class ContractWordsTests
{
    [Fact(Timeout = 120_000)]
    public void Every_value_of_every_contract_enum_has_the_word_its_converter_writes()
    {
        var enums = typeof(ReadState).Assembly.GetTypes()
            .Where(t => t.IsEnum && t.IsPublic && t.Namespace == typeof(ReadState).Namespace)
            .ToList();
        var of = typeof(ContractWords).GetMethod(nameof(ContractWords.Of))!;
        var wire = typeof(StatusJson).GetMethod(nameof(StatusJson.WireName))!;

        Assert.Contains(typeof(ControlCommand), enums);
        Assert.All(enums.SelectMany(e => Enum.GetValues(e).Cast<object>()), value => Assert.Equal(
            wire.MakeGenericMethod(value.GetType()).Invoke(null, [value]),
            of.MakeGenericMethod(value.GetType()).Invoke(null, [value])));
        // What the snake_case policy alone would get wrong: a member named by an attribute.
        Assert.Equal("reload-limits", ContractWords.Of(ControlCommand.ReloadLimits));
    }

    [Fact(Timeout = 120_000)]
    public void A_corrupt_document_is_named_with_its_read_states_word()
    {
        var error = new CorruptDocumentException("/s/resources/quotas.json", ReadState.Oversized, "larger than 1 MiB");

        Assert.Contains("(oversized: larger than 1 MiB)", error.Message, StringComparison.Ordinal);
    }
}
