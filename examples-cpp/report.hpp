// What the examples print about a connection's TLS facts and about a failure (every field of
// wss::Error). Copy it along with the example you start from.
#ifndef WSS_EXAMPLES_REPORT_HPP
#define WSS_EXAMPLES_REPORT_HPP

#include <iostream>
#include <string>
#include <wss/wss.hpp>

namespace report {

/// One line: TLS version, cipher and the peer certificate's subject (or "plain ws").
inline std::string tls_facts(const wss::ConnectionInfo& info) {
  if (!info.tls_version) return "plain ws";
  std::string s = *info.tls_version + ", " + info.cipher.value_or("?");
  if (info.peer_certificate) {
    s += ", peer " + info.peer_certificate->subject +
         (info.peer_certificate->verified ? " (verified)" : " (not verified)");
  } else {
    s += ", no peer certificate";
  }
  return s;
}

/// ", permessage-deflate; ..." when the connection compresses, else nothing.
inline std::string compression(const wss::ConnectionInfo& info) {
  return info.extensions ? ", " + *info.extensions : std::string();
}

/// Every detail of a failure, one fact per line.
inline void error(std::ostream& out, const wss::Error& e) {
  out << "error: " << e.what() << "\n";
  out << "  code:    " << static_cast<int>(e.code()) << " (" << e.kind() << ")\n";
  out << "  message: " << e.message() << "\n";
  if (e.hint()) out << "  hint:    " << *e.hint() << "\n";
  if (e.verify_code() != 0) {
    out << "  verify:  " << e.verify_code() << " " << e.verify_text().value_or("") << " at depth "
        << e.verify_depth() << " subject " << e.verify_subject().value_or("?") << "\n";
  }
  for (const auto& o : e.openssl_errors()) {
    out << "  openssl: " << o.library << ": " << o.reason;
    if (!o.data.empty()) out << " (" << o.data << ")";
    out << "\n";
  }
  if (e.os_errno() != 0) out << "  errno:   " << e.os_errno() << "\n";
  if (e.http_status() != 0) out << "  http:    " << e.http_status() << "\n";
  if (e.peer_address()) out << "  peer:    " << *e.peer_address() << "\n";
}

}  // namespace report

#endif  // WSS_EXAMPLES_REPORT_HPP
