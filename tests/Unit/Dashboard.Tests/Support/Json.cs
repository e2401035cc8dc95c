using System.Text.Json;

namespace StabilityTools.Dashboard.Tests.Support;

internal static class Json
{
    public static async Task<JsonDocument> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body);
    }

    public static JsonElement At(this JsonDocument doc, params string[] path)
    {
        var element = doc.RootElement;
        foreach (var part in path)
        {
            element = element.GetProperty(part);
        }

        return element;
    }
}
