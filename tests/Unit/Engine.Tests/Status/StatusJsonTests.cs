using System.Collections;
using System.Reflection;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Tests.Status;

/// <summary>
/// The source-generated metadata (what the native supervisor uses) writes exactly what reflection wrote before it,
/// for every document and log record of the contract.
/// </summary>
public sealed class StatusJsonTests
{
    public static TheoryData<string> Names() => new(StatusSchemas.Types.Keys);

    /// <summary>The options as they were before the generated context: reflection for every type.</summary>
    private static readonly JsonSerializerOptions ReflectionOnly = CreateReflectionOnly();

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Names))]
    public void Every_contract_type_has_generated_metadata(string name)
    {
        var type = StatusSchemas.Types[name];

        Assert.NotNull(StatusJsonContext.Default.GetTypeInfo(type));
        Assert.Same(StatusJsonContext.Default, StatusJson.Options.GetTypeInfo(type).OriginatingResolver);
    }

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Names))]
    public void Generated_metadata_writes_the_same_bytes_as_reflection(string name)
    {
        var type = StatusSchemas.Types[name];
        var document = Sample.Of(type);

        var generated = JsonSerializer.Serialize(document, StatusJson.Options.GetTypeInfo(type));
        var reflected = JsonSerializer.Serialize(document, type, ReflectionOnly);

        Assert.Equal(reflected, generated);
        // And reads back to the same document.
        var read = JsonSerializer.Deserialize(generated, StatusJson.Options.GetTypeInfo(type));
        Assert.Equal(generated, JsonSerializer.Serialize(read, StatusJson.Options.GetTypeInfo(type)));
    }

    [Fact(Timeout = 120_000)]
    public void Every_enum_of_the_contract_has_a_generic_converter()
    {
        // The native supervisor has no reflection-based enum factory: an enum without its own converter would be
        // written as a number there.
        var enums = StatusSchemas.Types.Values.SelectMany(t => Sample.ReachableTypes(t)).Where(t => t.IsEnum).Distinct().ToList();

        Assert.NotEmpty(enums);
        Assert.All(enums, e => Assert.Contains(StatusJson.Options.Converters,
            c => (IsGenericOf(c.GetType(), typeof(SnakeCaseEnumConverter<>)) || IsGenericOf(c.GetType().BaseType, typeof(FallbackEnumConverter<>))) && c.CanConvert(e)));
    }

    [Fact(Timeout = 120_000)]
    public void Other_types_still_serialize_through_reflection()
    {
        var json = JsonSerializer.Serialize(new { LastRefresh = 1.5, Mode = JsonCommentHandling.Skip, Loss = double.NaN }, StatusJson.Options);

        Assert.Equal("""{"last_refresh":1.5,"mode":"skip","loss":"NaN"}""", json);
    }

    private static bool IsGenericOf(Type? type, Type definition) => type is { IsGenericType: true } && type.GetGenericTypeDefinition() == definition;

    private static JsonSerializerOptions CreateReflectionOnly()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            ReadCommentHandling = JsonCommentHandling.Disallow,
            AllowTrailingCommas = false,
            WriteIndented = false,
            RespectNullableAnnotations = false,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        options.MakeReadOnly();
        return options;
    }

    /// <summary>Builds documents with every property set (nested records, one-item lists and maps, NaN, non-ASCII).</summary>
    private static class Sample
    {
        private static readonly DateTimeOffset At = new(2026, 11, 29, 6, 30, 15, 123, TimeSpan.Zero);

        public static object Of(Type type, int depth = 0)
        {
            if (Value(type, depth) is { } simple)
            {
                return simple;
            }

            var constructor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
            var instance = constructor.Invoke(constructor.GetParameters().Select(p => Of(p.ParameterType, depth + 1)).ToArray());
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.GetIndexParameters().Length == 0))
            {
                property.SetValue(instance, Of(property.PropertyType, depth + 1));
            }

            return instance;
        }

        public static IEnumerable<Type> ReachableTypes(Type root)
        {
            var seen = new HashSet<Type>();
            var pending = new Stack<Type>([root]);
            while (pending.TryPop(out var type))
            {
                type = Nullable.GetUnderlyingType(type) ?? type;
                if (!seen.Add(type) || type == typeof(string) || type.IsPrimitive)
                {
                    continue;
                }

                foreach (var argument in type.IsGenericType ? type.GetGenericArguments() : [])
                {
                    pending.Push(argument);
                }

                if (type.Namespace?.StartsWith("StabilityTools", StringComparison.Ordinal) == true && !type.IsEnum)
                {
                    foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
                    {
                        pending.Push(property.PropertyType);
                    }
                }
            }

            return seen;
        }

        private static object? Value(Type type, int depth)
        {
            type = Nullable.GetUnderlyingType(type) ?? type;
            if (type == typeof(string))
            {
                return $"naïve \"quoted\" <tag> {depth}";
            }

            if (type == typeof(int)) return 42;
            if (type == typeof(long)) return 1L << 40;
            if (type == typeof(double)) return depth % 2 == 0 ? double.NaN : 0.1 + depth;
            if (type == typeof(bool)) return true;
            if (type == typeof(DateTimeOffset)) return At;
            if (type == typeof(DateTime)) return At.UtcDateTime;
            if (type == typeof(TimeSpan)) return TimeSpan.FromMilliseconds(1500);
            if (type == typeof(JsonElement)) return JsonSerializer.SerializeToElement(new { learning_rate = 0.001, kind = "naïve" });
            if (type.IsEnum)
            {
                var values = Enum.GetValuesAsUnderlyingType(type);
                return Enum.ToObject(type, values.GetValue(values.Length - 1)!);
            }

            if (type.IsGenericType && type.GetGenericArguments() is [var item] && typeof(IEnumerable).IsAssignableFrom(type))
            {
                var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(item))!;
                list.Add(Of(item, depth + 1));
                return list;
            }

            if (type.IsGenericType && type.GetGenericArguments() is [var key, var value] && typeof(IEnumerable).IsAssignableFrom(type))
            {
                var map = (IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(key, value))!;
                map.Add(Of(key, depth + 1), Of(value, depth + 1));
                return map;
            }

            return null;
        }
    }
}
