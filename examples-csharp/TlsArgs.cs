// The TLS command-line options the examples share (--cert/--key, --pfx/--password, --ca-file,
// --ca-dir, --crl, --require-client-cert) and how they become a Wss.TlsConfig.
using System;
using Wss;

namespace WssExamples
{
    /// <summary>TLS settings from the command line; null is "not given".</summary>
    internal sealed class TlsArgs
    {
        private string cert, key, pfx, password, caFile, caDir, crl;
        private bool requireClientCert;

        /// <summary>Take args[i] (and its value) if it is a TLS option; false if it is not one.</summary>
        internal bool Parse(string[] args, ref int i)
        {
            string a = args[i];
            switch (a)
            {
                case "--cert": cert = Value(args, ref i); return true;
                case "--key": key = Value(args, ref i); return true;
                case "--pfx": pfx = Value(args, ref i); return true;
                case "--password": password = Value(args, ref i); return true;
                case "--ca-file": caFile = Value(args, ref i); return true;
                case "--ca-dir": caDir = Value(args, ref i); return true;
                case "--crl": crl = Value(args, ref i); return true;
                case "--require-client-cert": requireClientCert = true; return true;
                default: return false;
            }
        }

        /// <summary>The configuration these options describe (throws WssException with the loader's detail).</summary>
        internal TlsConfig Config()
        {
            var tls = new TlsConfig();
            try
            {
                if (pfx != null) tls.LoadPfx(pfx, password);
                if (cert != null) tls.LoadPem(cert, key ?? cert, password);
                if (caFile != null) tls.LoadCaFile(caFile);
                if (caDir != null) tls.LoadCaDirectory(caDir);
                if (crl != null) tls.LoadCrl(crl);
                if (requireClientCert) tls.RequireClientCertificate();
                return tls;
            }
            catch
            {
                tls.Dispose();
                throw;
            }
        }

        private static string Value(string[] args, ref int i)
        {
            if (i + 1 >= args.Length) throw new ArgumentException(args[i] + " needs a value");
            return args[++i];
        }
    }
}
