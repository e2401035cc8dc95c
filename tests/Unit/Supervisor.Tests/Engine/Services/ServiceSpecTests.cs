using System.Text.Json;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor.Tests.Engine.Services;

public sealed class ServiceSpecTests
{
    [Fact]
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

    [Fact]
    public void A_valid_spec_passes_and_a_program_is_found_on_PATH()
    {
        var spec = ServiceSpec.ForKind(ServiceKind.Program, "sleepy", "sleep", ["10"]);
        Assert.Same(spec, spec.Validate());
    }

    [Fact]
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

    [Fact]
    public void A_control_request_names_its_command_as_the_protocol_does()
    {
        var request = ControlRequest.Create(ControlCommand.ReloadLimits);
        var json = JsonSerializer.Serialize(request, StatusJson.Options);
        Assert.Contains("\"command\":\"reload-limits\"", json);
        Assert.Contains("\"requested_by\":{\"user\":", json);
        Assert.Equal(32, request.RequestId.Length);
    }
}
