using System.Text.Json;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor.Tests.Engine.Services;

public sealed class ServiceSpecTests
{
    [Fact(Timeout = 300_000)]
    public void Validation_reports_every_problem_together()
    {
        var spec = new ServiceSpec
        {
            Name = "Bad Name", FilePath = "/no/such/program", BackoffInitialMs = 5000, BackoffMaxMs = 10,
            StopTimeoutMs = -1, HealthUrl = "not a url", LogMaxFiles = 1000, Port = 70000,
        };

        var ex = Assert.Throws<ConfigurationException>(() => spec.Validate());
        var keys = ex.Problems.Select(p => p.Key).ToList();
        Assert.Equal(["name", "file_path", "backoff_max_ms", "stop_timeout_ms", "health_url", "port", "log_max_files"], keys);
        Assert.Equal("InvalidConfiguration", ex.ErrorId);
        Assert.Contains("/no/such/program", ex.Message);
    }

    [Fact(Timeout = 300_000)]
    public void A_valid_spec_passes_and_a_program_is_found_on_PATH()
    {
        var spec = ServiceSpec.ForKind(ServiceKind.Program, "sleepy", "sleep", ["10"]);
        Assert.Same(spec, spec.Validate());
    }

    [Fact(Timeout = 300_000)]
    public void The_spec_round_trips_through_the_status_store_with_the_documented_names()
    {
        using var dir = new StabilityTools.Tests.Shared.TempDirectory();
        var store = new StatusStore();
        var path = dir.File("spec.json");
        var spec = ServiceSpec.ForKind(ServiceKind.Dashboard, "dashboard", "/bin/true", ["--port", "8050"]) with { Environment = new Dictionary<string, string> { ["A"] = "b" } };
        store.Write(path, spec, TestContext.Current.CancellationToken);

        var json = File.ReadAllText(path);
        Assert.Contains("\"schema\":\"service_spec/1\"", json);
        Assert.Contains("\"restart_policy\":\"always\"", json);
        Assert.Contains("\"kind\":\"dashboard\"", json);
        Assert.Contains("\"stop_timeout_ms\":10000", json);
        var back = store.Read<ServiceSpec>(path).GetDocumentOrThrow();
        Assert.Equal(spec.Arguments, back.Arguments);
        Assert.Equal("b", back.Environment["A"]);
        Assert.Equal([98], back.FatalExitCodes);
    }

    [Fact(Timeout = 300_000)]
    public void No_restart_exit_codes_default_to_78_and_travel_as_no_restart_exit_codes()
    {
        using var dir = new StabilityTools.Tests.Shared.TempDirectory();
        var store = new StatusStore();
        var path = dir.File("spec.json");
        store.Write(path, ServiceSpec.ForKind(ServiceKind.Training, "training", "/bin/true") with { NoRestartExitCodes = [3, 78] }, TestContext.Current.CancellationToken);

        Assert.Equal([78], new ServiceSpec().NoRestartExitCodes);
        Assert.Equal([78], ServiceSpec.ForKind(ServiceKind.Dashboard, "dashboard", "/bin/true").NoRestartExitCodes);
        Assert.Contains("\"no_restart_exit_codes\":[3,78]", File.ReadAllText(path));
        Assert.Equal([3, 78], store.Read<ServiceSpec>(path).GetDocumentOrThrow().NoRestartExitCodes);
    }

    [Fact(Timeout = 300_000)]
    public void An_old_spec_without_no_restart_exit_codes_still_reads_with_the_default()
    {
        using var dir = new StabilityTools.Tests.Shared.TempDirectory();
        var store = new StatusStore();
        var path = dir.File("spec.json");
        store.Write(path, ServiceSpec.ForKind(ServiceKind.Training, "training", "/bin/true"), TestContext.Current.CancellationToken);
        var old = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        Assert.True(old.Remove("no_restart_exit_codes"));
        File.WriteAllText(path, old.ToJsonString());

        var read = store.Read<ServiceSpec>(path);

        Assert.Equal(ReadState.Ok, read.State);
        Assert.Equal([78], read.Document!.NoRestartExitCodes);
        Assert.Same(read.Document, read.Document.Validate(path));
        old["no_restart_exit_codes"] = null;
        File.WriteAllText(path, old.ToJsonString());
        Assert.Equal([78], store.Read<ServiceSpec>(path).GetDocumentOrThrow().NoRestartExitCodes);
    }

    [Theory(Timeout = 300_000)]
    [InlineData(0)]
    [InlineData(129)]
    [InlineData(143)]
    [InlineData(192)]
    [InlineData(256)]
    [InlineData(-1)]
    public void A_no_restart_exit_code_that_can_never_be_seen_is_refused(int code)
    {
        var spec = ServiceSpec.ForKind(ServiceKind.Program, "svc", "/bin/true") with { NoRestartExitCodes = [78, code] };

        var problem = Assert.Single(Assert.Throws<ConfigurationException>(() => spec.Validate()).Problems);

        Assert.Equal("no_restart_exit_codes", problem.Key);
        Assert.Contains($"{code} cannot be", problem.Message);
        Assert.Contains("1 to 128 or 193 to 255", problem.Message);
    }

    [Theory(Timeout = 300_000)]
    [InlineData(1)]
    [InlineData(128)]
    [InlineData(193)]
    [InlineData(255)]
    public void A_no_restart_exit_code_a_process_can_exit_with_is_accepted(int code)
    {
        var spec = ServiceSpec.ForKind(ServiceKind.Program, "svc", "/bin/true") with { NoRestartExitCodes = [code] };

        Assert.Same(spec, spec.Validate());
    }

    [Fact(Timeout = 300_000)]
    public void A_control_request_names_its_command_as_the_protocol_does()
    {
        var request = ControlRequest.Create(ControlCommand.ReloadLimits);
        var json = JsonSerializer.Serialize(request, StatusJson.Options);
        Assert.Contains("\"command\":\"reload-limits\"", json);
        Assert.Contains("\"requested_by\":{\"user\":", json);
        Assert.Equal(32, request.RequestId.Length);
    }
}
