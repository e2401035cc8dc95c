namespace StabilityTools.Engine.Services;

/// <summary>How a count changed from the hour before to the last hour (<see cref="ServiceRates"/>).</summary>
public enum ServiceTrend
{
    /// <summary>The same number in both hours (none in either included).</summary>
    Steady,

    /// <summary>More in the last hour than in the hour before.</summary>
    Rising,

    /// <summary>Fewer in the last hour than in the hour before.</summary>
    Falling,
}
