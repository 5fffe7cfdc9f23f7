using System;

namespace AOT
{
    /// <summary>
    /// Marks a static method that native code calls through a function pointer. Unity's IL2CPP
    /// (and Mono's full AOT) look for an attribute of exactly this name to generate the reverse
    /// P/Invoke wrapper; the runtime matches it by name, so defining it here is enough.
    /// </summary>
    [AttributeUsage(AttributeTargets.Method)]
    public sealed class MonoPInvokeCallbackAttribute : Attribute
    {
        /// <summary>Mark a method as called from native code through <paramref name="delegateType"/>.</summary>
        public MonoPInvokeCallbackAttribute(Type delegateType)
        {
            DelegateType = delegateType;
        }

        /// <summary>The delegate type of the native function pointer.</summary>
        public Type DelegateType { get; }
    }
}
