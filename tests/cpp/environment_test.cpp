// The environment ctest gives every test arrives whole: the test PKI's folder everywhere, and in
// the sanitizer build the ASan, LSan (with tests/cpp/lsan.supp) and UBSan options. A list split
// by gtest_discover_tests once delivered only the first variable, silently.
#include <cstdlib>
#include <fstream>
#include <string>

#include "support.hpp"

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

TEST(Environment, TestPkiFolderArrives) {
  const std::string dir = env("WSS_TEST_PKI");
  ASSERT_FALSE(dir.empty()) << "WSS_TEST_PKI is not set";
  EXPECT_TRUE(std::ifstream(wss_test::pki("ca.pem")).good()) << dir;
}

#ifdef WSS_TEST_SANITIZE
TEST(Environment, SanitizerOptionsArrive) {
  EXPECT_NE(env("ASAN_OPTIONS").find("abort_on_error=1"), std::string::npos) << env("ASAN_OPTIONS");
  EXPECT_NE(env("ASAN_OPTIONS").find("detect_leaks=1"), std::string::npos) << env("ASAN_OPTIONS");
  EXPECT_NE(env("UBSAN_OPTIONS").find("halt_on_error=1"), std::string::npos) << env("UBSAN_OPTIONS");
  const std::string lsan = env("LSAN_OPTIONS");
  const std::string key = "suppressions=";
  const auto at = lsan.find(key);
  ASSERT_NE(at, std::string::npos) << "LSAN_OPTIONS: " << lsan;
  const std::string file = lsan.substr(at + key.size(), lsan.find(':', at) - at - key.size());
  EXPECT_NE(file.find("lsan.supp"), std::string::npos) << file;
  EXPECT_TRUE(std::ifstream(file).good()) << "the suppressions file is not readable: " << file;
}
#endif

}  // namespace
