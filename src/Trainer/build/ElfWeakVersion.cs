// Marks one symbol-version requirement of an ELF shared library weak (VER_FLG_WEAK in its .gnu.version_r
// entry), so the dynamic loader accepts the library on a system whose dependency lacks that version.
//
// Why: libLibTorchSharp.so (TorchSharp 0.107) asks libstdc++ for GLIBCXX_3.4.32 for a single symbol,
// _ZSt21ios_base_library_initv, that it never calls. Debian 12's libstdc++ stops at GLIBCXX_3.4.30, so the
// loader refuses the whole library and TorchSharp reports a misleading "missing libtorch package" error.
// A weak version requirement makes the loader skip the check for that version only (glibc dl-version.c).
//
// This one file serves two builds: MSBuild compiles it as an inline task (RoslynCodeTaskFactory, see
// TorchSharpNative.targets), and the trainer's tests compile it with ELF_WEAK_VERSION_NO_TASK defined to test
// the same code on the real file. Keep it to plain C# that the task factory's compiler accepts.
#nullable disable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace StabilityTools.Build
{
    /// <summary>The outcome of <see cref="ElfWeakVersion.MarkWeak"/>.</summary>
    public enum ElfPatchOutcome
    {
        /// <summary>The requirement was strong and is now weak.</summary>
        Patched,

        /// <summary>The requirement was weak already; the file was not written.</summary>
        AlreadyWeak,

        /// <summary>The file does not require that version of that library; nothing to do.</summary>
        NotRequired,
    }

    /// <summary>Reads and edits the symbol-version sections of 64-bit little-endian ELF files.</summary>
    public static class ElfWeakVersion
    {
        /// <summary>VER_FLG_WEAK from elf.h.</summary>
        public const ushort VerFlagWeak = 0x2;

        private const uint ShtGnuVerdef = 0x6ffffffd;
        private const uint ShtGnuVerneed = 0x6ffffffe;

        /// <summary>One version a file requires of a library (an Elf64_Vernaux entry).</summary>
        public sealed class Requirement
        {
            /// <summary>The library, e.g. <c>libstdc++.so.6</c>.</summary>
            public string Library = "";

            /// <summary>The version, e.g. <c>GLIBCXX_3.4.32</c>.</summary>
            public string Version = "";

            /// <summary>The vna_flags value.</summary>
            public ushort Flags;

            /// <summary>The file offset of vna_flags.</summary>
            public long FlagsOffset;

            /// <summary>True when VER_FLG_WEAK is set.</summary>
            public bool IsWeak { get { return (Flags & VerFlagWeak) != 0; } }
        }

        /// <summary>Every version requirement in <paramref name="image"/> (.gnu.version_r).</summary>
        public static List<Requirement> ReadRequirements(byte[] image)
        {
            var result = new List<Requirement>();
            long strtab;
            var section = FindSection(image, ShtGnuVerneed, out strtab);
            if (section == null)
            {
                return result;
            }

            long entry = section.Value.Offset;
            for (var i = 0; i < section.Value.Info; i++)
            {
                var count = U16(image, entry + 2);
                var library = CString(image, strtab + U32(image, entry + 4));
                long aux = entry + U32(image, entry + 8);
                for (var j = 0; j < count; j++)
                {
                    result.Add(new Requirement
                    {
                        Library = library,
                        Version = CString(image, strtab + U32(image, aux + 8)),
                        Flags = U16(image, aux + 4),
                        FlagsOffset = aux + 4,
                    });
                    var nextAux = U32(image, aux + 12);
                    if (nextAux == 0)
                    {
                        break;
                    }

                    aux += nextAux;
                }

                var next = U32(image, entry + 12);
                if (next == 0)
                {
                    break;
                }

                entry += next;
            }

            return result;
        }

        /// <summary>Every version a shared library defines (.gnu.version_d), e.g. all <c>GLIBCXX_*</c> of libstdc++.</summary>
        public static HashSet<string> ReadDefinitions(byte[] image)
        {
            var result = new HashSet<string>(StringComparer.Ordinal);
            long strtab;
            var section = FindSection(image, ShtGnuVerdef, out strtab);
            if (section == null)
            {
                return result;
            }

            long entry = section.Value.Offset;
            for (var i = 0; i < section.Value.Info; i++)
            {
                // Elf64_Verdef: version, flags, ndx (u16 each), cnt (u16), hash, aux, next (u32 each).
                var count = U16(image, entry + 6);
                long aux = entry + U32(image, entry + 12);
                if (count > 0)
                {
                    result.Add(CString(image, strtab + U32(image, aux)));
                }

                var next = U32(image, entry + 16);
                if (next == 0)
                {
                    break;
                }

                entry += next;
            }

            return result;
        }

        /// <summary>
        /// Sets VER_FLG_WEAK on the requirement of <paramref name="version"/> from <paramref name="library"/> in
        /// the file at <paramref name="path"/>. The new content goes to a temporary sibling that replaces the
        /// file, so the original inode (which may be a hard link into a package cache) is never modified. Idempotent.
        /// </summary>
        public static ElfPatchOutcome MarkWeak(string path, string library, string version)
        {
            var image = File.ReadAllBytes(path);
            Requirement target = null;
            foreach (var requirement in ReadRequirements(image))
            {
                if (requirement.Library == library && requirement.Version == version)
                {
                    target = requirement;
                }
            }

            if (target == null)
            {
                return ElfPatchOutcome.NotRequired;
            }

            if (target.IsWeak)
            {
                return ElfPatchOutcome.AlreadyWeak;
            }

            var flags = (ushort)(target.Flags | VerFlagWeak);
            image[target.FlagsOffset] = (byte)(flags & 0xff);
            image[target.FlagsOffset + 1] = (byte)(flags >> 8);

            // A new inode: never write through a hard link into the package cache. (Delete + move rather than
            // an overwriting move: the task factory compiles against netstandard, which lacks that overload.)
            var temp = path + ".weak-tmp";
            File.WriteAllBytes(temp, image);
            File.Delete(path);
            File.Move(temp, path);
            return ElfPatchOutcome.Patched;
        }

        /// <summary>
        /// The first existing file named <paramref name="library"/> in the loader's usual directories
        /// (Debian multiarch first), or null.
        /// </summary>
        public static string FindSystemLibrary(string library)
        {
            string[] directories =
            {
                "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                "/lib64", "/usr/lib64", "/lib", "/usr/lib",
            };
            foreach (var directory in directories)
            {
                var candidate = Path.Combine(directory, library);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            return null;
        }

        /// <summary>True when <paramref name="image"/> starts like a 64-bit little-endian ELF file.</summary>
        public static bool IsElf64LittleEndian(byte[] image)
        {
            return image.Length >= 64 && image[0] == 0x7f && image[1] == (byte)'E' && image[2] == (byte)'L' && image[3] == (byte)'F'
                && image[4] == 2 && image[5] == 1;
        }

        private struct Section
        {
            public long Offset;
            public uint Info;
        }

        private static Section? FindSection(byte[] image, uint type, out long linkedStringTable)
        {
            linkedStringTable = 0;
            if (!IsElf64LittleEndian(image))
            {
                throw new InvalidDataException("Not a 64-bit little-endian ELF file.");
            }

            long sectionTable = (long)U64(image, 0x28);
            int entrySize = U16(image, 0x3a);
            int count = U16(image, 0x3c);
            for (var i = 0; i < count; i++)
            {
                long header = sectionTable + (long)i * entrySize;
                if (U32(image, header + 4) != type)
                {
                    continue;
                }

                var link = U32(image, header + 40);
                linkedStringTable = (long)U64(image, sectionTable + (long)link * entrySize + 24);
                return new Section { Offset = (long)U64(image, header + 24), Info = U32(image, header + 44) };
            }

            return null;
        }

        private static ushort U16(byte[] b, long o) { return (ushort)(b[o] | (b[o + 1] << 8)); }

        private static uint U32(byte[] b, long o) { return (uint)(b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)); }

        private static ulong U64(byte[] b, long o) { return U32(b, o) | ((ulong)U32(b, o + 4) << 32); }

        private static string CString(byte[] b, long o)
        {
            var end = o;
            while (end < b.Length && b[end] != 0)
            {
                end++;
            }

            return Encoding.ASCII.GetString(b, (int)o, (int)(end - o));
        }
    }

#if !ELF_WEAK_VERSION_NO_TASK
    /// <summary>
    /// MSBuild task: for each of <see cref="Files"/>, marks the requirement of <see cref="Version"/> from
    /// <see cref="Library"/> weak, only when the build machine's copy of the library lacks that version.
    /// </summary>
    public class MarkElfVersionWeak : Microsoft.Build.Utilities.Task
    {
        /// <summary>The ELF files to patch (copies in the output folder, never the package cache).</summary>
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; }

        /// <summary>The library whose version requirement to weaken, e.g. <c>libstdc++.so.6</c>.</summary>
        [Microsoft.Build.Framework.Required]
        public string Library { get; set; }

        /// <summary>The version, e.g. <c>GLIBCXX_3.4.32</c>.</summary>
        [Microsoft.Build.Framework.Required]
        public string Version { get; set; }

        /// <inheritdoc />
        public override bool Execute()
        {
            var system = ElfWeakVersion.FindSystemLibrary(Library);
            if (system == null)
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, "No system {0} found; leaving its version requirements as they are.", Library);
                return true;
            }

            if (ElfWeakVersion.ReadDefinitions(File.ReadAllBytes(system)).Contains(Version))
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, "{0} defines {1}; no patch needed.", system, Version);
                return true;
            }

            foreach (var item in Files)
            {
                var path = item.GetMetadata("FullPath");
                if (!File.Exists(path))
                {
                    continue;
                }

                try
                {
                    var outcome = ElfWeakVersion.MarkWeak(path, Library, Version);
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                        "{0}: {1} requirement {2} of {3} ({4} lacks it).", path, outcome, Version, Library, system);
                }
                catch (Exception ex)
                {
                    Log.LogError("Could not mark {0} weak in '{1}': {2}", Version, path, ex.Message);
                }
            }

            return !Log.HasLoggedErrors;
        }
    }
#endif
}
