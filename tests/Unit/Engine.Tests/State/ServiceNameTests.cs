using StabilityTools.Engine.Deployment;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;

namespace StabilityTools.Engine.Tests.State;

/// <summary>
/// A service name names a folder, a unit file and a supervisor's argument: one with a newline anywhere, even at the
/// end (which a <c>^…$</c> pattern lets through), is refused by every check that relies on the one rule.
/// </summary>
public sealed class ServiceNameTests
{
    public static TheoryData<string> NamesWithANewline => ["x\n", "training\n", "x\r\n", "\nx", "x\ny", "x\n\n"];

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(NamesWithANewline))]
    public void A_service_name_with_a_newline_is_invalid_even_at_the_end(string name)
    {
        Assert.False(StateDirectory.IsValidServiceName(name));
        Assert.Throws<ArgumentException>(() => StateDirectory.ValidateServiceName(name));
        Assert.Throws<ArgumentException>(() => SystemdUnit.FileName(name));
    }

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(NamesWithANewline))]
    public void A_spec_whose_name_has_a_newline_is_refused_naming_the_field(string name)
    {
        var spec = ServiceSpec.ForKind(ServiceKind.Program, name, "/bin/true");

        var problem = Assert.Single(Assert.Throws<ConfigurationException>(() => spec.Validate()).Problems);

        Assert.Equal("name", problem.Key);
    }
}
