using System.Security.Cryptography.X509Certificates;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using StabilityTools.Dashboard.Api;
using StabilityTools.Dashboard.Data;
using StabilityTools.Dashboard.Security;
using StabilityTools.Dashboard.Telemetry;

namespace StabilityTools.Dashboard.Hosting;

/// <summary>
/// Builds the dashboard: Kestrel on one address, the static page, the JSON/SSE API, and the background
/// refresh and state-writer loops. <c>Program</c> runs it; tests and benchmarks build it in-process.
/// </summary>
public static class DashboardApp
{
    /// <summary>Most bytes of a request body; the dashboard accepts none, so anything big is an attack or a mistake.</summary>
    public const long MaxRequestBodyBytes = 4 * 1024;

    /// <summary>Builds the dashboard app; <see cref="WebApplication.StartAsync"/> binds the port.</summary>
    /// <param name="options">The options; validated here.</param>
    /// <param name="configureLogging">Adjusts logging (tests quiet it). Default: console, warnings and up from ASP.NET Core.</param>
    /// <exception cref="Engine.Errors.ConfigurationException">The options are invalid.</exception>
    public static WebApplication Build(DashboardOptions options, Action<ILoggingBuilder>? configureLogging = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var webRoot = options.WebRoot ?? Path.Combine(AppContext.BaseDirectory, "wwwroot");
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            // The process's working directory is the supervisor's choice; the page lives beside the executable.
            ContentRootPath = AppContext.BaseDirectory,
            WebRootPath = Directory.Exists(webRoot) ? webRoot : null,
        });

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(c => c.SingleLine = true);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // A stream cut by the client is routine, not an error worth a stack trace.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel", LogLevel.Error);
        configureLogging?.Invoke(builder.Logging);

        var guard = new ConnectionGuard(options.MaxConnectionsPerClient, options.MaxConnections);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            kestrel.Limits.MaxRequestHeaderCount = 50;
            kestrel.Limits.MaxRequestLineSize = 4 * 1024;
            // The connection guard bounds connections by closing idle ones; Kestrel's own cap would refuse new ones
            // (the health probe among them) instead. It stays, far above the guard's, as a last line.
            kestrel.Limits.MaxConcurrentConnections = options.MaxConnections * 2L;
            // nginx's keepalive_timeout and client_header_timeout: an idle or dawdling connection is closed.
            kestrel.Limits.KeepAliveTimeout = options.KeepAliveTimeout;
            kestrel.Limits.RequestHeadersTimeout = options.RequestHeadersTimeout;
            kestrel.Listen(options.BindAddress, options.Port, listen =>
            {
                // Before TLS, so a handshake that never ends still counts against its client.
                listen.Use(next => connection => guard.OnConnectionAsync(connection, next));
                if (options.CertificatePath is not null)
                {
                    listen.UseHttps(LoadCertificate(options));
                }
            });
        });

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(guard);
        services.AddSingleton<StreamFrames>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<RequestStats>();
        services.AddSingleton<AsyncRunner>();
        services.AddSingleton<DashboardData>();
        services.AddSingleton<StateWatcher>();
        services.AddSingleton<DashboardViews>();
        services.AddSingleton(provider => new Data.History.RunHistoryCache(provider.GetRequiredService<DashboardData>().State,
            provider.GetRequiredService<ILoggerFactory>().CreateLogger<Data.History.RunHistoryCache>()));
        services.AddSingleton<RunViews>();
        services.AddSingleton<SweepViews>();
        services.AddSingleton<DashboardStateWriter>();
        services.AddHostedService<RefreshService>();
        services.AddHostedService(sp => sp.GetRequiredService<DashboardStateWriter>());
        services.AddProblemDetails();
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                options.RateLimitPerSecond == 0 || context.Request.Path.Equals("/healthz", StringComparison.Ordinal)
                    // The supervisor's health probe must never be starved by a busy client on the same host.
                    ? RateLimitPartition.GetNoLimiter("unlimited")
                    : RateLimitPartition.GetTokenBucketLimiter(context.Connection.RemoteIpAddress?.ToString() ?? "unknown", _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = options.RateLimitPerSecond * 2,
                        TokensPerPeriod = options.RateLimitPerSecond,
                        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    }));
            limiter.OnRejected = (rejected, cancellationToken) =>
            {
                rejected.HttpContext.Response.Headers.RetryAfter = "1";
                return new ValueTask(Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests",
                    detail: $"At most {options.RateLimitPerSecond} requests per second per client; retry after a second.").ExecuteAsync(rejected.HttpContext));
            };
        });

        var app = builder.Build();
        if (options.NoAuthentication)
        {
            app.Logger.LogWarning("Serving {Bind} WITHOUT a token (--no-auth): every local user can read this dashboard.", options.Bind);
        }

        app.Use(async (context, next) =>
        {
            // A connection with a request in flight (a stream included) is never closed to make room.
            using var busy = guard.Busy(context);
            await next(context).ConfigureAwait(false);
        });
        app.UseMiddleware<RequestMeasurement>();
        app.UseMiddleware<SecurityHeaders>();
        app.UseMiddleware<HostAllowList>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<RequestLimits>();
        app.UseRateLimiter();
        app.UseMiddleware<TokenAuthentication>();
        if (app.Environment.WebRootPath is { } root && Directory.Exists(root))
        {
            app.UseDefaultFiles();
            app.UseStaticFiles(new StaticFileOptions { FileProvider = new PhysicalFileProvider(root) });
        }

        app.MapDashboardApi();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var stats = app.Services.GetRequiredService<RequestStats>();
            stats.Url = ServedUrl(app);
        });
        return app;
    }

    /// <summary>The HTTPS certificate: PKCS#12 (with its password), or PEM with the key in the same file or in <see cref="DashboardOptions.CertificateKeyPath"/>.</summary>
    private static X509Certificate2 LoadCertificate(DashboardOptions options)
    {
        var path = options.CertificatePath!;
        var isPem = options.CertificateKeyPath is not null
            || File.ReadAllText(path).Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal);
        return isPem
            ? X509Certificate2.CreateFromPemFile(path, options.CertificateKeyPath)
            : X509CertificateLoader.LoadPkcs12FromFile(path, options.CertificatePassword);
    }

    /// <summary>The address the started app serves, e.g. <c>http://127.0.0.1:8050</c> (with the real port when 0 was asked for).</summary>
    public static string ServedUrl(WebApplication app)
    {
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("The dashboard has not started.");
        // Kestrel reports an IPv6 bind as http://[::1]:port already; keep what it says.
        return address;
    }

    /// <summary>True when <paramref name="exception"/> (or an inner one) says the address is taken.</summary>
    public static bool IsAddressInUse(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is Microsoft.AspNetCore.Connections.AddressInUseException
                || e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse })
            {
                return true;
            }
        }

        return false;
    }
}
