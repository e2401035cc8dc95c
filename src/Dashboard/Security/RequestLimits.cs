using Microsoft.AspNetCore.Http;

namespace StabilityTools.Dashboard.Security;

/// <summary>
/// Refuses a declared body over the limit before routing, so an oversized upload is a 413 whatever the path.
/// Kestrel's own <c>MaxRequestBodySize</c> still caps bodies sent without a length, when they are read.
/// </summary>
internal sealed class RequestLimits(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (context.Request.ContentLength > Hosting.DashboardApp.MaxRequestBodyBytes)
        {
            return Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request body too large",
                detail: $"The dashboard accepts at most {Hosting.DashboardApp.MaxRequestBodyBytes} bytes of request body.").ExecuteAsync(context);
        }

        return next(context);
    }
}
