using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using AOT;
using NUnit.Framework;

namespace Wss.Tests
{
    /// <summary>
    /// What Unity's IL2CPP needs of every method native code calls back: static, marked with
    /// [MonoPInvokeCallback(typeof(the delegate type))], kept alive; checked by reflection over
    /// the whole Wss assembly, so a callback added without the attribute fails here and not on a
    /// device.
    /// </summary>
    [TestFixture]
    public class TrampolineTests
    {
        private const BindingFlags All = BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public |
                                         BindingFlags.NonPublic | BindingFlags.DeclaredOnly;

        /// <summary>The delegate types of the C function pointers (declared in NativeMethods).</summary>
        private static List<Type> NativeDelegateTypes()
        {
            return typeof(NativeMethods).GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic)
                .Where(t => typeof(Delegate).IsAssignableFrom(t)).ToList();
        }

        /// <summary>Every field of the assembly that holds a native callback delegate.</summary>
        private static List<FieldInfo> CallbackFields()
        {
            var types = NativeDelegateTypes();
            // mcs caches each method-group conversion in a compiler-made field ("<>f__mg$cache0"):
            // the same delegate, not a callback of its own.
            return typeof(WssServer).Assembly.GetTypes().SelectMany(t => t.GetFields(All))
                .Where(f => types.Contains(f.FieldType) && !f.IsDefined(typeof(CompilerGeneratedAttribute), false)).ToList();
        }

        [Test]
        public void EveryCallbackIsAStaticMethodMarkedWithItsDelegateType()
        {
            var types = NativeDelegateTypes();
            Assert.GreaterOrEqual(types.Count, 7, "release, accept, open, message, pong, close, error");
            var fields = CallbackFields();
            CollectionAssert.AreEquivalent(types, fields.Select(f => f.FieldType), "one kept-alive delegate per callback type");
            var targets = new List<MethodInfo>();
            foreach (var f in fields)
            {
                string where = f.DeclaringType.Name + "." + f.Name;
                Assert.IsTrue(f.IsStatic && f.IsInitOnly, where + " is static readonly: the delegate lives as long as the process");
                var d = (Delegate)f.GetValue(null);
                Assert.IsNotNull(d, where);
                Assert.IsNull(d.GetInvocationList().Skip(1).FirstOrDefault(), where + " is one method");
                var m = d.Method;
                Assert.IsTrue(m.IsStatic, where + " -> " + m.Name + " is static (IL2CPP cannot call instance methods)");
                var attr = (MonoPInvokeCallbackAttribute)m.GetCustomAttributes(typeof(MonoPInvokeCallbackAttribute), false).SingleOrDefault();
                Assert.IsNotNull(attr, m.Name + " carries [MonoPInvokeCallback]");
                Assert.AreEqual(f.FieldType, attr.DelegateType, m.Name + "'s attribute names its delegate type");
                targets.Add(m);
            }

            // Every marked method is one of those callbacks, with its delegate's signature.
            var marked = typeof(WssServer).Assembly.GetTypes().SelectMany(t => t.GetMethods(All))
                .Where(m => m.IsDefined(typeof(MonoPInvokeCallbackAttribute), false)).ToList();
            CollectionAssert.AreEquivalent(targets, marked, "no marked method that native code never gets, none missed");
            foreach (var m in marked)
            {
                var invoke = ((MonoPInvokeCallbackAttribute)m.GetCustomAttributes(typeof(MonoPInvokeCallbackAttribute), false)[0]).DelegateType.GetMethod("Invoke");
                Assert.AreEqual(invoke.ReturnType, m.ReturnType, m.Name);
                CollectionAssert.AreEqual(invoke.GetParameters().Select(p => p.ParameterType), m.GetParameters().Select(p => p.ParameterType), m.Name + "'s parameters");
            }

            // IL2CPP matches the attribute by its full name.
            Assert.AreEqual("AOT.MonoPInvokeCallbackAttribute", typeof(MonoPInvokeCallbackAttribute).FullName);
        }

        [Test]
        public void NativeCodeGetsExactlyThoseDelegates()
        {
            var pointers = CallbackFields().ToDictionary(f => f.FieldType.Name, f => Marshal.GetFunctionPointerForDelegate((Delegate)f.GetValue(null)));
            Assert.AreEqual(pointers["ReleaseFn"], Trampolines.ReleasePtr, "the release callback");
            var table = Trampolines.Table();
            foreach (var member in typeof(WssCallbacks).GetFields(BindingFlags.Instance | BindingFlags.NonPublic).Where(f => f.FieldType == typeof(IntPtr)))
            {
                // on_message -> OnMessageFn
                string type = string.Concat(member.Name.Split('_').Select(w => char.ToUpperInvariant(w[0]) + w.Substring(1))) + "Fn";
                Assert.IsTrue(pointers.ContainsKey(type), "a delegate type for wss_callbacks." + member.Name);
                Assert.AreEqual(pointers[type], (IntPtr)member.GetValue(table), "wss_callbacks." + member.Name + " points at the marked trampoline");
            }
        }
    }
}
